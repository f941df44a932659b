"""`make preview STACK=<stack>`: run the real program offline and write `build/<stack>/`.

Prints a few lines per stack (resources, policy verdicts, cost, where the files are); the full report is
build/<stack>/summary.md.

Exit codes: 0 written; 1 a check failed, such as a mandatory policy violation (one line per failure on
stderr, `<rule id> <urn>: <reason>`; everything is still written); 2 the stack's settings are invalid
(one line per problem on stderr). `make` turns any failure into its own 2; `./preview` passes these through.
"""

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from settings import STACKS, ConfigError

from .drills_hook import drill_failures, write_drills
from .manifests import write_manifests
from .policies import mandatory_violations
from .runner import ROOT, Run, run_stack
from .summary import render_summary, terminal_report

Writer = Callable[[Run, Path], None]


def write_resources(run: Run, out: Path) -> None:
    records = [r.as_dict() for r in run.records]
    (out / "resources.json").write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")


def write_summary(run: Run, out: Path) -> None:
    (out / "summary.md").write_text(render_summary(run))


# Later concerns (rendered manifests, diffs) add their writers here.
WRITERS: list[Writer] = [write_resources, write_summary, write_manifests, write_drills]

# Checks return one line per failure; any failure makes the preview exit 1.
Check = Callable[[Run], list[str]]
CHECKS: list[Check] = [mandatory_violations, drill_failures]


def preview(stack: str, build_dir: Path, root: Path = ROOT) -> Run:
    run = run_stack(stack, root=root)
    out = build_dir / stack
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for writer in WRITERS:
        writer(run, out)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.preview", description=__doc__)
    parser.add_argument("stacks", nargs="*", default=["test"], help=f"stacks to preview ({', '.join(STACKS)})")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder holding Pulumi.yaml and the stack files")
    parser.add_argument("--quiet", action="store_true", help="print only progress, not the short report per stack")
    args = parser.parse_args(argv)
    failed = False
    for index, stack in enumerate(args.stacks, 1):
        progress = f"[{index}/{len(args.stacks)}] {stack}"
        if not (args.root / f"Pulumi.{stack}.yaml").exists():
            print(f"no stack file Pulumi.{stack}.yaml; stacks: {', '.join(STACKS)}", file=sys.stderr)
            return 2
        print(f"{progress}: previewing ...", flush=True)
        started = time.perf_counter()
        try:
            run = preview(stack, args.build_dir, args.root)
        except ConfigError as err:
            print(err.render(), file=sys.stderr)
            print(f"{progress}: exit 2, the stack's settings are invalid (above); nothing was declared", file=sys.stderr)
            return 2
        elapsed = time.perf_counter() - started
        print(f"{progress}: {len(run.records)} resources -> {shown(args.build_dir / stack)} ({elapsed:.1f}s)", flush=True)
        if not args.quiet:
            print(terminal_report(run, shown(args.build_dir / stack)), flush=True)
        failures = [line for check in CHECKS for line in check(run)]
        for line in failures:
            print(line, file=sys.stderr)
        if failures:
            print(f"{progress}: exit 1, a mandatory policy is violated (above); the files are still written", file=sys.stderr)
        failed = failed or bool(failures)
    return 1 if failed else 0


def shown(path: Path) -> Path:
    """The path as the user typed it: relative to the working folder when inside it."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


if __name__ == "__main__":
    sys.exit(main())
