"""Release rules as code: SemVer 2.0.0 versions, which tier each one goes to, and what comes next.

    x.y.z-SNAPSHOT[.B]  every master commit (B: the CI build number, so each image tag is new) -> test
    x.y.z-rc.N          release candidate, git tag vx.y.z-rc.N                               -> staging
    x.y.z               final release, git tag vx.y.z                                        -> prod

Which tier takes which kind is the tier table's (settings/tiers.py); a stack runs what its tier takes.
Pure: no pulumi, no git; `python -m delivery.release` is the command line CI calls.
"""

import argparse
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering

from settings.tiers import ReleaseKind as Kind
from settings.tiers import stack_tier, tier_policy, tiers_taking

KIND_NAMES: dict[Kind, str] = {"snapshot": "a SNAPSHOT", "rc": "a release candidate", "final": "a final release"}
ALLOWED = "x.y.z-SNAPSHOT, x.y.z-SNAPSHOT.B, x.y.z-rc.N or x.y.z"
TAG_PREFIX = "v"

# The grammar of semver.org (2.0.0): numbers without leading zeros, dot-separated identifiers.
_NUMBER = r"0|[1-9]\d*"
_PRE_ID = rf"(?:{_NUMBER}|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER = re.compile(
    rf"(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


class ReleaseError(ValueError):
    """A version, tag or promotion the release rules refuse; the message says what is allowed."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(self.pre)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def kind(self) -> Kind:
        """Which of our three release kinds this is; any other pre-release is refused."""
        if self.build:
            raise ReleaseError(f"{self}: build metadata (+...) cannot be part of an image tag; allowed: {ALLOWED}")
        if not self.pre:
            return "final"
        if self.pre[0] == "SNAPSHOT" and (len(self.pre) == 1 or (len(self.pre) == 2 and self.pre[1].isdigit())):
            return "snapshot"
        if len(self.pre) == 2 and self.pre[0] == "rc" and self.pre[1].isdigit():
            return "rc"
        raise ReleaseError(f"{self}: not a release version of ours; allowed: {ALLOWED}")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return _precedence_key(self) < _precedence_key(other)

    def __eq__(self, other: object) -> bool:
        # SemVer: build metadata does not take part in precedence.
        return isinstance(other, Version) and _precedence_key(self) == _precedence_key(other)

    def __hash__(self) -> int:
        return hash(_precedence_key(self))


def _precedence_key(v: Version) -> tuple:
    # A final release outranks each of its pre-releases; numeric identifiers rank below alphanumeric ones
    # and compare as numbers; a longer identifier list wins when all before it are equal.
    pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in v.pre)
    return (v.core, not v.pre, pre)


def parse_version(text: str) -> Version:
    match = SEMVER.fullmatch(text)
    if match is None:
        raise ReleaseError(f"{text!r} is not a Semantic Versioning 2.0.0 version; allowed: {ALLOWED}")
    pre, build = match["pre"], match["build"]
    return Version(
        int(match["major"]),
        int(match["minor"]),
        int(match["patch"]),
        tuple(pre.split(".")) if pre else (),
        tuple(build.split(".")) if build else (),
    )


def parse_tag(ref: str) -> Version:
    """A git tag (`v1.4.0-rc.2`, also as `refs/tags/v1.4.0-rc.2`) -> its release version (rc or final only)."""
    tag = ref.removeprefix("refs/tags/")
    if not tag.startswith(TAG_PREFIX):
        raise ReleaseError(f"tag {tag!r}: release tags are 'v' + version, e.g. v1.4.0-rc.2 or v1.4.0")
    version = parse_version(tag.removeprefix(TAG_PREFIX))
    if version.kind == "snapshot":
        raise ReleaseError(f"tag {tag!r}: SNAPSHOT versions come from master commits and are never tagged; tag x.y.z-rc.N or x.y.z")
    return version


def parse_ref(ref: str) -> Version:
    """A version (`1.4.0-SNAPSHOT`) or a git tag (`v1.4.0`)."""
    return parse_tag(ref) if ref.startswith((TAG_PREFIX, "refs/tags/")) else parse_version(ref)


def target_tiers(version: Version) -> list[str]:
    """The tiers that run this version (one per kind today)."""
    return tiers_taking(version.kind)


def check_version_for_tier(tier: str, version: Version) -> None:
    """A version may only run on a tier that takes its kind: no SNAPSHOT or rc in prod, no SNAPSHOT in staging."""
    policy = tier_policy(tier)
    if version.kind != policy.release_kind:
        goes_to = " or ".join(target_tiers(version)) or "no tier"
        raise ReleaseError(f"{version} is {KIND_NAMES[version.kind]} and goes to {goes_to}, not {tier}; {tier} takes {policy.release_form}")


def check_promotion(stack: str, current: Version | None, new: Version, tier: str | None = None) -> None:
    """Deploying `new` over `current` on `stack` (of `tier`, else its stack file's): it must fit and must not go backwards."""
    check_version_for_tier(tier or stack_tier(stack), new)
    if current is not None and new < current:
        raise ReleaseError(f"{new} goes backwards on {stack}: it runs {current} already; deploy {current} or later")


def release_change(stack: str, before: str | None, after: str, tier: str | None = None) -> str:
    """A pull request's change to a stack file's release version: "" when unchanged, else `release 1.3.2 -> 1.4.0`.
    Raises when the new version does not fit the stack's tier or goes backwards (a malformed old one is not held against it)."""
    if before == after:
        return ""
    try:
        current = parse_version(before) if before else None
    except ReleaseError:
        current = None
    check_promotion(stack, current, parse_version(after), tier)
    return f"release {before or '(none)'} -> {after}"


def next_snapshot(tags: Iterable[str], build: int | None = None) -> Version:
    """The SNAPSHOT master builds after the highest release tag: after v1.3.2 comes 1.3.3-SNAPSHOT,
    while v1.4.0-rc.N is out 1.4.0 itself is still being finished: 1.4.0-SNAPSHOT. Other tags are ignored."""
    releases: list[Version] = []
    for tag in tags:
        try:
            releases.append(parse_tag(tag))
        except ReleaseError:
            continue
    pre = ("SNAPSHOT",) if build is None else ("SNAPSHOT", str(build))
    if not releases:
        return Version(0, 1, 0, pre)
    last = max(releases)
    if last.kind == "rc":
        return Version(*last.core, pre)
    return Version(last.major, last.minor, last.patch + 1, pre)


def _git_tags() -> list[str]:
    # Only tags reachable from HEAD: a release cut on another branch does not move master's SNAPSHOT.
    out = subprocess.run(["git", "tag", "--merged", "HEAD", "--list", f"{TAG_PREFIX}*"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.release", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    target = commands.add_parser("target", help="the tier a version or tag deploys to")
    target.add_argument("ref", help="a version (1.4.0-SNAPSHOT) or a release tag (v1.4.0-rc.2)")
    version = commands.add_parser("version", help="the validated version of a version or tag (v1.4.0 -> 1.4.0)")
    version.add_argument("ref")
    snapshot = commands.add_parser("next-snapshot", help="the SNAPSHOT version of the next master build")
    snapshot.add_argument("--build", type=int, help="CI build number, appended so every master image tag is new")
    snapshot.add_argument("--tags", nargs="*", help="release tags to start from (default: git tags reachable from HEAD)")
    check = commands.add_parser("check", help="refuse a version that does not fit the stack or goes backwards")
    check.add_argument("stack")
    check.add_argument("ref")
    check.add_argument("--current", default="", help="the version the stack runs now (empty: first deploy)")
    args = parser.parse_args(argv)
    try:
        if args.command == "target":
            print(" ".join(target_tiers(parse_ref(args.ref))))
        elif args.command == "version":
            print(parse_ref(args.ref))
        elif args.command == "next-snapshot":
            print(next_snapshot(_git_tags() if args.tags is None else args.tags, args.build))
        else:
            new = parse_ref(args.ref)
            check_promotion(args.stack, parse_version(args.current) if args.current else None, new)
            print(f"{new} -> {args.stack}")
    except ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
