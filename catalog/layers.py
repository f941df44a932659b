"""HOCON layers: parsed unresolved, merged in order, resolved once.

pyhocon's traps, and how this module keeps clear of them:
- `+=` is broken in pyhocon: layers override whole values, lists are written out in full.
- a substitution pyhocon cannot find in the config is read from the environment of the process that
  runs Pulumi (`${?HOME}` would bake the CI runner's home into the pod's config). Every substitution
  must therefore point inside the merged tree (checked before resolving); pod environment variables
  are reached through the `env` layer, whose values are markers the renderer turns back into HOCON
  substitutions for the JVM to resolve in the pod.
- resolving each layer on its own would bind `${deploy.port}` to the default before a cluster layer
  overrides it: layers are merged unresolved and resolved once.
"""

import copy
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pyhocon import ConfigFactory, ConfigParser, ConfigTree
from pyhocon.config_tree import ConfigQuotedString, ConfigSubstitution, ConfigValues

from settings.endpoints import APP_SECRETS, APPS_NAMESPACE, ENDPOINTS

# The port every service's Kubernetes Service listens on in-cluster; the container port is per service.
SERVICE_PORT = 80

_MARK = "\u27e6env:{}\u27e7"
ENV_MARK = re.compile("\u27e6env:([A-Z0-9_]+)\u27e7")


def env_var(secret: str, key: str) -> str:
    """The pod environment variable carrying one key of an app Secret: mongodb/password -> MONGODB_PASSWORD."""
    return f"{secret}_{key}".upper().replace("-", "_")


# Pod environment variable -> (Secret in the apps namespace, key in it).
SECRET_ENV: dict[str, tuple[str, str]] = {env_var(name, key): (ref.name, key) for name, ref in APP_SECRETS.items() for key in ref.keys}


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def cluster_service(name: str) -> Address:
    return Address(f"{name}.{APPS_NAMESPACE}.svc.cluster.local", SERVICE_PORT, "http")


@dataclass(frozen=True)
class Placement:
    """Where the infra systems and the catalog services answer, as the services' config names them."""

    infra: Mapping[str, Address]
    service: Callable[[str], Address]
    # Where the services' logs go, one path per line (README, finding 12): `stdout` where the platform ships container
    # stdout (a cluster's Fluent Bit), so logback writes JSON lines to the console and no TCP appender; `logstash`
    # where nothing ships stdout (the Compose host), so logback's TCP appender carries them.
    log_output: Literal["stdout", "logstash"]


# On a cluster: the platform's Services (settings/endpoints.py) and each service's own Service.
CLUSTER = Placement({name: Address(e.host, e.port, e.scheme) for name, e in ENDPOINTS.items()}, cluster_service, "stdout")
# What infra provides besides its endpoints: these name no system the service reaches.
INFRA_FACTS = frozenset({"environment", "namespace", "logOutput"})


def infra_layer(environment: str, placement: Placement = CLUSTER) -> dict[str, Any]:
    """What the program provides: the environment and where each infra system answers."""
    endpoints = {name: {"host": a.host, "port": a.port, "scheme": a.scheme, "url": a.url} for name, a in sorted(placement.infra.items())}
    return {"infra": {"environment": environment, "namespace": APPS_NAMESPACE, "logOutput": placement.log_output, **endpoints}}


def env_layer() -> dict[str, Any]:
    return {"env": {var: _MARK.format(var) for var in sorted(SECRET_ENV)}}


def services_layer(names: list[str], placement: Placement = CLUSTER) -> dict[str, Any]:
    """Where each catalog service answers, so one service's config can name another's."""
    addresses = {name: placement.service(name) for name in names}
    return {"services": {name: {"host": a.host, "port": a.port, "url": a.url} for name, a in addresses.items()}}


@functools.lru_cache(maxsize=512)
def parse(text: str, basedir: str | None = None) -> ConfigTree:
    """Parsed once per text: pyparsing is the catalog's main cost. Callers never mutate the tree (merge copies it).

    `basedir` is the file's folder, for the includes guards.text_problems allowed."""
    tree: Any = ConfigFactory.parse_string(text, resolve=False, basedir=basedir)
    return tree


def from_dict(data: dict[str, Any]) -> ConfigTree:
    tree: Any = ConfigFactory.from_dict(data)
    return tree


def section(tree: ConfigTree, key: str) -> ConfigTree:
    """The object at `key`, or an empty one when absent or not an object."""
    value = dict.get(tree, key)
    return value if isinstance(value, ConfigTree) else ConfigTree()


def merge(layers: list[ConfigTree]) -> ConfigTree:
    """Later layers win; objects merge key by key, everything else is replaced whole. Inputs stay untouched."""
    merged = ConfigTree(root=True)
    for layer in layers:
        ConfigTree.merge_configs(merged, copy.deepcopy(layer))
    return merged


def resolve(tree: ConfigTree) -> ConfigTree:
    ConfigParser.resolve_substitutions(tree)
    return tree


def leaves(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(key path, value) of every non-object value; list items get [i]."""
    if isinstance(tree, ConfigTree):
        for key, value in tree.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from leaves(value, f"{prefix}[{i}]")
    else:
        yield prefix, tree


def substitutions(value: Any) -> list[ConfigSubstitution]:
    if isinstance(value, ConfigValues):
        return [t for t in value.tokens if isinstance(t, ConfigSubstitution)]
    return []


def literal_texts(value: Any) -> list[str]:
    """The written-out text of a value: a plain string, or the quoted parts of a concatenation."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, ConfigValues):
        return [t.value if isinstance(t, ConfigQuotedString) else t for t in value.tokens if isinstance(t, str | ConfigQuotedString)]
    return []


def lookup(tree: ConfigTree, variable: str) -> bool:
    """True when `variable` (a dotted path) names a value inside the tree."""
    node: Any = tree
    for part in ConfigTree.parse_key(variable):
        if not isinstance(node, ConfigTree) or part not in node:
            return False
        node = node[part]
    return True
