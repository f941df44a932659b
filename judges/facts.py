"""The fact table of pods that charts, manifests and operators make (judges/facts/pods.yaml), and its readers."""

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FACTS_FILE = Path(__file__).parent / "facts" / "pods.yaml"
Obj = dict[str, Any]


@cache
def facts() -> Obj:
    return yaml.safe_load(FACTS_FILE.read_text())


def values_at(values: Obj, path: str) -> Any:
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def helm_merge(default: Any, ours: Any) -> Any:
    """Helm's coalescing of user values over chart defaults: maps merge key by key, null deletes, the rest replaces."""
    if isinstance(default, dict) and isinstance(ours, dict):
        merged = dict(default)
        for key, value in ours.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = helm_merge(default.get(key), value)
        return merged
    return copy.deepcopy(default if ours is None else ours)


def resolve(entry: Obj, values: Obj) -> Obj:
    """The security context an entry of the table gets, given the values we pass to the chart."""
    if "fixed" in entry:
        return copy.deepcopy(entry["fixed"])
    return helm_merge(entry.get("default") or {}, values_at(values, entry["from_values"])) or {}


def install_rows(key: str, name: str, version: str) -> list[Obj]:
    """Rows for one chart (`key` "chart") or release manifest (`key` "manifest") at one version."""
    return [r for r in facts()["installs"] if r["install"].get(key) == name and str(r["install"]["version"]) == version]


def operator_rows(kind: str) -> list[Obj]:
    return [r for r in facts()["operators"] if r["custom_resource"]["kind"] == kind]


def pod_of_install(row: Obj, values: Obj) -> Obj:
    """The pod spec a chart row renders with our values."""

    def container(c: Obj) -> Obj:
        return {"name": c["name"], "securityContext": resolve(c["security_context"], values)}

    return {
        **copy.deepcopy(row.get("spec") or {}),
        "securityContext": resolve(row["pod_security_context"], values),
        "containers": [container(c) for c in row["containers"]],
        "initContainers": [container(c) for c in row.get("init_containers", [])],
    }


def merge_by_name(operator: list[Obj], ours: list[Obj]) -> list[Obj]:
    """The operator's containers with ours merged over them by name (ours win, securityContext key by key);
    containers only we declare are kept as they are."""
    mine = {c["name"]: c for c in ours}
    merged = []
    for c in operator:
        over = mine.pop(c["name"], {})
        sc = {**c.get("securityContext", {}), **(over.get("securityContext") or {})}
        merged.append({**c, **over, "securityContext": sc})
    return merged + list(mine.values())


def pod_of_custom_resource(row: Obj, template: Obj) -> Obj:
    """A custom resource's pod template merged with the containers its operator adds at the pinned version."""

    def added(key: str) -> list[Obj]:
        return [{"name": c["name"], "securityContext": resolve(c["security_context"], {})} for c in row.get(key, [])]

    pod_sc = {**resolve(row.get("pod_security_context", {"fixed": {}}), {}), **(template.get("securityContext") or {})}
    return {
        **template,
        "securityContext": pod_sc,
        "containers": merge_by_name(added("containers"), template.get("containers") or []),
        "initContainers": merge_by_name(added("init_containers"), template.get("initContainers") or []),
    }
