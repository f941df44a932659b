"""Day 2 under the real engine: what `pulumi up` does with each common change, over two offline recordings.

Each test records the stack before and after one change and asks the offline diff (delivery/diff.py, with the
provider's replace rules in delivery/replace_rules.yaml, and delivery/rolls.py) what the engine and the Kubernetes
provider do with it. The README's day-2 table quotes these tests.
"""

import shutil
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from catalog import load_catalog
from components.program import declare
from delivery.diff import diff_records, providers_of, replace_paths
from delivery.rolls import rolls
from offline.recorder import Record
from offline.runner import Run, run_stack
from offline.stackfile import ROOT
from settings import STACKS, StackConfig, load_stack_config

from .conftest import declared, raw_sections
from .helpers import make_record

STACK = "test"


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    step: str  # add, remove, update, replace, delete-before-replace
    rolls: bool


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    def of(self, *steps: str) -> list[Step]:
        return [s for s in self.steps if s.step in steps]

    def step_of(self, name: str) -> str | None:
        return next((s.step for s in self.steps if s.name == name), None)


def plan(stack: str, base: list[Record], head: list[Record]) -> Plan:
    """The engine's steps for `head` over `base`, by the offline diff, with the workloads that roll."""
    diff = diff_records(stack, base, head)
    rolling = {r.urn for r in rolls(diff, head)}
    return Plan(
        tuple(
            Step(c.name, c.type, "delete-before-replace" if c.delete_before_replace else c.action, c.urn in rolling) for c in diff.changes
        )
    )


def provider_forces_replacement(record: Record, path: str, provider_inputs: dict[str, Any]) -> bool:
    """Whether a change at `path` replaces `record` under a Kubernetes provider with `provider_inputs`."""
    provider = make_record("k8s", "pulumi:providers:kubernetes", inputs=provider_inputs)
    paths = replace_paths(replace(record, provider=f"{provider.urn}::id"), providers_of([provider]))
    return any(path == p or path.startswith(f"{p}.") for p in paths)


WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")


def app_names(run: Run) -> set[str]:
    """The catalog services' workloads (children of an AppService)."""
    return {r.name for r in run.records if r.type in WORKLOADS and "insight:app_service:AppService$" in r.urn}


def with_services(edit: Any) -> Run:
    """The stack declared from a copy of services/ after `edit(services_dir)`: a real HOCON edit."""

    def program() -> None:
        cfg = load_stack_config()
        assert isinstance(cfg, StackConfig)
        declare(cfg, load_catalog(cfg.environment, copy_root))

    copy_root = Path(_tmp()) / "root"
    shutil.rmtree(copy_root, ignore_errors=True)
    shutil.copytree(ROOT / "services", copy_root / "services")
    edit(copy_root / "services")
    return run_stack(STACK, program=program)


@cache
def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="day2-")


def changed(base: Run, head: Run) -> Plan:
    return plan(STACK, base.records, head.records)


@cache
def hocon_edit() -> Plan:
    def edit(services: Path) -> None:
        defaults = services / "defaults.conf"
        defaults.write_text(defaults.read_text() + "\napp.insight.day2-marker = on\n")

    return changed(declared(STACK), with_services(edit))


def test_hocon_edit_updates_config_maps_in_place_and_rolls_every_app():
    result = hocon_edit()
    apps = app_names(declared(STACK))
    config_maps = [s for s in result.steps if s.type == "kubernetes:core/v1:ConfigMap"]
    assert {s.step for s in config_maps} == {"update"}, config_maps
    assert len(config_maps) == len(apps)
    workloads = [s for s in result.steps if s.name in apps]
    assert {s.name for s in workloads} == apps
    assert all(s.step == "update" and s.rolls for s in workloads), workloads
    assert not result.of("replace", "delete-before-replace", "remove")


def test_without_mutable_config_maps_a_hocon_edit_would_delete_the_services():
    """The provider rule the fix relies on: an unflagged provider deletes a named ConfigMap first."""
    config_map = make_record("api-config", "kubernetes:core/v1:ConfigMap", inputs={"metadata": {"name": "api-config"}})
    assert provider_forces_replacement(config_map, "data.application.conf", {})
    assert not provider_forces_replacement(config_map, "data.application.conf", {"enableConfigMapMutable": True})
    secret = make_record("s", "kubernetes:core/v1:Secret")
    assert provider_forces_replacement(secret, "stringData.password", {"enableConfigMapMutable": True})
    assert not provider_forces_replacement(secret, "stringData.password", {"enableSecretMutable": True})


def test_a_deleted_first_config_map_takes_its_readers_through_the_cascade():
    """Planted: on a provider without mutable ConfigMaps, a named ConfigMap is deleted before it is replaced, and the
    pod template taking its name as an Output is diffed with that input unknown (the engine's cascade). Whether the
    provider then replaces the Deployment is the offline diff's verdict (README, Known limits of the offline diff)."""
    provider = make_record("k8s", "pulumi:providers:kubernetes", inputs={})
    ref = f"{provider.urn}::id"
    config = make_record("cfg", "kubernetes:core/v1:ConfigMap", provider=ref, inputs={"metadata": {"name": "a"}, "data": {"k": "1"}})
    app = make_record(
        "app",
        "kubernetes:apps/v1:Deployment",
        provider=ref,
        inputs={"metadata": {"name": "a"}, "spec": {}},
        input_dependencies=[config.urn],
        property_dependencies={"spec": [config.urn]},
    )
    edited = make_record("cfg", "kubernetes:core/v1:ConfigMap", provider=ref, inputs={"metadata": {"name": "a"}, "data": {"k": "2"}})
    diff = diff_records(STACK, [provider, config, app], [provider, edited, app])
    [change] = diff.changes
    assert (change.name, change.delete_before_replace) == ("cfg", True)
    assert change.readers == (app.urn,)


def test_app_pod_templates_name_their_config_map_as_plain_text():
    run = declared(STACK)
    by_urn = run.by_urn()
    for record in run.records:
        if record.name in app_names(run):
            deps = {by_urn[u].type for u in record.input_dependencies if u in by_urn}
            assert "kubernetes:core/v1:ConfigMap" not in deps, record.name
            assert any(by_urn[u].type == "kubernetes:core/v1:ConfigMap" for u in record.dependencies if u in by_urn)


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_provider_sets_every_behaviour_explicitly(stack: str):
    """Both producers (EKS and a customer's cluster) make their provider alike: a ConfigMap change on-prem is an
    update in place, as on EKS, not a delete-then-create."""
    provider = declared(stack).one("pulumi:providers:kubernetes")
    inputs = provider.inputs
    assert inputs["clusterIdentifier"] == declared(stack).settings.cluster_name  # type: ignore[union-attr]
    for option in ("enableConfigMapMutable", "enableSecretMutable", "enableServerSideApply"):
        assert inputs[option] == "true", option  # provider options travel as JSON text
    assert inputs["deleteUnreachable"] == "false"


def with_sections(**sections: Any) -> Run:
    """The stack with some of its `insight:` sections changed (each merged into the stack file's own)."""
    raw = raw_sections(STACK)
    return run_stack(STACK, overrides={f"insight:{k}": raw[k] | v for k, v in sections.items()})


def test_image_version_updates_every_app_in_place_and_rolls_it():
    result = changed(declared(STACK), with_sections(release={"version": "1.4.1-SNAPSHOT"}))
    apps = app_names(declared(STACK))
    assert {s.name for s in result.steps if s.rolls} == apps
    assert not result.of("replace", "delete-before-replace", "remove", "add")


def test_secret_rotation_updates_the_secret_in_place():
    """A rotated value (another keyed digest) is an update of the Secret, never its deletion."""
    base = declared(STACK).records
    secret = next(r for r in base if r.type == "kubernetes:core/v1:Secret" and r.name.endswith("sentry"))
    rotated = replace(secret, inputs=secret.inputs, secret_digests={"stringData.dsn": "new"})
    secret = replace(secret, secret_digests={"stringData.dsn": "old"})
    result = plan(STACK, [secret if r.urn == secret.urn else r for r in base], [rotated if r.urn == secret.urn else r for r in base])
    assert [(s.name, s.step) for s in result.steps] == [(secret.name, "update")]


def test_reserved_pool_size_updates_the_node_group_in_place():
    pools = raw_sections(STACK)["nodePools"]
    reserved = pools["reserved"] | {"minSize": 3, "desiredSize": 3, "maxSize": 3}
    reserved["reservation"] = reserved["reservation"] | {"count": 3}
    result = changed(declared(STACK), with_sections(nodePools={"reserved": reserved}))
    assert {(s.type, s.step) for s in result.steps} >= {("eks:index:ManagedNodeGroup", "update")}
    assert not result.of("replace", "delete-before-replace", "remove")


def test_kubernetes_version_upgrades_the_cluster_in_place():
    result = changed(declared(STACK), with_sections(cluster={"kubernetesVersion": "1.35"}))
    assert result.step_of("cluster") == "update"
    assert not result.of("replace", "delete-before-replace", "remove")


def test_chart_values_update_the_chart_in_place():
    metrics = raw_sections(STACK)["platform"]["metrics"] | {"retentionDays": 14}
    result = changed(declared(STACK), with_sections(platform={"metrics": metrics}))
    assert [s.type for s in result.steps] == ["kubernetes:helm.sh/v4:Chart"]
    assert result.steps[0].step == "update"


def test_volume_size_leaves_the_statefulset_as_it_is():
    """Planted fault: without ignore_changes on volumeClaimTemplates the StatefulSet is deleted before replaced."""

    def edit(services: Path) -> None:
        indexer = services / "apps" / "indexer.conf"
        indexer.write_text(indexer.read_text().replace("sizeGib = 20", "sizeGib = 40"))

    result = changed(declared(STACK), with_services(edit))
    assert not result.steps, result.steps
