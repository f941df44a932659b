"""Controllers' IAM policies as their projects publish them for the pinned version, and the check that a declared
policy grants at least as much.

The JSON files here are derived by `tools/derive_controller_policies.py` (run by hand) from the unmodified upstream
documents; each carries its provenance (project, tag, commit, path, blob). A narrower declared policy breaks the
controller in ways no preview shows (an NLB never created, traffic to pods dropped), so every grant of the published
document must be covered by a declared statement, unless its action is listed as a narrowing with why it is safe.
"""

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@cache
def _document(controller: str) -> dict[str, Any]:
    return json.loads((HERE / f"{controller}.json").read_text())


def published_policy(controller: str) -> dict[str, Any]:
    """The published policy document (a fresh copy: callers may change it)."""
    document = _document(controller)
    return json.loads(json.dumps({"Version": document["Version"], "Statement": document["Statement"]}))


def provenance(controller: str) -> dict[str, str]:
    return dict(_document(controller)["source"])


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Grant:
    action: str
    resource: str
    condition: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}" + (f" when {json.dumps(self.condition, sort_keys=True)}" if self.condition else "")


def grants(policy: dict[str, Any]) -> list[Grant]:
    """Each allowed (action, resource, condition) of a policy."""
    return [
        Grant(action, resource, statement.get("Condition", {}))
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in _listed(statement["Action"])
        for resource in _listed(statement["Resource"])
    ]


def _matches(pattern: str, value: str, case_sensitive: bool) -> bool:
    return fnmatchcase(value, pattern) if case_sensitive else fnmatchcase(value.lower(), pattern.lower())


def _no_stricter(declared: dict[str, Any], published: dict[str, Any]) -> bool:
    """Every condition the declared statement sets is also set, with the same value, by the published one."""
    return all(published.get(operator, {}).get(key) == value for operator, keys in declared.items() for key, value in keys.items())


def covers(statement: dict[str, Any], grant: Grant) -> bool:
    return (
        any(_matches(a, grant.action, case_sensitive=False) for a in _listed(statement["Action"]))
        and any(_matches(r, grant.resource, case_sensitive=True) for r in _listed(statement["Resource"]))
        and _no_stricter(statement.get("Condition", {}), grant.condition)
    )


def uncovered(declared: dict[str, Any], published: dict[str, Any], narrowings: dict[str, str]) -> list[Grant]:
    """Grants of the published policy the declared one does not make, apart from the actions listed as narrowings.

    A declared Deny on the action counts as not covering it, whatever its conditions.
    """
    statements = declared["Statement"]
    denied = [s for s in statements if s["Effect"] == "Deny"]
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    return [
        g
        for g in grants(published)
        if g.action not in narrowings
        and (
            any(_matches(a, g.action, case_sensitive=False) for s in denied for a in _listed(s["Action"]))
            or not any(covers(s, g) for s in allowed)
        )
    ]
