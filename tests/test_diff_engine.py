"""The offline diff decides as the engine and pulumi-kubernetes do: replace-on-change rules from data, the provider's
mutability options read from the recording, delete-before-replace of named objects and its cascade; what rolls."""

from dataclasses import replace

import pytest
import yaml

from delivery.diff import RULES, RULES_FILE, diff_records, has_rule, line_diff, render_markdown
from delivery.mermaid import change_graph
from delivery.rolls import rolls, rolls_section, update_seconds
from offline.recorder import Record

from .conftest import declared

K8S = "urn:pulumi:test::insight::pulumi:providers:kubernetes::k8s"


def k8s(name: str, type_: str, inputs: dict, **options) -> Record:
    return Record(
        urn=f"urn:pulumi:test::insight::{type_}::{name}",
        type=type_,
        name=name,
        parent="",
        custom=True,
        remote=False,
        provider=options.pop("provider", f"{K8S}::id"),
        providers={},
        inputs=inputs,
        dependencies=sorted({u for urns in options.get("property_dependencies", {}).values() for u in urns}),
        protect=False,
        retain_on_delete=False,
        **options,
    )


def provider(**options: str) -> Record:
    return replace(k8s("k8s", "pulumi:providers:kubernetes", {"enableServerSideApply": "true", **options}), urn=K8S, provider="")


CONFIG = k8s("app-config", "kubernetes:core/v1:ConfigMap", {"metadata": {"name": "app-config", "namespace": "apps"}, "data": {"a": "1"}})
DEPLOYMENT = k8s(
    "app",
    "kubernetes:apps/v1:Deployment",
    {"metadata": {"name": "app"}, "spec": {"template": {"metadata": {"annotations": {"insight.io/config-hash": "h1"}}}}},
    property_dependencies={"spec": [CONFIG.urn]},
)
# A ConfigMap whose data carries an output of the first: the engine marks its `data` unknown, which forces a replacement.
DERIVED = k8s(
    "derived",
    "kubernetes:core/v1:ConfigMap",
    {"metadata": {"name": "derived"}, "data": {"from": "app-config"}},
    property_dependencies={"data": [CONFIG.urn]},
)


def stack(*, mutable: bool, data: str, hash_: str) -> list[Record]:
    options = {"enableConfigMapMutable": "true"} if mutable else {}
    config = replace(CONFIG, inputs={**CONFIG.inputs, "data": {"a": data}})
    template = {"template": {"metadata": {"annotations": {"insight.io/config-hash": hash_}}}}
    return [provider(**options), config, replace(DEPLOYMENT, inputs={**DEPLOYMENT.inputs, "spec": template}), DERIVED]


@pytest.mark.parametrize("mutable", [True, False])
def test_flipping_configmap_mutability_turns_an_update_into_delete_before_replace_with_its_cascade(mutable):
    diff = diff_records("test", stack(mutable=mutable, data="1", hash_="h1"), stack(mutable=mutable, data="2", hash_="h2"))
    actions = {c.name: (c.action, c.delete_before_replace, c.cascade_from) for c in diff.changes}
    markdown = render_markdown(diff, "base")
    if mutable:
        assert actions == {"app-config": ("update", False, ""), "app": ("update", False, "")}
        assert "delete, then replace" not in markdown
        return
    assert actions == {
        "app-config": ("replace", True, ""),
        "app": ("update", False, ""),  # its `spec` goes unknown, but only spec.selector replaces a Deployment
        "derived": ("replace", True, CONFIG.urn),  # its `data` goes unknown, and data replaces a ConfigMap
    }
    assert "Cascade: replaced with it: `derived`. Read its outputs and are kept" in markdown
    assert "its provider does not set `enableConfigMapMutable`" in markdown


def test_an_immutable_configmap_is_replaced_even_when_its_provider_lets_configmaps_mutate():
    base = stack(mutable=True, data="1", hash_="h1")
    head = stack(mutable=True, data="2", hash_="h1")
    base[1] = replace(base[1], inputs={**base[1].inputs, "immutable": True})
    head[1] = replace(head[1], inputs={**head[1].inputs, "immutable": True})
    (change,) = [c for c in diff_records("test", base, head).changes if c.name == "app-config"]
    assert (change.action, change.delete_before_replace) == ("replace", True)


def test_a_renamed_object_is_created_before_the_old_one_goes():
    renamed = replace(CONFIG, inputs={**CONFIG.inputs, "metadata": {"name": "app-config-v2", "namespace": "apps"}})
    (change,) = diff_records("test", [provider(), CONFIG], [provider(), renamed]).changes
    assert (change.action, change.delete_before_replace) == ("replace", False)


def test_the_mutability_option_is_read_from_the_real_recorded_provider():
    """On the recorded prod stack: one ConfigMap line changed, its provider's recorded inputs flipped."""
    records = declared("prod").records
    (config,) = [r for r in records if r.name == "web-config"]
    text = config.inputs["data"]["application.conf"]
    edited = replace(
        config, inputs={**config.inputs, "data": {"application.conf": text.replace("web {", "web {\n    timeoutMs = 2500", 1)}}
    )
    head = [edited if r is config else r for r in records]

    def flipped(rs: list[Record]) -> list[Record]:
        return [
            replace(r, inputs={**r.inputs, "enableConfigMapMutable": "false"}) if r.type == "pulumi:providers:kubernetes" else r for r in rs
        ]

    # As the program sets its provider (mutable ConfigMaps): an update in place.
    (recorded,) = diff_records("prod", records, head).changes
    assert (recorded.action, recorded.delete_before_replace) == ("update", False)
    # The option flipped off: the named ConfigMap is deleted before it is replaced, and nothing reads its outputs
    # (the pod template names it as a plain string), so the cascade takes nothing with it.
    (fixed,) = diff_records("prod", flipped(records), flipped(head)).changes
    assert (fixed.action, fixed.delete_before_replace) == ("replace", True)
    assert fixed.readers == ()
    markdown = render_markdown(diff_records("prod", records, head), "base")
    assert "+    timeoutMs = 2500" in markdown  # the changed line, whole, deep in the rendered file


def test_a_provider_replacement_replaces_what_it_manages():
    old, new = (
        provider(),
        replace(provider(), inputs={"kubeconfig": "other"}, replace_on_changes=["kubeconfig"], delete_before_replace=True),
    )
    diff = diff_records("test", [old, CONFIG], [new, CONFIG])
    assert {c.name: c.cascade_inputs for c in diff.changes if c.cascade_from} == {"app-config": ("(provider)",)}


def test_line_diff_shows_a_changed_line_deep_in_a_long_text_whole():
    before = "\n".join(f"line {i} " + "x" * 100 for i in range(200))
    after = before.replace("line 150 ", "line 150 changed ")
    diff = line_diff(before, after)
    assert f"+line 150 changed {'x' * 100}" in diff
    assert f"-line 150 {'x' * 100}" in diff
    assert "line 10 " not in diff  # only the context around the change


def test_what_rolls_and_why():
    diff = diff_records("test", stack(mutable=True, data="1", hash_="h1"), stack(mutable=True, data="2", hash_="h2"))
    head = stack(mutable=True, data="2", hash_="h2")
    (roll,) = rolls(diff, head)
    assert (roll.name, roll.replaced, roll.why) == ("app", False, ("config (hash annotation)", "reads changed `app-config`"))
    assert update_seconds(diff, head) > 0
    assert "- `app` (`Deployment`) rolls: config (hash annotation)" in rolls_section(diff, head)
    # A change outside the pod template (a planted label) rolls nothing.
    labelled = [
        replace(r, inputs={**r.inputs, "metadata": {"name": "app", "labels": {"x": "y"}}}) if r.name == "app" else r
        for r in stack(mutable=True, data="1", hash_="h1")
    ]
    assert rolls(diff_records("test", stack(mutable=True, data="1", hash_="h1"), labelled), labelled) == []


def test_the_change_graph_draws_the_changed_resources_and_their_neighbours_only():
    records = declared("prod").records
    (config,) = [r for r in records if r.name == "web-config"]
    head = [replace(r, inputs={**r.inputs, "data": {"application.conf": "changed"}}) if r is config else r for r in records]
    graph = change_graph(diff_records("prod", records, head), records, head)
    assert '["web-config<br/>ConfigMap<br/><b>update</b>"]:::update' in graph
    assert '["web-deployment<br/>Deployment"]:::neighbour' in graph
    assert "api-gateway" not in graph and "Cluster" not in graph


def test_every_recorded_type_has_a_rule_or_is_listed_as_unknown():
    unknown = set(yaml.safe_load(RULES_FILE.read_text())["unknown"])
    for stack_name in ("test", "staging", "prod"):
        for r in declared(stack_name).records:
            if r.custom or r.remote:
                assert has_rule(r.type) or r.type in unknown, f"{r.type}: no row in {RULES_FILE.name} and not listed as unknown"
    # The judge fails on a planted gap: without the Kubernetes rows, a ConfigMap has no rule.
    assert not has_rule("kubernetes:core/v1:ConfigMap", [rule for rule in RULES if not rule.type.startswith("kubernetes:")])
    assert all(rule.source in yaml.safe_load(RULES_FILE.read_text())["sources"] for rule in RULES)
