"""The offline preview diff: a pure function of two lists of records, and the driver that previews a base revision."""

import json
import re
import subprocess
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from delivery.diff import RULES, diff_records, flatten, load_records, render_markdown
from delivery.preview_diff import BaseFailed, preview_base, release_notes
from offline.recorder import DIGEST_KEY_ENV, MASK, Record
from offline.runner import run_stack
from offline.stackfile import ROOT

from .conftest import declared

STACK = "urn:pulumi:test::insight::pulumi:pulumi:Stack::insight-test"


def record(name: str, type_: str, inputs: dict, **options) -> Record:
    return Record(
        urn=f"urn:pulumi:test::insight::{type_}::{name}",
        type=type_,
        name=name,
        parent=STACK,
        custom=True,
        remote=False,
        provider=options.pop("provider", ""),
        providers={},
        inputs=inputs,
        protect=options.pop("protect", False),
        dependencies=options.pop("dependencies", []),
        retain_on_delete=False,
        **options,
    )


VPC = record("vpc", "aws:ec2/vpc:Vpc", {"cidrBlock": "10.10.0.0/16", "tags": {"a": "1", "b": "2"}})
LOGS = record("flow-logs", "aws:cloudwatch/logGroup:LogGroup", {"name": "/insight/flow", "retentionInDays": 30})
MONGO = record(
    "mongo",
    "kubernetes:apps/v1:StatefulSet",
    {"spec": {"volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "50Gi"}}}}]}},
)
BASE = [VPC, LOGS, MONGO]


def changed(base: Record, **inputs) -> Record:
    return record(base.name, base.type, {**base.inputs, **inputs}, protect=base.protect)


def test_identical_inputs_and_key_order_are_no_change():
    reordered = record("vpc", VPC.type, {"tags": {"b": "2", "a": "1"}, "cidrBlock": "10.10.0.0/16"})
    diff = diff_records("test", BASE, [reordered, LOGS, MONGO])
    assert diff.changes == ()
    assert diff.summary() == "no changes"
    assert "**no changes**" in render_markdown(diff, "origin/master")


def test_a_change_in_place_names_the_property_and_both_values():
    diff = diff_records("test", BASE, [VPC, changed(LOGS, retentionInDays=90), MONGO])
    (change,) = diff.changes
    assert (change.name, change.action) == ("flow-logs", "update")
    assert [(p.path, p.before, p.after, p.replaces) for p in change.properties] == [("retentionInDays", 30, 90, False)]
    assert diff.summary() == "+0 ~1 -0"
    assert "| `retentionInDays` | `30` | `90` |" in render_markdown(diff, "origin/master")


def test_an_addition_and_a_removal():
    bucket = record("assets", "aws:s3/bucketV2:BucketV2", {"bucket": "insight-assets"})
    diff = diff_records("test", BASE, [VPC, MONGO, bucket])
    assert [(c.name, c.action) for c in diff.changes] == [("flow-logs", "remove"), ("assets", "add")]
    assert diff.summary() == "+1 ~0 -1, 1 removal"
    markdown = render_markdown(diff, "origin/master")
    assert "#### Added (1)\n\n| resource | type |\n|---|---|\n| `assets` | `aws:s3/bucketV2:BucketV2` |" in markdown
    assert "#### Removed (1)" in markdown
    assert "CAUTION" not in markdown


def test_a_replacement_of_a_stateful_resource_is_loud():
    bigger = {"spec": {"volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "100Gi"}}}}]}}
    diff = diff_records("test", BASE, [VPC, LOGS, record("mongo", MONGO.type, bigger)])
    (change,) = diff.changes
    assert change.action == "replace"
    assert change.properties[0].path == "spec.volumeClaimTemplates[0].spec.resources.requests.storage"
    assert diff.summary() == "+0 ~1 -0, 1 replacement of a stateful resource"
    markdown = render_markdown(diff, "origin/master")
    assert "> [!CAUTION]\n> **REPLACES the stateful resource `mongo` (`kubernetes:apps/v1:StatefulSet`)**" in markdown
    assert "Its data goes with it." in markdown
    assert "| `50Gi` | `100Gi` | forces replacement |" in markdown


def test_a_replacement_of_a_protected_resource_warns_that_up_stops_there():
    protected_vpc = record("vpc", VPC.type, VPC.inputs, protect=True)
    diff = diff_records("prod", [protected_vpc], [changed(protected_vpc, cidrBlock="10.11.0.0/16")])
    assert diff.summary() == "+0 ~1 -0, 1 replacement of a protected resource"
    assert "It is protected: `pulumi up` stops at it" in render_markdown(diff, "v1.3.2")
    # Unprotected, the same change is an ordinary replacement.
    assert diff_records("test", [VPC], [changed(VPC, cidrBlock="10.11.0.0/16")]).summary() == "+0 ~1 -0, 1 replacement"


def test_a_replacement_counts_what_depends_on_it():
    """The mocks keep IDs stable, so the cascade of a replaced VPC shows only as its dependents."""
    subnet = record("subnet", "aws:ec2/subnet:Subnet", {"vpcId": "vpc-1"}, dependencies=[VPC.urn])
    nat = record("nat", "aws:ec2/natGateway:NatGateway", {"subnetId": "subnet-1"}, dependencies=[subnet.urn])
    head = [changed(VPC, cidrBlock="10.11.0.0/16"), subnet, nat]
    diff = diff_records("test", [VPC, subnet, nat], head)
    (change,) = diff.changes
    assert change.dependents == 2
    assert "`vpc` (`aws:ec2/vpc:Vpc`): **replace** (create, then delete; 2 resources depend on it)" in render_markdown(
        diff, "origin/master"
    )


def test_a_provider_moved_to_another_region_takes_what_it_manages_with_it():
    provider = record("aws", "pulumi:providers:aws", {"region": "us-west-2"}, replace_on_changes=["region"])
    vpc = record("vpc", VPC.type, VPC.inputs, provider=f"{provider.urn}::a1b2", protect=True)
    moved = record("aws", "pulumi:providers:aws", {"region": "us-east-1"}, replace_on_changes=["region"])
    diff = diff_records("test", [provider, vpc], [moved, vpc])
    (change,) = diff.changes
    assert (change.action, change.dependents) == ("replace", 1)


def test_replace_on_changes_option_is_honoured():
    base = record("cfg", "kubernetes:core/v1:ConfigMap", {"data": {"a": "1"}}, replace_on_changes=["data"])
    head = record("cfg", "kubernetes:core/v1:ConfigMap", {"data": {"a": "2"}}, replace_on_changes=["data"])
    assert diff_records("test", [base], [head]).changes[0].action == "replace"


def test_ignore_changes_option_is_honoured():
    base = record(
        "pool",
        "eks:index:ManagedNodeGroup",
        {"scalingConfig": {"desiredSize": 2, "maxSize": 6}},
        ignore_changes=["scalingConfig.desiredSize"],
    )
    head = record(
        "pool",
        "eks:index:ManagedNodeGroup",
        {"scalingConfig": {"desiredSize": 4, "maxSize": 6}},
        ignore_changes=["scalingConfig.desiredSize"],
    )
    assert diff_records("test", [base], [head]).changes == ()
    head = record(
        "pool",
        "eks:index:ManagedNodeGroup",
        {"scalingConfig": {"desiredSize": 4, "maxSize": 9}},
        ignore_changes=["scalingConfig.desiredSize"],
    )
    assert [p.path for p in diff_records("test", [base], [head]).changes[0].properties] == ["scalingConfig.maxSize"]


def test_a_changed_secret_shows_as_changed_and_never_by_value():
    base = record("db", "kubernetes:core/v1:Secret", {"stringData": {"password": MASK}}, secret_digests={"stringData.password": "1111"})
    same = record("db", "kubernetes:core/v1:Secret", {"stringData": {"password": MASK}}, secret_digests={"stringData.password": "1111"})
    rotated = record("db", "kubernetes:core/v1:Secret", {"stringData": {"password": MASK}}, secret_digests={"stringData.password": "2222"})
    undigested = record("db", "kubernetes:core/v1:Secret", {"stringData": {"password": MASK}})
    assert diff_records("test", [base], [same]).changes == ()
    assert diff_records("test", [base], [undigested]).changes == ()  # no digest on one side: nothing to tell
    diff = diff_records("test", [base], [rotated])
    markdown = render_markdown(diff, "origin/master")
    assert "| `stringData.password` | `[secret]` | `[secret] (changed)` |" in markdown
    assert "1111" not in markdown
    assert "2222" not in markdown


def test_recorded_secret_digests_tell_a_change_without_the_value(monkeypatch):
    """Through the real recorder: same key for both runs, two different secret values."""

    def program(value: str):
        def declare() -> None:
            aws.ssm.Parameter("token", type="SecureString", value=pulumi.Output.secret(value))

        return declare

    monkeypatch.setenv(DIGEST_KEY_ENV, "k" * 64)
    before = run_stack("test", program=program("hunter2")).records
    after = run_stack("test", program=program("correct-horse")).records
    again = run_stack("test", program=program("hunter2")).records
    assert diff_records("test", before, again).changes == ()
    diff = diff_records("test", before, after)
    assert [(c.name, [p.path for p in c.properties]) for c in diff.changes] == [("token", ["value"])]
    dumped = json.dumps([r.as_dict() for r in before + after]) + render_markdown(diff, "x")
    assert "hunter2" not in dumped
    assert "correct-horse" not in dumped
    monkeypatch.delenv(DIGEST_KEY_ENV)
    assert all(r.secret_digests == {} for r in run_stack("test", program=program("hunter2")).records)


def test_flatten_paths_quote_keys_that_are_not_plain():
    assert flatten({"metadata": {"labels": {"insight.io/pool": "spot"}}, "subnetIds": ["a", "b"], "tags": {}}) == {
        'metadata.labels["insight.io/pool"]': "spot",
        "subnetIds[0]": "a",
        "subnetIds[1]": "b",
        "tags": {},
    }


def test_replacement_table_names_real_input_properties():
    """Every property the table lists exists on the resource's Python args (catches a misspelled table entry)."""
    import importlib
    import inspect

    for rule in RULES:
        if not rule.type.startswith("aws:"):
            continue
        (_, module, name), type_, props = rule.type.split(":"), rule.type, rule.paths
        cls = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
        params = {p.replace("_", "") for p in inspect.signature(cls._internal_init).parameters}
        for prop in props:
            assert prop.split(".")[0].lower() in params, f"{type_}.{prop}"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_one_setting_changed_yields_exactly_that_change_where_it_applies(stack):
    """The issue's bar: a PR changing prod's flow log retention names that change for prod, `no changes` elsewhere
    (staging stands for the untouched stacks: a second run of the same program and file must not differ)."""
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    pr = {"prod": {"insight:network": {**config["insight:network"], "flowLogsRetentionDays": 400}}}
    head = run_stack(stack, overrides=pr.get(stack))
    diff = diff_records(stack, declared(stack).records, head.records)
    if stack != "prod":
        assert diff.summary() == "no changes"
        return
    assert diff.summary() == "+0 ~1 -0"
    (change,) = diff.changes
    # Flow logs live in the logs bucket: their retention is the expiration of its flow-log lifecycle rule.
    assert change.type == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    (prop,) = change.properties
    assert (prop.before, prop.after) == (365, 400) and prop.path.endswith("expiration.days")


FAKE_PREVIEW = """
import json, sys
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("--build-dir") + 1])
for stack in [a for a in args if not a.startswith("-") and a != str(out)]:
    if stack == "nope":
        sys.exit("no stack file Pulumi.nope.yaml")
    (out / stack).mkdir(parents=True)
    (out / stack / "resources.json").write_text(json.dumps([{"urn": "u", "type": "t", "name": "REVISION", "parent": "",
        "custom": True, "remote": False, "provider": "", "providers": {}, "inputs": {}, "dependencies": [], "protect": False,
        "retain_on_delete": False, "a_field_from_another_revision": 1}]))
"""


@pytest.fixture
def repo(tmp_path):
    """A small repository whose committed `offline.preview` differs from its working tree."""
    root = tmp_path / "repo"
    (root / "offline").mkdir(parents=True)
    (root / "offline" / "__init__.py").write_text("")
    (root / "offline" / "preview.py").write_text(FAKE_PREVIEW.replace("REVISION", "committed"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=root, check=True)
    (root / "offline" / "preview.py").write_text(FAKE_PREVIEW.replace("REVISION", "working-tree"))
    return root


def _worktrees(root) -> str:
    return subprocess.run(["git", "worktree", "list"], cwd=root, capture_output=True, text=True, check=True).stdout


def test_base_revision_runs_its_own_code_in_a_worktree_that_is_removed(repo, tmp_path):
    before = _worktrees(repo)
    preview_base("HEAD", ["test", "prod"], tmp_path / "out", {}, root=repo)
    assert [r.name for r in load_records(tmp_path / "out" / "prod" / "resources.json")] == ["committed"]
    assert _worktrees(repo) == before


@pytest.mark.parametrize(("ref", "stacks", "message"), [("no-such-ref", ["test"], "git worktree add"), ("HEAD", ["nope"], "no stack file")])
def test_base_failures_are_reported_and_the_worktree_still_removed(repo, tmp_path, ref, stacks, message):
    before = _worktrees(repo)
    with pytest.raises(BaseFailed, match=message):
        preview_base(ref, stacks, tmp_path / "out", {}, root=repo)
    assert _worktrees(repo) == before


def test_previewing_several_stacks_shows_progress_and_time_each(monkeypatch, tmp_path, capsys):
    from offline import preview
    from offline.runner import Run

    monkeypatch.setattr(preview, "preview", lambda stack, build_dir, root: Run(stack, [], {}))
    monkeypatch.setattr(preview, "CHECKS", [])  # an empty stand-in run has nothing to judge
    assert preview.main(["--quiet", "--build-dir", str(tmp_path), "test", "staging", "prod"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["[1/3] test"] * 2 + ["[2/3] staging"] * 2 + ["[3/3] prod"] * 2
    assert all(re.fullmatch(r"\[\d/3\] \w+: previewing \.\.\.", line) for line in lines[::2])
    assert all(re.fullmatch(rf"\[\d/3\] \w+: 0 resources -> {tmp_path}/\w+ \(\d+\.\ds\)", line) for line in lines[1::2])


def test_the_comment_names_a_release_change_and_refuses_one_that_goes_backwards():
    def stack_file(version: str) -> str:
        return yaml.safe_dump({"config": {"aws:region": "ap-northeast-1", "insight:release": {"version": version}}})

    assert release_notes("prod", stack_file("1.3.2"), stack_file("1.3.2")) == ([], "")
    notes, refused = release_notes("prod", stack_file("1.3.2"), stack_file("1.4.0"))
    assert (notes, refused) == (["**release 1.3.2 -> 1.4.0**"], "")
    assert "**no changes**\n\n**release 1.3.2 -> 1.4.0**\n" in render_markdown(diff_records("prod", [], []), "origin/master", notes)
    notes, refused = release_notes("prod", stack_file("1.3.2"), stack_file("1.3.1"))
    assert refused == "1.3.1 goes backwards on prod: it runs 1.3.2 already; deploy 1.3.2 or later"
    assert notes == [f"> [!CAUTION]\n> **release: {refused}**"]


JSON_LEAVES = st.one_of(st.integers(-5, 5), st.booleans(), st.text("abc", max_size=3))
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3), st.dictionaries(st.text("xyz.", min_size=1, max_size=3), inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


@given(
    st.dictionaries(st.text("abc", min_size=1, max_size=3), JSON, max_size=4),
    st.dictionaries(st.text("abc", min_size=1, max_size=3), JSON, max_size=4),
)
def test_diff_properties(before, after):
    """Key order never shows; a diff names exactly the leaves that differ; an empty diff means equal inputs."""
    old, new = record("r", "aws:ec2/vpc:Vpc", before), record("r", "aws:ec2/vpc:Vpc", after)
    assert diff_records("test", [old], [record("r", old.type, _reversed_keys(before))]).changes == ()
    diff = diff_records("test", [old], [new])
    flat_old, flat_new = flatten(before), flatten(after)
    differing = {p for p in flat_old.keys() | flat_new.keys() if flat_old.get(p) != flat_new.get(p)}
    assert {p.path for c in diff.changes for p in c.properties} == differing
    assert (diff.summary() == "no changes") == (before == after)
