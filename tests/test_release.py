"""The release rules: which version goes to which stack, and every refusal with its message."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.release import (
    ReleaseError,
    check_promotion,
    main,
    next_snapshot,
    parse_ref,
    parse_version,
    release_change,
    target_tiers,
)
from settings import STACKS, ConfigError, parse_stack_config
from settings.stack import SECRET_KEYS
from settings.tiers import stack_tier, tier_policy

from .conftest import raw_sections

REGIONS = {"test": "us-west-2", "staging": "us-west-2", "prod": "ap-northeast-1"}


@pytest.mark.parametrize(
    ("ref", "stack"),
    [
        ("1.4.0-SNAPSHOT", "test"),
        ("1.4.0-SNAPSHOT.812", "test"),
        ("0.1.0-SNAPSHOT", "test"),
        ("1.4.0-rc.2", "staging"),
        ("v1.4.0-rc.2", "staging"),
        ("refs/tags/v1.4.0-rc.10", "staging"),
        ("1.3.2", "prod"),
        ("v1.3.2", "prod"),
        ("refs/tags/v10.20.30", "prod"),
    ],
)
def test_refs_route_to_their_stack(ref, stack):
    assert target_tiers(parse_ref(ref)) == [stack]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("1.4", "is not a Semantic Versioning 2.0.0 version"),
        ("01.4.0", "is not a Semantic Versioning 2.0.0 version"),
        ("1.4.0-rc.01", "is not a Semantic Versioning 2.0.0 version"),
        ("1.4.0-", "is not a Semantic Versioning 2.0.0 version"),
        ("1.4.0-alpha.1", "not a release version of ours; allowed: x.y.z-SNAPSHOT"),
        ("1.4.0-rc", "not a release version of ours"),
        ("1.4.0-rc.1.1", "not a release version of ours"),
        ("1.4.0-snapshot", "not a release version of ours"),
        ("1.4.0-SNAPSHOT.abc", "not a release version of ours"),
        ("1.4.0+build.5", "build metadata (+...) cannot be part of an image tag"),
        ("v1.4.0-SNAPSHOT", "SNAPSHOT versions come from master commits and are never tagged"),
        ("release-1.4.0", "is not a Semantic Versioning 2.0.0 version"),
        ("refs/tags/1.4.0", "release tags are 'v' + version"),
    ],
)
def test_bad_refs_are_refused_with_what_is_allowed(ref, message):
    with pytest.raises(ReleaseError, match=rf".*{message.replace('(', '[(]').replace(')', '[)]').replace('+', '[+]')}"):
        target_tiers(parse_ref(ref))


def test_precedence_follows_semver():
    # The ordered example of semver.org section 11, plus our own kinds.
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1-SNAPSHOT",
        "1.0.1-SNAPSHOT.2",
        "1.0.1-SNAPSHOT.10",
        "1.0.1-rc.2",
        "1.0.1-rc.10",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    versions = [parse_version(v) for v in ordered]
    assert sorted(reversed(versions)) == versions
    assert parse_version("1.0.0+a") == parse_version("1.0.0+b")


@pytest.mark.parametrize(
    ("stack", "current", "new", "message"),
    [
        ("prod", "1.3.2", "1.4.0-SNAPSHOT", "1.4.0-SNAPSHOT is a SNAPSHOT and goes to test, not prod; prod takes x.y.z"),
        ("prod", "1.3.2", "1.4.0-rc.2", "1.4.0-rc.2 is a release candidate and goes to staging, not prod; prod takes x.y.z"),
        ("staging", "1.4.0-rc.2", "1.4.1-SNAPSHOT", "is a SNAPSHOT and goes to test, not staging; staging takes x.y.z-rc.N"),
        ("test", "1.4.0-SNAPSHOT", "1.4.0", "is a final release and goes to prod, not test"),
        ("prod", "1.3.2", "1.3.1", "1.3.1 goes backwards on prod: it runs 1.3.2 already"),
        ("staging", "1.4.0-rc.10", "1.4.0-rc.9", "1.4.0-rc.9 goes backwards on staging"),
        ("test", "1.4.0-SNAPSHOT.20", "1.4.0-SNAPSHOT.3", "goes backwards on test"),
    ],
)
def test_promotions_that_are_refused(stack, current, new, message):
    with pytest.raises(ReleaseError, match=message.replace("+", "[+]")):
        check_promotion(stack, parse_version(current), parse_version(new))


@pytest.mark.parametrize(
    ("stack", "current", "new"),
    [
        ("test", None, "0.1.0-SNAPSHOT"),
        ("test", "1.4.0-SNAPSHOT", "1.4.0-SNAPSHOT"),  # master commits before the tags move on
        ("test", "1.4.0-SNAPSHOT.3", "1.4.0-SNAPSHOT.20"),
        ("staging", "1.4.0-rc.2", "1.4.0-rc.3"),
        ("staging", "1.4.0-rc.9", "1.5.0-rc.1"),
        ("prod", "1.3.2", "1.4.0"),
        ("prod", "1.3.2", "1.3.2"),  # a redeploy of the running release
    ],
)
def test_promotions_that_are_allowed(stack, current, new):
    check_promotion(stack, parse_version(current) if current else None, parse_version(new))


@pytest.mark.parametrize(
    ("tags", "build", "expected"),
    [
        ([], None, "0.1.0-SNAPSHOT"),
        (["v1.3.2"], None, "1.3.3-SNAPSHOT"),
        (["v1.3.2", "v1.4.0-rc.1", "v1.4.0-rc.2"], None, "1.4.0-SNAPSHOT"),
        (["v1.4.0-rc.2", "v1.4.0"], 812, "1.4.1-SNAPSHOT.812"),
        (["v1.10.0", "v1.9.9"], None, "1.10.1-SNAPSHOT"),  # by precedence, not by text
        (["v2.0.0", "nightly", "v3.0.0-beta.1", "deploy-2026"], None, "2.0.1-SNAPSHOT"),  # foreign tags ignored
    ],
)
def test_next_snapshot_from_the_last_tag(tags, build, expected):
    assert str(next_snapshot(tags, build)) == expected


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.integers(0, 5)), min_size=1, max_size=8))
def test_next_snapshot_never_falls_behind_a_final_release(cores):
    tags = [f"v{a}.{b}.{c}" if rc == 0 else f"v{a}.{b}.{c}-rc.{rc}" for a, b, c, rc in cores]
    snapshot = next_snapshot(tags)
    assert target_tiers(snapshot) == ["test"]
    finals = [parse_ref(t) for t in tags if "-rc." not in t]
    assert all(snapshot > f for f in finals)


@pytest.mark.parametrize(
    ("argv", "out", "code"),
    [
        (["target", "v1.4.0-rc.2"], "staging\n", 0),
        (["target", "v1.4.0"], "prod\n", 0),
        (["target", "1.4.0-SNAPSHOT"], "test\n", 0),
        (["version", "refs/tags/v1.4.0-rc.2"], "1.4.0-rc.2\n", 0),
        (["next-snapshot", "--tags", "v1.3.2", "--build", "7"], "1.3.3-SNAPSHOT.7\n", 0),
        (["check", "staging", "v1.4.0-rc.3", "--current", "1.4.0-rc.2"], "1.4.0-rc.3 -> staging\n", 0),
        (["check", "prod", "v1.4.0-rc.3"], "", 2),
        (["target", "v1.4"], "", 2),
    ],
)
def test_command_line(argv, out, code, capsys):
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == out
    assert (captured.err.startswith("release: ")) == (code != 0)


@pytest.mark.parametrize(
    ("stack", "version", "message"),
    [
        ("prod", "1.4.0-rc.2", "insight:release.version = '1.4.0-rc.2': 1.4.0-rc.2 is a release candidate and goes to staging, not prod"),
        ("prod", "1.4.0-SNAPSHOT", "insight:release.version = '1.4.0-SNAPSHOT': 1.4.0-SNAPSHOT is a SNAPSHOT and goes to test, not prod"),
        ("staging", "1.4.0-SNAPSHOT", "Pulumi.staging.yaml: insight:release.version = '1.4.0-SNAPSHOT': 1.4.0-SNAPSHOT is a SNAPSHOT"),
        ("test", "1.4.0", "Pulumi.test.yaml: insight:release.version = '1.4.0': 1.4.0 is a final release and goes to prod, not test"),
        ("test", "1.4.0-beta.1", "insight:release.version = '1.4.0-beta.1': 1.4.0-beta.1: not a release version of ours"),
    ],
)
def test_stack_file_version_must_fit_the_stack(stack, version, message):
    sections = {key: value for key, value in raw_sections(stack).items() if key not in SECRET_KEYS}
    sections["release"]["version"] = version
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(stack, REGIONS[stack], sections, f"Pulumi.{stack}.yaml")
    release_lines = [line for line in caught.value.render().splitlines() if "insight:release." in line]
    assert len(release_lines) == 1
    assert message in release_lines[0]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_file_runs_a_version_of_its_kind(stack):
    version = parse_version(raw_sections(stack)["release"]["version"])
    assert version.kind == tier_policy(stack_tier(stack)).release_kind
    assert target_tiers(version) == ([stack_tier(stack)] if tier_policy(stack_tier(stack)).aws else ["prod"])


@pytest.mark.parametrize(
    ("stack", "before", "after", "expected"),
    [
        ("prod", "1.3.2", "1.3.2", ""),
        ("prod", "1.3.2", "1.4.0", "release 1.3.2 -> 1.4.0"),
        ("staging", None, "1.4.0-rc.1", "release (none) -> 1.4.0-rc.1"),
        ("staging", "1.4", "1.4.0-rc.1", "release 1.4 -> 1.4.0-rc.1"),  # a malformed old one is not held against it
    ],
)
def test_a_pull_requests_release_change_is_named(stack, before, after, expected):
    assert release_change(stack, before, after) == expected


@pytest.mark.parametrize(
    ("stack", "before", "after", "message"),
    [
        ("prod", "1.3.2", "1.3.1", "1.3.1 goes backwards on prod: it runs 1.3.2 already"),
        ("staging", "1.4.0-rc.2", "1.4.0", "1.4.0 is a final release and goes to prod, not staging"),
    ],
)
def test_a_pull_request_may_not_move_a_stack_backwards(stack, before, after, message):
    with pytest.raises(ReleaseError, match=message):
        release_change(stack, before, after)
