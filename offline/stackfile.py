"""Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to the program."""

import json
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings.errors import ConfigError, Problem
from settings.stack import PROJECT, SECRET_KEYS, decode_config_value

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StackFile:
    name: str
    config: dict[str, str]  # "namespace:key" -> value as the CLI passes it (objects as JSON)
    secret_keys: list[str]

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.config.get(key)
        return default if value is None else decode_config_value(value)


def offline_secret(key: str) -> str:
    """The stand-in for a `secure:` value: recognisable, so tests can prove it never leaks."""
    return f"offline-secret-{key.replace(':', '-')}"


def _as_cli_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


class _StrictLoader(yaml.SafeLoader):
    """YAML as a stack file needs it: no anchors or aliases (they expand without bound), no duplicate keys (the last would win)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (&name, *name) are not allowed in a stack file", problem_mark=event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r} (YAML would keep only the last)", problem_mark=key_node.start_mark
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep)


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader, stricter still
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ConfigError(path.name, [Problem("(yaml)", where, f"not valid YAML: {getattr(err, 'problem', None) or err}")]) from None


def read_stack_file(stack: str, root: Path = ROOT, overrides: dict[str, Any] | None = None) -> StackFile:
    """Config as `pulumi up -s <stack>` would set it. `overrides` replaces top-level keys (tests use it)."""
    path = root / f"Pulumi.{stack}.yaml"
    document = _load_yaml(path) or {}
    declared = document.get("config") if isinstance(document, dict) else document
    if not isinstance(declared or {}, dict):
        raise ConfigError(path.name, [Problem("(config)", declared, "must be a mapping of `namespace:key: value` entries")])
    entries: dict[str, Any] = dict(declared or {})
    project = _load_yaml(root / "Pulumi.yaml")
    for key, spec in ((project.get("config") or {}) if isinstance(project, dict) else {}).items():
        if ":" in key and not key.startswith("pulumi:") and isinstance(spec, dict) and "default" in spec:
            entries.setdefault(key, spec["default"])
    # Secrets are never committed (they need the stack's key); offline, each known one gets a stand-in.
    for key in SECRET_KEYS:
        entries.setdefault(f"{PROJECT}:{key}", {"secure": "offline"})
    for key, value in (overrides or {}).items():
        if value is None:
            entries.pop(key, None)
        else:
            entries[key] = value
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in entries.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = offline_secret(key)
            secrets.append(key)
        else:
            config[key] = _as_cli_value(value)
    return StackFile(stack, config, secrets)
