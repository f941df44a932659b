"""Every rendered manifest validates: built-in kinds against the cluster version's strict Kubernetes schema,
custom resources against their upstream CRD schema with unknown fields rejected (the API server would prune them)."""

import json
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest

from offline.manifests import manifests
from offline.runner import Run
from settings import STACKS
from tests.conftest import declared, raw_sections
from tests.pinned_schemas import SCHEMAS, crd_schemas

PRESERVE = "x-kubernetes-preserve-unknown-fields"
# kubernetes-validate re-reads its (large) definitions file on every call; the files never change in a run.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)


def closed(schema: Any) -> Any:
    """The CRD's structural schema with `additionalProperties: false` wherever it lists properties."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: closed(v) for k, v in schema.items()}
    if "properties" in schema and not schema.get(PRESERVE) and "additionalProperties" not in schema:
        result["additionalProperties"] = False
    return result


@cache
def validator(api_version: str, kind: str) -> jsonschema.Draft7Validator | None:
    schema = crd_schemas().get((api_version, kind))
    if schema is None:
        return None
    schema = closed(schema)
    # metadata is the API server's (ObjectMeta), not the CRD's to describe.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def crd_errors(obj: dict[str, Any]) -> list[str]:
    check = validator(obj["apiVersion"], obj["kind"])
    if check is None:
        return [f"no CRD schema for {obj['apiVersion']} {obj['kind']} among the pinned operators' CRDs in schemas/"]
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(obj)]


def builtin_errors(obj: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{'.'.join(map(str, err.path))}: {err.message}"]
    return []


def is_builtin(obj: dict[str, Any]) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return "/" not in obj["apiVersion"] or group.endswith(".k8s.io") or group in {"apps", "batch", "policy", "autoscaling"}


def kubernetes_version(stack: str) -> str:
    sections = raw_sections(stack)
    return (sections["onprem"] if stack == "onprem" else sections["cluster"])["kubernetesVersion"]


@pytest.fixture(params=STACKS)
def any_run(request: pytest.FixtureRequest) -> Run:
    """Every stack, the customer's cluster (onprem) among them: its manifests pass the same judges."""
    return declared(request.param)


def test_every_builtin_manifest_is_valid_for_the_cluster_version(any_run: Run) -> None:
    run = any_run
    version = kubernetes_version(run.stack)
    objects = [o for o in manifests(run) if is_builtin(o)]
    assert len(objects) > 50
    problems = {f"{o['kind']}/{o['metadata']['name']}": e for o in objects if (e := builtin_errors(o, version))}
    assert problems == {}


def test_every_custom_resource_matches_its_upstream_crd(any_run: Run) -> None:
    run = any_run
    objects = [o for o in manifests(run) if not is_builtin(o)]
    kinds = {o["kind"] for o in objects}
    assert {"Elasticsearch", "Kibana", "Logstash", "RabbitmqCluster", "MongoDBCommunity"} <= kinds
    problems = {f"{o['kind']}/{o['metadata']['name']}": e for o in objects if (e := crd_errors(o))}
    assert problems == {}


def test_strict_validation_rejects_a_misspelled_field() -> None:
    pod_spec = {"containers": [{"name": "c", "image": "i:1"}], "nodeSelecter": {}}
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec}
    assert builtin_errors(bad, "1.34")


def elasticsearch(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1",
        "kind": "Elasticsearch",
        "metadata": {"name": "x"},
        "spec": {"version": "8.19.3", **spec},
    }


def test_a_well_formed_custom_resource_passes() -> None:
    """The judge below is not one that rejects everything: a correct Elasticsearch has no errors."""
    assert crd_errors(elasticsearch(nodeSets=[{"name": "default", "count": 3}])) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"nodeSets": [{"name": "default", "count": 3, "volumeClaimTemplate": []}]}, "spec.nodeSets.0: Additional properties"),
        ({"nodeSets": [{"count": 3}]}, "spec.nodeSets.0: 'name' is a required property"),
        ({"nodeSets": [{"name": "default", "count": "three"}]}, "spec.nodeSets.0.count: 'three' is not of type 'integer'"),
    ],
    ids=["unknown-field", "missing-required", "wrong-type"],
)
def test_crd_validation_rejects_bad_custom_resources(spec: dict[str, Any], expected: str) -> None:
    """Each fault is rejected by the pinned CRD's schema itself (not by a missing schema), naming the field."""
    errors = crd_errors(elasticsearch(**spec))
    assert [e for e in errors if e.startswith(expected)], errors


def test_crds_are_those_of_the_pinned_operator_versions() -> None:
    """ECK 3.1.0's CRD has no `nodeSets[].resources`; the newest one (3.5.0) has: the judge uses the pinned one."""
    assert ("rabbitmq.com/v1beta1", "RabbitmqCluster") in crd_schemas()
    node_set = crd_schemas()[("elasticsearch.k8s.elastic.co/v1", "Elasticsearch")]["properties"]["spec"]["properties"]["nodeSets"]
    assert "resources" not in node_set["items"]["properties"]
    newest = json.loads((SCHEMAS / "elastic-cloud-on-k8s/3.5.0/elasticsearch.k8s.elastic.co_elasticsearches.json").read_text())
    assert "resources" in newest["versions"]["v1"]["properties"]["spec"]["properties"]["nodeSets"]["items"]["properties"]
