"""Day 2 under the real engine (issue 19, findings 2, 3, 8, 9): charts that converge and run without hooks,
secret and config changes that roll their consumers, add-ons pinned per Kubernetes minor."""

import json
import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.k8s.platform import metrics
from components.k8s.platform.secrets import CONFIG_HASH_ANNOTATION, SECRETS_HASH_ANNOTATION, config_digest
from offline import mocks
from offline.runner import run_stack
from offline.stackfile import ROOT
from settings import versions
from tests.conftest import declared

CHART = "kubernetes:helm.sh/v4:Chart"


def chart_values(stack_run: Any) -> dict[str, Any]:
    return {r.name: r.inputs["values"] for r in stack_run.of_type(CHART)}


def test_an_unchanged_stack_renders_the_same_chart_values_twice_and_datadog_reads_a_stored_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding 3: no fresh random inside any chart's values; the cluster-agent token is a stored secret and the
    chart's per-render telemetry ConfigMap is kept as first created."""
    chart_opts: dict[str, pulumi.ResourceOptions] = {}

    class SpyChart(k8s.helm.v4.Chart):
        def __init__(self, name: str, *args: Any, opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
            chart_opts[name] = opts or pulumi.ResourceOptions()
            super().__init__(name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(k8s.helm.v4, "Chart", SpyChart)
    again = run_stack("prod")
    assert chart_values(again) == chart_values(declared("prod"))

    datadog = again.one(CHART, "platform-metrics-datadog").inputs["values"]["clusterAgent"]
    assert "token" not in datadog
    token = [r for r in again.of_type("kubernetes:core/v1:Secret") if r.name.endswith(datadog["tokenExistingSecret"])]
    assert [t.inputs["stringData"] for t in token] == [{"token": "[secret]"}]  # the chart's key, masked as a secret
    assert metrics.keep_first_telemetry in (chart_opts["platform-metrics-datadog"].transforms or [])


def transformed(type_: str, name: str) -> pulumi.ResourceTransformResult | None:
    return metrics.keep_first_telemetry(pulumi.ResourceTransformArgs(True, type_, name, {}, pulumi.ResourceOptions()))


def test_only_the_telemetry_configmap_keeps_its_first_data() -> None:
    kept = transformed(
        "kubernetes:core/v1:ConfigMap", "platform-metrics-datadog:monitoring/platform-metrics-datadog-kpi-telemetry-configmap"
    )
    assert kept is not None and kept.opts is not None and kept.opts.ignore_changes == ["data"]
    assert transformed("kubernetes:core/v1:ConfigMap", "platform-metrics-datadog:monitoring/datadog-confd") is None
    assert transformed("kubernetes:core/v1:Secret", "x-kpi-telemetry-configmap") is None


HOOK_FACTS = json.loads((ROOT / "schemas" / "chart-hooks.json").read_text())["charts"]


def hooks_left_on(chart: str, facts: dict[str, Any], switches: dict[str, dict[str, bool]]) -> list[str]:
    """Hook templates of `chart` whose `if` guards name none of the program's switches for it. A template in a
    bundled subchart (`charts/<sub>/templates/`) reads the subchart's values: `<sub>.x` in the parent is `.x` there."""
    left = []
    for template in facts[chart]["hook_templates"]:
        sub = template["path"].split("/charts/")[1].split("/")[0] if "/charts/" in template["path"] else None
        paths = [p.removeprefix(f"{sub}.") if sub and p.startswith(f"{sub}.") else p for p in switches.get(chart, {})]
        if not any(f".Values.{p}" in guard for guard in template["guards"] for p in paths):
            left.append(template["path"])
    return left


def value_at(values: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        values = values.get(key, {}) if isinstance(values, dict) else {}
    return values


def test_every_hook_template_of_every_installed_chart_is_switched_off(run: Any) -> None:
    """Finding 2: helm.v4.Chart runs no hooks, so each chart's values turn off every hook template (facts derived
    at the pinned tag by tools/derive_chart_hooks.py) and what depends on them."""
    installed = {r.inputs["chart"]: r.inputs for r in run.of_type(CHART)}
    for chart, inputs in installed.items():
        assert HOOK_FACTS[chart]["version"] == inputs["version"], f"{chart}: hook facts not derived for {inputs['version']}"
        assert hooks_left_on(chart, HOOK_FACTS, metrics.HOOK_SWITCHES) == [], chart
        for path, off in metrics.HOOK_SWITCHES.get(chart, {}).items():
            assert value_at(inputs["values"], path) is off, f"{chart} {path}"


def test_a_hook_template_no_switch_covers_is_named() -> None:
    assert hooks_left_on("kube-prometheus-stack", HOOK_FACTS, metrics.HOOK_SWITCHES) == []
    without_crds = {
        "kube-prometheus-stack": {k: v for k, v in metrics.HOOK_SWITCHES["kube-prometheus-stack"].items() if not k.startswith("crds.")}
    }
    assert hooks_left_on("kube-prometheus-stack", HOOK_FACTS, without_crds) == [
        t["path"] for t in HOOK_FACTS["kube-prometheus-stack"]["hook_templates"] if "/charts/crds/" in t["path"]
    ]
    assert hooks_left_on("datadog", HOOK_FACTS, {}) == ["charts/datadog/templates/gke_autopilot_allowlist_synchronizer.yaml"]


def test_hook_facts_cover_every_pinned_chart_at_its_version() -> None:
    for chart in (versions.KUBE_PROMETHEUS_STACK, versions.DATADOG, versions.ECK_OPERATOR, versions.MONGODB_OPERATOR,
                  versions.AWS_LOAD_BALANCER_CONTROLLER, versions.CLUSTER_AUTOSCALER, versions.METRICS_SERVER):  # fmt: skip
        facts = HOOK_FACTS[chart.name]
        assert facts["version"] == chart.version and facts["provenance"]["commit"], chart.name


def rolled(stack_run: Any) -> dict[str, Any]:
    """Per Redis workload its pod annotations, and the RabbitMQ user Job's name."""
    found: dict[str, Any] = {
        r.name: r.inputs["spec"]["template"]["metadata"]["annotations"]
        for r in stack_run.of_type("kubernetes:apps/v1:StatefulSet") + stack_run.of_type("kubernetes:apps/v1:Deployment")
        if r.name.startswith("platform-redis-")
    }
    found["rabbitmq-user-job"] = stack_run.one("kubernetes:batch/v1:Job", "platform-messaging-rabbitmq-user").inputs["metadata"]["name"]
    return found


def test_a_rotated_password_rolls_redis_and_reruns_the_rabbitmq_user_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 8 (platform part): the digest of each consumed password sits in the consumer's pod template (in
    plain text, never the value), and the RabbitMQ user Job is a new Job per password."""
    before = rolled(declared("test"))
    assert set(before) == {"platform-redis-redis", "platform-redis-redis-proxy", "rabbitmq-user-job"}
    for annotations in (before["platform-redis-redis"], before["platform-redis-redis-proxy"]):
        assert re.fullmatch(r"[0-9a-f]{16}", annotations[SECRETS_HASH_ANNOTATION])
        assert re.fullmatch(r"[0-9a-f]{16}", annotations[CONFIG_HASH_ANNOTATION])

    canned = mocks.CANNED["random:index/randomPassword:RandomPassword"]
    monkeypatch.setitem(
        mocks.CANNED, "random:index/randomPassword:RandomPassword", lambda ctx, a: {"result": f"rotated-{canned(ctx, a)['result']}"}
    )
    after = rolled(run_stack("test"))
    for workload in ("platform-redis-redis", "platform-redis-redis-proxy"):
        assert after[workload][SECRETS_HASH_ANNOTATION] != before[workload][SECRETS_HASH_ANNOTATION], workload
        assert after[workload][CONFIG_HASH_ANNOTATION] == before[workload][CONFIG_HASH_ANNOTATION], workload
    assert after["rabbitmq-user-job"] != before["rabbitmq-user-job"]
    assert before["rabbitmq-user-job"].startswith("rabbitmq-user-")


def test_the_redis_config_hash_follows_the_config_map() -> None:
    config = declared("test").one("kubernetes:core/v1:ConfigMap", "platform-redis-redis").inputs["data"]
    assert rolled(declared("test"))["platform-redis-redis"][CONFIG_HASH_ANNOTATION] == config_digest(config)
    assert config_digest({**config, "haproxy.cfg": config["haproxy.cfg"] + "\n"}) != config_digest(config)
