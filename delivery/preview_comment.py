"""One pull request comment per stack: the real `pulumi preview --diff` where the build has the stack's
credentials, the offline diff always, and the error of whichever preview failed.

CI runs both previews with `set +e` and then this, so a failing preview is posted like any other; the exit
status (1 when a preview failed) then fails the job, after the comment is up.

    python -m delivery.preview_comment <stack> --offline-status N (--pulumi-status N | --pulumi-skipped REASON)

reads build/<stack>/diff.md, build/<stack>.offline.log and build/<stack>.pulumi.log, writes the comment to
build/<stack>.comment.md and posts it under the key `preview-<stack>` (delivery/pr_comment.py).
"""

import argparse
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .pr_comment import LIMIT, Api, marker, post

PULUMI_BUDGET = 30_000  # characters of `pulumi preview` output; the rest of the comment is the offline diff's
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Outcome:
    """How one preview ended: its exit status (None: not run, and why) and what it wrote."""

    status: int | None
    text: str = ""
    skipped: str = ""

    @property
    def failed(self) -> bool:
        return self.status not in (None, 0)


def key(stack: str) -> str:
    return f"preview-{stack}"


def fenced(text: str, language: str = "") -> str:
    """A code block whose fence is longer than any backtick run inside it, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def tail(text: str, limit: int, where: str) -> str:
    """The end of `text` (a failing preview's error is at its end), at most `limit` characters."""
    if len(text) <= limit:
        return text
    return f"... {len(text) - limit} characters cut from the start{where}\n" + text[-limit:]


def head(text: str, limit: int, where: str) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n... cut at {limit} characters{where}"


def render(stack: str, pulumi: Outcome, offline: Outcome, diff_md: str | None, artifacts: str = "") -> str:
    """The comment: what each preview did, the real preview's output, then the offline diff (or its error)."""
    where = f" (whole file: {artifacts})" if artifacts else ""
    lines = [marker(key(stack)), f"## `{stack}`"]
    if pulumi.status is None:
        lines.append(f"`pulumi preview` was not run: {pulumi.skipped}. The offline diff below stands alone.")
    elif pulumi.failed:
        lines.append(f"> [!CAUTION]\n> **`pulumi preview` failed (exit {pulumi.status})**: its error ends the output below.")
    else:
        lines.append("`pulumi preview --diff --policy-pack policy` passed.")
    if offline.failed:
        lines.append(f"> [!CAUTION]\n> **The offline preview failed (exit {offline.status})**: its error ends the log below.")
    if pulumi.status is not None:
        lines.append(fenced(tail(ANSI.sub("", pulumi.text), PULUMI_BUDGET, where), "diff"))
    if offline.failed:
        lines.append(fenced(tail(offline.text, PULUMI_BUDGET, where)))
    if diff_md is not None:
        room = LIMIT - sum(len(line) + 1 for line in lines) - 200
        diff = head(diff_md, max(room, 1000), where)
        if pulumi.status is None or offline.failed:
            lines.append(diff)
        else:
            lines.append(
                f"<details><summary>Offline diff: what rolls, the update's time, the changed graph</summary>\n\n{diff}\n\n</details>"
            )
    return "\n\n".join(lines) + "\n"


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None, api: Api | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.preview_comment", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stack")
    parser.add_argument("--offline-status", type=int, required=True, help="exit status of `make preview STACK=<stack> BASE=...`")
    real = parser.add_mutually_exclusive_group(required=True)
    real.add_argument("--pulumi-status", type=int, help="exit status of `pulumi preview`")
    real.add_argument("--pulumi-skipped", metavar="REASON", help="why `pulumi preview` was not run")
    parser.add_argument("--build-dir", type=Path, default=Path("build"))
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    build: Path = args.build_dir
    pulumi = Outcome(args.pulumi_status, _read(build / f"{args.stack}.pulumi.log") or "(no output)", args.pulumi_skipped or "")
    offline = Outcome(args.offline_status, _read(build / f"{args.stack}.offline.log") or "(no output)")
    body = render(args.stack, pulumi, offline, _read(build / args.stack / "diff.md"), env.get("CIRCLE_BUILD_URL", ""))
    (build / f"{args.stack}.comment.md").write_text(body)
    print(post(key(args.stack), body, env, api))
    failed = [name for name, outcome in (("pulumi preview", pulumi), ("offline preview", offline)) if outcome.failed]
    for name in failed:
        print(f"{args.stack}: {name} failed (posted above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
