"""Pod Security admission judge: every pod each stack makes is admitted at its namespace's level; the judge
itself is shown rejecting planted faults."""

import copy

import pytest

from judges.admission import rejected
from judges.facts import facts, install_rows, operator_rows, pod_of_custom_resource
from judges.pod_security import violations
from judges.stack import Pod, stack_pods
from offline.manifests import manifests
from offline.runner import Run
from settings import versions


def test_every_pod_is_admitted(run: Run) -> None:
    pods, unknown = stack_pods(run)
    assert not unknown
    assert not rejected(pods, manifests(run))


def test_the_judge_sees_every_kind_of_pod(run: Run) -> None:
    origins = " ".join(p.origin for p in stack_pods(run)[0])
    for kind in ("/Deployment/", "/StatefulSet/", "/CronJob/", "/Job/", "/Elasticsearch/", "/Kibana/", "/Logstash/", "chart ", "manifest "):
        assert kind in origins


def test_every_pinned_version_has_fact_rows() -> None:
    charts = [v for v in vars(versions).values() if isinstance(v, versions.Chart)]
    missing = [f"{c.name} {c.version}" for c in charts if not install_rows("chart", c.name, c.version)]
    if not install_rows("manifest", "rabbitmq-cluster-operator", versions.RABBITMQ_OPERATOR_VERSION):
        missing.append(f"rabbitmq-cluster-operator {versions.RABBITMQ_OPERATOR_VERSION}")
    assert not missing, f"pinned versions without rows in judges/facts/pods.yaml: {missing}"


def test_every_operator_row_is_for_a_pinned_operator_version() -> None:
    pinned = {c.name: c.version for c in vars(versions).values() if isinstance(c, versions.Chart)}
    pinned["rabbitmq-cluster-operator"] = versions.RABBITMQ_OPERATOR_VERSION
    for row in facts()["operators"]:
        cr = row["custom_resource"]
        assert pinned[cr["operator"]] == str(cr["version"]), f"{cr['kind']}: facts for {cr['version']}, pinned {pinned[cr['operator']]}"


def test_every_row_cites_its_upstream_source() -> None:
    for row in facts()["installs"] + facts()["operators"]:
        assert {"repository", "tag", "path"} <= set(row["source"]), row


def _restricted_namespace(run: Run, namespace: str) -> list[dict]:
    return [o for o in manifests(run) if o["kind"] == "Namespace" and o["metadata"]["name"] == namespace]


def test_planted_container_without_seccomp_in_a_restricted_namespace_is_rejected(run: Run) -> None:
    zipkin = next(o for o in manifests(run) if o["kind"] == "Deployment" and o["metadata"]["name"] == "zipkin")
    spec = copy.deepcopy(zipkin["spec"]["template"]["spec"])
    assert not violations(spec, "restricted")
    spec["securityContext"].pop("seccompProfile")
    spec["containers"][0]["securityContext"].pop("seccompProfile")
    pod = Pod("planted", "tracing", spec, {})
    assert any("seccompProfile" in line for line in rejected([pod], _restricted_namespace(run, "tracing")))


@pytest.mark.parametrize(
    ("fault", "level"),
    [
        ({"hostNetwork": True}, "baseline"),
        ({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, "baseline"),
        ({"containers": [{"name": "c", "securityContext": {"privileged": True}}]}, "baseline"),
        ({"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}, "baseline"),
        ({"containers": [{"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}, "baseline"),
        ({"containers": [{"name": "c", "securityContext": {}}]}, "restricted"),
    ],
)
def test_planted_faults_are_rejected_at_their_level(fault: dict, level: str) -> None:
    assert violations(fault, level)
    assert not violations(fault, "privileged")


def test_an_operator_added_init_container_is_judged_unless_overridden_by_name() -> None:
    (kibana,) = operator_rows("Kibana")
    restricted_pod = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}
    bare = pod_of_custom_resource(kibana, {**restricted_pod, "containers": [{"name": "kibana", "securityContext": {}}]})
    assert any("elastic-internal-init" in v for v in violations(bare, "restricted"))
