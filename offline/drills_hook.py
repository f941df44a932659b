"""Issue 18's hook into the preview: `drills.md`, a summary section, and a check that fails on required drills.

Kept apart from preview.py so the terminal-output rework (issue 11) merges cleanly: preview.py only lists these.
"""

from pathlib import Path

from drills.drills import Outcome
from drills.report import drills_line, drills_section, failures, render_drills, simulate
from settings import StackConfig

from .runner import Run

_last: list[tuple[Run, list[Outcome]]] = []


def outcomes(run: Run) -> list[Outcome]:
    """The writer, the summary section and the check share one simulation of the latest run."""
    if not _last or _last[0][0] is not run:
        assert run.settings is not None, "a run always carries its settings"
        # The drills model AWS node pools; a customer's cluster has none the stack knows of.
        found = simulate(run.records, run.settings) if isinstance(run.settings, StackConfig) else []
        _last[:] = [(run, found)]
    return _last[0][1]


def _tier(run: Run) -> str:
    return run.tier


def write_drills(run: Run, out: Path) -> None:
    (out / "drills.md").write_text(render_drills(run.stack, _tier(run), outcomes(run)))


def drills_summary(run: Run) -> str:
    return drills_section(_tier(run), outcomes(run))


def drill_failures(run: Run) -> list[str]:
    return failures(_tier(run), outcomes(run))


def drills_verdict(run: Run) -> str:
    return drills_line(_tier(run), outcomes(run))
