"""`application.conf` as the pod reads it: the resolved `app` section written back as HOCON."""

import hashlib
import json
import re
from typing import Any

from pyhocon import ConfigTree

from .layers import ENV_MARK

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _string(text: str) -> str:
    """Quoted text; env markers become `${NAME}` joined without spaces (HOCON keeps spaces in concatenations)."""
    parts: list[str] = []
    last = 0
    for match in ENV_MARK.finditer(text):
        if match.start() > last:
            parts.append(json.dumps(text[last : match.start()], ensure_ascii=False))
        parts.append("${" + match.group(1) + "}")
        last = match.end()
    if last < len(text) or not parts:
        parts.append(json.dumps(text[last:], ensure_ascii=False))
    return "".join(parts)


def _value(value: Any, depth: int) -> str:
    if isinstance(value, ConfigTree):
        if not value:
            return "{}"
        pad = "  " * (depth + 1)
        body = "\n".join(
            f"{pad}{_key(str(k))} {_value(v, depth + 1) if isinstance(v, ConfigTree) else '= ' + _value(v, depth + 1)}"
            for k, v in value.items()
        )
        return "{\n" + body + "\n" + "  " * depth + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, depth) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return _string(str(value))


def render_application_conf(app: ConfigTree, source: str) -> str:
    lines = [f"# Rendered from {source} and its layers by the service catalog; edit the HOCON files, not this.", ""]
    for key, value in app.items():
        lines.append(f"{_key(str(key))} {_value(value, 0) if isinstance(value, ConfigTree) else '= ' + _value(value, 0)}")
    return "\n".join(lines) + "\n"


def config_hash(text: str) -> str:
    """What goes into the pod template: it changes exactly when the rendered file changes."""
    return hashlib.sha256(text.encode()).hexdigest()
