"""Day 2 under the real engine (issue 19, findings 2, 3, 8, 9): charts that converge and run without hooks,
secret and config changes that roll their consumers, add-ons pinned per Kubernetes minor."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.k8s.platform import metrics
from offline.runner import run_stack
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
    kept = transformed("kubernetes:core/v1:ConfigMap", "platform-metrics-datadog:monitoring/platform-metrics-datadog-kpi-telemetry-configmap")
    assert kept is not None and kept.opts is not None and kept.opts.ignore_changes == ["data"]
    assert transformed("kubernetes:core/v1:ConfigMap", "platform-metrics-datadog:monitoring/datadog-confd") is None
    assert transformed("kubernetes:core/v1:Secret", "x-kpi-telemetry-configmap") is None
