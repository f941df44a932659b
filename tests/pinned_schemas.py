"""The derived upstream structure (schemas/, written by tools/derive_schemas.py) for exactly the pinned versions.

Only the repository is read. Each pin in settings/versions.py names the folder its schemas must come from;
a pin without a folder of exactly its version is a problem, never a silent fallback to another version.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

from offline.stackfile import ROOT
from settings import versions

SCHEMAS = ROOT / "schemas"
Tree = dict[str, Any]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@cache
def _charts() -> dict[tuple[str, str], Path]:
    """(chart name, chart version) -> its derived values.json, for every chart version in schemas/."""
    found = {}
    for path in SCHEMAS.glob("*/*/values.json"):
        data = _load(path)
        found[(data["chart"], data["version"])] = path
    return found


def chart_values(chart: versions.Chart) -> dict[str, Any] | None:
    """The derived values tree of exactly this chart version, or None when it was not derived."""
    path = _charts().get((chart.name, chart.version))
    return _load(path) if path else None


def pinned_charts() -> list[tuple[str, versions.Chart]]:
    """Every Helm chart pinned in settings/versions.py (read at call time, so a test can patch a pin)."""
    return [(name, pin) for name, pin in vars(versions).items() if isinstance(pin, versions.Chart)]


def _operator_of(chart: versions.Chart) -> str:
    """The app version a chart installs (kube-prometheus-stack's appVersion is the prometheus-operator tag)."""
    values = chart_values(chart)
    return values["appVersion"].removeprefix("v") if values else f"(appVersion of {chart.name} {chart.version})"


def _folder_of(chart: versions.Chart) -> Path:
    path = _charts().get((chart.name, chart.version))
    return path.parent if path else SCHEMAS / f"(no {chart.name} {chart.version})"


def crd_sources() -> dict[str, tuple[Path, set[str]]]:
    """Pin -> (folder of the CRDs that pinned version installs, kinds the program needs from it)."""
    return {
        # Each operator chart installs the CRDs of its own release.
        f"ECK_OPERATOR {versions.ECK_OPERATOR.version}": (
            _folder_of(versions.ECK_OPERATOR),
            {"Elasticsearch", "Kibana", "Logstash"},
        ),
        f"MONGODB_OPERATOR {versions.MONGODB_OPERATOR.version}": (_folder_of(versions.MONGODB_OPERATOR), {"MongoDBCommunity"}),
        # The pinned release manifest (a CI-built asset, not in git) carries the CRD of the same tag's config/crd.
        f"RABBITMQ_OPERATOR_VERSION {versions.RABBITMQ_OPERATOR_VERSION}": (
            SCHEMAS / "rabbitmq-cluster-operator" / versions.RABBITMQ_OPERATOR_VERSION,
            {"RabbitmqCluster"},
        ),
        # kube-prometheus-stack installs the CRDs of the prometheus-operator release its appVersion names.
        f"KUBE_PROMETHEUS_STACK {versions.KUBE_PROMETHEUS_STACK.version}": (
            SCHEMAS / "prometheus-operator" / _operator_of(versions.KUBE_PROMETHEUS_STACK),
            {"ServiceMonitor", "PodMonitor", "PrometheusRule"},
        ),
    }


def _crds_in(folder: Path) -> list[dict[str, Any]]:
    return [data for path in sorted(folder.glob("*.json")) if "group" in (data := _load(path))]


def missing_schemas() -> list[str]:
    """One line per pinned version whose derived schema of exactly that version is not in schemas/."""
    problems = [
        f"settings/versions.py {name}: chart {pin.name} {pin.version} has no schemas/*/{pin.version}/values.json"
        for name, pin in pinned_charts()
        if chart_values(pin) is None
    ]
    for pin, (folder, kinds) in crd_sources().items():
        derived = {crd["kind"] for crd in _crds_in(folder)}
        if lacking := sorted(kinds - derived):
            problems.append(f"settings/versions.py {pin}: no CRD schema for {', '.join(lacking)} in {folder.relative_to(ROOT)}")
    return problems


@cache
def crd_schemas() -> dict[tuple[str, str], Tree]:
    """(apiVersion, kind) -> structural schema, from the CRDs of the pinned operator versions only."""
    schemas = {}
    for folder, _ in crd_sources().values():
        for crd in _crds_in(folder):
            for version, schema in crd["versions"].items():
                schemas[(f"{crd['group']}/{version}", crd["kind"])] = schema
    return schemas
