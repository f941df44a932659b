"""Catalog problems: each names the HOCON file and the key, printed like the stack file's problems."""

from dataclasses import dataclass
from typing import Any


class _Nothing:
    """No value to show (a syntax error has a position, not a value)."""


NOTHING: Any = _Nothing()


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the repository root, e.g. services/apps/search.conf
    path: str  # key path inside that file, e.g. deploy.replicas
    value: Any
    message: str

    def line(self) -> str:
        shown = "" if self.value is NOTHING else f" = {self.value!r}"
        return f"{self.file}: {self.path}{shown}: {self.message}"


class CatalogError(ValueError):
    """Every problem of the catalog at once, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        return f"{len(self.problems)} service catalog problem(s):\n" + "\n".join(p.line() for p in self.problems)
