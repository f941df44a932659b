"""URNs and aliases as the engine assigns them, and what a moved or renamed component does to the offline diff."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pytest

from delivery.diff import diff_records
from offline.recorder import ROOT_STACK_TYPE, Record, engine_urn
from offline.runner import Run, run_stack

from .conftest import declared
from .helpers import make_record

PARENT = "urn:pulumi:test::insight::insight:platform:Platform$insight:platform:Foundations::foundations"


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def test_engine_urn_takes_the_whole_parent_chain_and_drops_the_root_stack():
    root = "urn:pulumi:test::insight::pulumi:pulumi:Stack::insight-test"
    assert engine_urn("test", "insight", "", ROOT_STACK_TYPE, "insight-test") == root
    assert engine_urn("test", "insight", root, "aws:ec2/vpc:Vpc", "vpc") == "urn:pulumi:test::insight::aws:ec2/vpc:Vpc::vpc"
    assert engine_urn("test", "insight", PARENT, "kubernetes:core/v1:Namespace", "apps") == (
        "urn:pulumi:test::insight::insight:platform:Platform$insight:platform:Foundations$kubernetes:core/v1:Namespace::apps"
    )


def test_every_recorded_urn_is_the_engines(run: Run):
    by_urn = run.by_urn()
    stack = run.one(ROOT_STACK_TYPE)
    assert stack.urn == f"urn:pulumi:{run.stack}::insight::{ROOT_STACK_TYPE}::insight-{run.stack}"
    for r in run.records:
        if r is stack:
            continue
        parent = by_urn[r.parent]
        expected = r.type if parent is stack else f"{qualified_type(parent.urn)}${r.type}"
        assert r.urn == f"urn:pulumi:{run.stack}::insight::{expected}::{r.name}"
        assert "pulumi:pulumi:Stack$" not in r.urn
    # The chain is whole below nested components, not just the parent's last type.
    policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "apps-default-deny")
    assert qualified_type(policy.urn) == (
        "insight:platform:Platform$insight:platform:Foundations$kubernetes:core/v1:Namespace$kubernetes:networking.k8s.io/v1:NetworkPolicy"
    )


def test_provider_references_name_recorded_providers(run: Run):
    """The SDK builds `<urn>::<id>` from the URN the monitor returned: each must name a provider of the run."""
    providers = {r.urn for r in run.records if r.type.startswith("pulumi:providers:")}
    refs = [ref for r in run.records for ref in (r.provider, *r.providers.values()) if ref]
    assert refs
    assert {ref.rsplit("::", 1)[0] for ref in refs} <= providers


# A small program: a component moved from one parent to another of another type, with children and grandchildren.
# (A URN holds types, not names: a move between two parents of one type leaves every URN as it was.)


class Group(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None, logs: int = 2, type_: str = "test:index:Group"):
        super().__init__(type_, name, None, opts)
        for i in range(logs):
            aws.cloudwatch.LogGroup(f"{name}-logs{i}", retention_in_days=7, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def moving_program(moved: bool, aliased: bool = False):
    def program() -> None:
        left, right = Group("left", logs=1, type_="test:index:Left"), Group("right", logs=1, type_="test:index:Right")
        aliases = [pulumi.Alias(parent=left)] if aliased else None
        inner = Group("inner", pulumi.ResourceOptions(parent=right if moved else left, aliases=aliases))
        Group("inner-nested", pulumi.ResourceOptions(parent=inner))

    return program


def descendants(records: list[Record], urn: str) -> set[str]:
    found: set[str] = set()
    todo = [urn]
    while todo:
        parent = todo.pop()
        kids = {r.urn for r in records if r.parent == parent}
        found |= kids
        todo += kids
    return found


def test_a_reparented_component_recreates_every_descendant():
    """The engine's URN carries the whole chain, so moving `inner` moves all five below it too.

    (The SDK's mock URN kept only the parent's last type: the four resources under `inner` kept their URN
    and the diff showed one component moved, not the five re-creations the engine does.)"""
    before = run_stack("test", program=moving_program(moved=False)).records
    after = run_stack("test", program=moving_program(moved=True)).records
    inner = next(r.urn for r in before if r.name == "inner")
    old = {inner, *descendants(before, inner)}
    assert len(old) == 6  # inner, its 2 log groups, inner-nested and its 2 log groups
    diff = diff_records("test", before, after)
    assert {c.urn for c in diff.of("remove")} == old
    assert {c.name for c in diff.of("add")} == {r.name for r in before if r.urn in old}
    assert not diff.of("update", "replace")


def test_the_same_move_with_an_alias_is_no_change():
    before = run_stack("test", program=moving_program(moved=False)).records
    after = run_stack("test", program=moving_program(moved=True, aliased=True)).records
    assert {r.urn for r in after} != {r.urn for r in before}  # it did move
    assert diff_records("test", before, after).summary() == "no changes"


def test_an_alias_to_a_urn_the_base_never_had_leaves_the_move_visible():
    """An alias only matches old state: aliasing the wrong old parent does not hide re-creation."""
    before = run_stack("test", program=moving_program(moved=False)).records
    after = run_stack("test", program=moving_program(moved=True, aliased=True)).records
    gone = "urn:pulumi:test::insight::test:index:Group::gone"
    wrong = [replace(r, aliases=[gone]) if r.name == "inner" else r for r in after]
    assert "inner" in {c.name for c in diff_records("test", before, wrong).of("remove")}


@contextmanager
def renamed_component_type(old: str, new: str, aliased: bool) -> Iterator[None]:
    """Declare the real program with one component type renamed (and, if `aliased`, aliased to its old type)."""
    original = pulumi.ComponentResource.__init__

    def init(self, t, name, props=None, opts=None, *args, **kwargs):
        if t == old:
            t = new
            if aliased:
                opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=old)]))
        original(self, t, name, props, opts, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi.ComponentResource, "__init__", init)
        yield


@pytest.mark.parametrize("aliased", [False, True])
def test_renaming_the_apps_component_type(aliased: bool):
    """Without an alias every resource under Apps is re-created (all their URNs carry the type); with one, nothing."""
    base = declared("test")
    apps = base.one("insight:apps:Apps")
    under_apps = {apps.urn, *descendants(base.records, apps.urn)}
    with renamed_component_type("insight:apps:Apps", "insight:apps:Applications", aliased):
        head = run_stack("test")
    diff = diff_records("test", base.records, head.records)
    if aliased:
        assert diff.summary() == "no changes"
        return
    assert len(under_apps) > 40
    assert {c.urn for c in diff.of("remove")} == under_apps
    assert len(diff.of("add")) == len(under_apps)
    assert not diff.of("update", "replace")


def test_references_to_an_aliased_resource_follow_it():
    """The engine rewrites references to a moved resource in its state: an input naming it is not a change."""
    old_urn, new_urn = (
        "urn:pulumi:test::insight::test:index:Left$kubernetes:core/v1:Namespace::apps",
        "urn:pulumi:test::insight::kubernetes:core/v1:Namespace::apps",
    )
    namespace = replace(make_record("apps", "kubernetes:core/v1:Namespace"), urn=old_urn)
    user = replace(
        make_record("cm", "kubernetes:core/v1:ConfigMap", inputs={"ns": {"$ref": old_urn}}),
        urn="urn:pulumi:test::insight::kubernetes:core/v1:ConfigMap::cm",
    )
    moved = replace(namespace, urn=new_urn, aliases=[old_urn])
    following = replace(user, inputs={"ns": {"$ref": new_urn}})
    assert diff_records("test", [namespace, user], [moved, following]).summary() == "no changes"
    # Without the alias it is a move: the old one goes, a new one comes, and the reference changes with it.
    diff = diff_records("test", [namespace, user], [replace(moved, aliases=[]), following])
    assert (len(diff.of("remove")), len(diff.of("add")), len(diff.of("update"))) == (1, 1, 1)
    # A resource still declared under the old URN keeps it: the alias matches nothing.
    assert diff_records("test", [namespace], [namespace, moved]).summary() == "+1 ~0 -0"
