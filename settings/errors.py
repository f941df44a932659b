"""Configuration problems, reported one line each, before any resource is declared."""

from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is (`network.azCount`), what it is, and what is allowed."""

    path: str
    value: Any
    message: str

    def line(self, source: str, project: str) -> str:
        key = self.path if ":" in self.path or self.path.startswith("(") or self.path == "stack" else f"{project}:{self.path}"
        return f"{source}: {key} = {self.value!r}: {self.message}"


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING: Any = _Missing()
MISSING = _MISSING


class ConfigError(pulumi.RunError):
    """Raised with every problem at once. RunError makes `pulumi up` print it without a traceback."""

    def __init__(self, source: str, problems: list[Problem], project: str = "insight"):
        self.source = source
        self.project = project
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [p.line(self.source, self.project) for p in self.problems]
        return f"{len(lines)} configuration problem(s):\n" + "\n".join(lines)
