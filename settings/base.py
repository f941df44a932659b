"""The base of every config section: camelCase keys as in the stack files, unknown keys rejected."""

import ipaddress
from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def _parse_cidr(value: object) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as err:
        raise ValueError(f"not a valid IPv4 CIDR block such as 10.0.0.0/16 ({err})") from None


def covers_everything(cidrs: Iterable[object]) -> bool:
    """True when the listed ranges together are all of IPv4 or all of IPv6 (0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0).

    Unparseable entries are skipped: whoever reads them reports them."""
    families: dict[int, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {4: [], 6: []}
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            continue
        families[network.version].append(network)
    everything = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
    return any(list(ipaddress.collapse_addresses(nets)) == [everything[v]] for v, nets in families.items() if nets)  # type: ignore[type-var]


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_parse_cidr)]
