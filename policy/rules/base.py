"""What a rule is, and the small readers the rules share.

A rule is a pure function over what a preview shows of a resource: its type, its inputs (camelCase, as
the engine sees them) and its options. The real pack (policy/__main__.py) and the offline run
(offline/policies.py) feed the same rules, so both enforce one truth.
"""

import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .program import PackTier, RuleClass, Severity, tier_policy


@dataclass(frozen=True)
class Resource:
    """One resource as a preview shows it."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    protect: bool = False
    # The policy SDK does not expose retainOnDelete: None in the real pack, known offline.
    retain_on_delete: bool | None = None
    dependencies: tuple[str, ...] = ()
    # The stack's tier, as its stack file says; None: the stack's name (an unknown one gets the strictest).
    tier: str | None = None

    @property
    def stack(self) -> str:
        return self.urn.split("::", 1)[0].rsplit(":", 1)[-1]

    @property
    def policy(self) -> PackTier:
        return tier_policy(self.tier or self.stack)

    def get(self, *path: str | int, default: Any = None) -> Any:
        return dig(self.inputs, *path, default=default)

    def depends_on(self, other: "Resource") -> bool:
        return other.urn in self.dependencies


ResourceCheck = Callable[[Resource], Iterable[str]]
StackCheck = Callable[[Sequence[Resource]], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    reason: str
    severity: RuleClass  # how hard it binds is the tier's severity column (settings/tiers.py, stated for the pack in program.py)
    types: frozenset[str] = frozenset()
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    # Reads options the policy SDK cannot see (retain on delete): evaluated offline only.
    offline_only: bool = False

    def severity_in(self, tier: str) -> Severity:
        return tier_policy(tier).severity[self.severity]


@dataclass(frozen=True)
class Violation:
    rule: Rule
    urn: str
    message: str
    severity: Severity

    def line(self) -> str:
        return f"{self.rule.id} {self.urn}: {self.message}"


@dataclass
class Registry:
    rules: list[Rule] = field(default_factory=list)

    def resource(self, id: str, reason: str, types: Iterable[str], severity: RuleClass = "everywhere", offline_only: bool = False):
        def register(check: ResourceCheck) -> ResourceCheck:
            self.rules.append(Rule(id, reason, severity, frozenset(types), resource_check=check, offline_only=offline_only))
            return check

        return register

    def stack(self, id: str, reason: str, severity: RuleClass = "everywhere"):
        def register(check: StackCheck) -> StackCheck:
            self.rules.append(Rule(id, reason, severity, stack_check=check))
            return check

        return register


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return default
            value = value[key]
        elif isinstance(value, Mapping) and key in value:
            value = value[key]
        else:
            return default
    return default if value is None else value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def truthy(value: Any) -> bool:
    """Providers take some booleans as strings (`encrypted: "true"`)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def covers_everything(cidrs: Iterable[object]) -> bool:
    """True when the listed ranges together are all of IPv4 or all of IPv6 (0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0).

    The pack's own copy of settings.base.covers_everything (the pack is published alone); a test keeps them equal."""
    families: dict[int, list[Any]] = {4: [], 6: []}
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            continue
        families[network.version].append(network)
    everything = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
    return any(list(ipaddress.collapse_addresses(nets)) == [everything[v]] for v, nets in families.items() if nets)


def json_document(value: Any) -> dict[str, Any]:
    """IAM and bucket policies arrive as JSON text or as structures."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def statements(document: Any) -> list[dict[str, Any]]:
    return [s for s in as_list(json_document(document).get("Statement")) if isinstance(s, dict)]


def of_type(resources: Sequence[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def companions(resources: Sequence[Resource], target: Resource, *types: str) -> list[Resource]:
    """Resources of `types` that point at `target` (they take its id or name, so they depend on it)."""
    return [r for r in of_type(resources, *types) if r.depends_on(target)]
