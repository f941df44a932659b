"""The base of every config section: camelCase keys as in the stack files, unknown keys rejected."""

import ipaddress
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


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_parse_cidr)]
