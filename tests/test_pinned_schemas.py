"""Versions and schemas move together, and every value the program gives a Helm chart is one that chart version knows.

The judges read schemas/ (derived by tools/derive_schemas.py from the upstream files of exactly the pinned
versions); a pin bumped without re-deriving fails here, naming the pin.
"""

import json
import re
from typing import Any

import pytest

from offline.runner import Run
from settings import STACKS, versions
from tests.conftest import declared
from tests.pinned_schemas import SCHEMAS, chart_values, missing_schemas

HELM_CHART = "kubernetes:helm.sh/v4:Chart"

# Keys a chart reads that its values.yaml does not list (or lists as an example only): (chart, key path) -> why allowed.
# A key path allows everything below it.
UNLISTED_VALUES: dict[tuple[str, str], str] = {
    ("cluster-autoscaler", "extraArgs"): "free-form: values.yaml (9.50.1) calls it additional container arguments,"
    " any cluster-autoscaler flag; the keys it lists, and those commented out, are examples",
    ("kube-prometheus-stack", "prometheus-node-exporter"): "values of the subchart prometheus-node-exporter 4.47.3"
    " (Chart.yaml dependencies, 77.6.2); that chart's values.yaml is not among the derived files, so not judged here",
    ("kube-prometheus-stack", "grafana.admin"): "values of the subchart grafana 9.4.5 (Chart.yaml dependencies,"
    " 77.6.2: admin.existingSecret, userKey, passwordKey); that chart's values.yaml is not among the derived files",
    ("eck-operator", "podSecurityContext.seccompProfile"): "templates/statefulset.yaml (3.1.0) renders"
    " podSecurityContext whole (toYaml) as the operator pod's securityContext; values.yaml lists only runAsNonRoot",
    ("metrics-server", "resources.limits"): "templates/deployment.yaml (3.13.1) renders resources whole (toYaml);"
    " values.yaml lists only requests",
    ("mongodb-kubernetes", "operator.watchNamespace"): "read by helm_chart/templates/operator.yaml (1.3.0: the"
    " WATCH_NAMESPACE env) though values.yaml does not list it",
}


def kind_of(value: Any) -> str:
    return "map" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"


def value_problems(chart: str, values: dict[str, Any], tree: dict[str, Any], path: str = "") -> list[str]:
    """One line per key the chart version does not know, or whose kind differs from what values.yaml gives."""
    problems = []
    known = tree.get("keys", {})
    for key, value in values.items():
        key_path = f"{path}.{key}" if path else key
        if (chart, key_path) in UNLISTED_VALUES:
            continue
        if key not in known:
            # A map that values.yaml leaves empty ({}) is free-form: labels, annotations, resources, selectors.
            if tree["kind"] == "map" and known:
                problems.append(f"{key_path}: not a key of the chart (known here: {', '.join(sorted(known))})")
            continue
        expected = known[key]["kind"]
        if expected is not None and expected != kind_of(value):
            problems.append(f"{key_path}: a {kind_of(value)} where the chart has a {expected}")
        elif isinstance(value, dict):
            problems.extend(value_problems(chart, value, known[key], key_path))
    return problems


def chart_problems(run: Run) -> list[str]:
    problems = []
    for record in run.of_type(HELM_CHART):
        chart, version = record.inputs["chart"], record.inputs["version"]
        derived = chart_values(versions.Chart(chart, version, ""))
        if derived is None:
            problems.append(f"{record.name}: chart {chart} {version} has no derived values in schemas/")
            continue
        problems += [f"{chart} {version} {line}" for line in value_problems(chart, record.inputs.get("values", {}), derived["values"])]
    return problems


def test_every_chart_value_is_a_known_key_of_the_pinned_chart_version(run: Run) -> None:
    assert run.of_type(HELM_CHART)
    assert chart_problems(run) == []


def test_a_misspelled_or_moved_chart_value_fails_naming_chart_version_and_key() -> None:
    tree = chart_values(versions.AWS_LOAD_BALANCER_CONTROLLER)
    assert tree is not None
    lbc = versions.AWS_LOAD_BALANCER_CONTROLLER.name
    misspelled = {"clusterName": "c", "serviceAccount": {"create": True, "anotations": {}}}
    assert value_problems(lbc, misspelled, tree["values"]) == [
        "serviceAccount.anotations: not a key of the chart (known here: annotations, automountServiceAccountToken, create, imagePullSecrets, name)"
    ]
    moved = {"clusterName": "c", "roleArn": "arn"}  # belongs under serviceAccount.annotations
    assert [p.split(" (")[0] for p in value_problems(lbc, moved, tree["values"])] == ["roleArn: not a key of the chart"]
    wrong_kind = {"replicaCount": {"min": 2}}
    assert value_problems(lbc, wrong_kind, tree["values"]) == ["replicaCount: a map where the chart has a scalar"]


def test_a_chart_problem_names_chart_and_version(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    record = run.one(HELM_CHART, "platform-logging-eck-operator")
    monkeypatch.setitem(record.inputs, "values", {**record.inputs["values"], "managedNamespace": ["logging"]})
    assert [p.split(" (")[0] for p in chart_problems(run)] == ["eck-operator 3.1.0 managedNamespace: not a key of the chart"]


def test_every_pinned_version_has_its_derived_schema() -> None:
    assert missing_schemas() == []


def test_a_pin_bumped_without_its_schema_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "ECK_OPERATOR", versions.Chart("eck-operator", "3.2.0", "https://helm.elastic.co"))
    monkeypatch.setattr(versions, "RABBITMQ_OPERATOR_VERSION", "2.17.0")
    assert missing_schemas() == [
        "settings/versions.py ECK_OPERATOR: chart eck-operator 3.2.0 has no schemas/*/3.2.0/values.json",
        "settings/versions.py ECK_OPERATOR 3.2.0: no CRD schema for Elasticsearch, Kibana, Logstash in schemas/(no eck-operator 3.2.0)",
        "settings/versions.py RABBITMQ_OPERATOR_VERSION 2.17.0: no CRD schema for RabbitmqCluster"
        " in schemas/rabbitmq-cluster-operator/2.17.0",
    ]


def test_derived_files_name_their_upstream_source_and_carry_no_prose() -> None:
    files = sorted(SCHEMAS.rglob("*.json"))
    assert len(files) > 20
    for path in files:
        data = json.loads(path.read_text())
        sources = data["provenance"] if isinstance(data["provenance"], list) else [data["provenance"]]
        for source in sources:
            assert re.fullmatch(r"[0-9a-f]{40}", source["blob"]) and re.fullmatch(r"[0-9a-f]{40}", source["commit"]), path
            assert source["project"] and source["path"] and source["tag"], path
        # A field may be *named* description; a schema node's "description": "<text>" would be upstream prose.
        assert not re.search(r'"description": "', path.read_text()), path


def test_every_allowed_unlisted_key_is_one_the_program_sets() -> None:
    """An allowance outliving the value it excused would silently excuse a future typo."""
    set_paths: set[tuple[str, str]] = set()

    def walk(chart: str, values: dict[str, Any], path: str = "") -> None:
        for key, value in values.items():
            set_paths.add((chart, f"{path}.{key}" if path else key))
            if isinstance(value, dict):
                walk(chart, value, f"{path}.{key}" if path else key)

    for stack in STACKS:
        for record in declared(stack).of_type(HELM_CHART):
            walk(record.inputs["chart"], record.inputs.get("values", {}))
    assert set(UNLISTED_VALUES) - set_paths == set()
