"""`make preview STACK=<stack> BASE=<git ref>`: preview the base revision and the working tree, then write
`build/<stack>/diff.md`, the change a pull request makes to each stack.

The base revision runs with its own code and stack files: it is checked out in a temporary git worktree
(removed afterwards, even on failure) and previewed there by the same interpreter. Both previews share a
fresh random key for the secrets' digests, so a changed secret shows without its value ever being written.

The working tree is previewed exactly as `python -m offline.preview` does it (same files, checks and exit code 1
when a check fails); the diffs are written whenever both previews exist.

A change to a stack's release version is named under the summary; one that goes backwards is refused.

Exit codes: 0 written; 1 a check of the working tree's preview failed; 2 a stack's settings are invalid, a release
version goes backwards, or the base revision could not be previewed.
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from offline import preview
from offline.recorder import DIGEST_KEY_ENV
from offline.stackfile import ROOT
from settings import PROJECT, STACKS

from .diff import diff_records, load_records, render_markdown
from .mermaid import change_graph
from .release import ReleaseError, release_change
from .rolls import rolls_section


class BaseFailed(RuntimeError):
    """The base revision could not be checked out or previewed."""


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BaseFailed(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def preview_base(ref: str, stacks: list[str], build_dir: Path, env: dict[str, str], root: Path = ROOT) -> None:
    """Offline previews of `stacks` as revision `ref` declares them, into `build_dir/<stack>/`."""
    with tempfile.TemporaryDirectory(prefix="insight-base-") as tmp:
        tree = Path(tmp) / "tree"
        _git("worktree", "add", "--detach", "--quiet", str(tree), ref, cwd=root)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "offline.preview", "--quiet", "--build-dir", str(build_dir), *stacks],
                cwd=tree,
                check=False,
                env=env,
                capture_output=True,
                text=True,
            )
        finally:
            _git("worktree", "remove", "--force", str(tree), cwd=root)
        # Exit code 1 is a failed check of a preview that was written: the diff still stands.
        if done.returncode != 0 and not all((build_dir / stack / "resources.json").exists() for stack in stacks):
            raise BaseFailed(f"the preview of {ref} failed:\n{done.stderr.strip()}")


def release_version(stack_file_text: str) -> str | None:
    config = (yaml.safe_load(stack_file_text) or {}).get("config") or {}
    release = config.get(f"{PROJECT}:release")
    return release.get("version") if isinstance(release, dict) else None


def release_notes(stack: str, base_text: str, head_text: str) -> tuple[list[str], str]:
    """The release line for the comment, and why the change is refused ("" when it is not)."""
    try:
        change = release_change(stack, release_version(base_text), release_version(head_text) or "")
    except ReleaseError as err:
        return [f"> [!CAUTION]\n> **release: {err}**"], str(err)
    return ([f"**{change}**"] if change else []), ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.preview_diff", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stacks", nargs="*", default=["test"], help=f"stacks to compare ({', '.join(STACKS)})")
    parser.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/master")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--quiet", action="store_true", help="print only the one-line summary per stack")
    args = parser.parse_args(argv)
    os.environ[DIGEST_KEY_ENV] = secrets.token_hex(32)  # never written: digests from another run cannot be matched
    try:
        label = f"{args.base} ({_git('rev-parse', '--short', args.base)})"
        with tempfile.TemporaryDirectory(prefix="insight-base-build-") as base_build:
            started = time.perf_counter()
            print(f"base {label}: previewing {', '.join(args.stacks)} ...", flush=True)
            preview_base(args.base, args.stacks, Path(base_build), dict(os.environ))
            print(f"base {label}: done ({time.perf_counter() - started:.1f}s)", flush=True)
            code = preview.main([*(["--quiet"] if args.quiet else []), "--build-dir", str(args.build_dir), *args.stacks])
            if code == 2:
                return code
            for stack in args.stacks:
                base = load_records(Path(base_build) / stack / "resources.json")
                head = load_records(args.build_dir / stack / "resources.json")
                diff = diff_records(stack, base, head)
                stack_file = f"Pulumi.{stack}.yaml"
                notes, refused = release_notes(stack, _git("show", f"{args.base}:{stack_file}"), (ROOT / stack_file).read_text())
                sections = [rolls_section(diff, head), change_graph(diff, base, head)]
                (args.build_dir / stack / "diff.md").write_text(render_markdown(diff, label, notes, sections))
                print(f"{stack}: {diff.summary()} -> {args.build_dir / stack / 'diff.md'}")
                if refused:
                    print(f"{stack_file}: {PROJECT}:release.version: {refused}", file=sys.stderr)
                    code = 2
    except BaseFailed as err:
        print(err, file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
