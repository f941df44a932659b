"""Every rendered manifest validates: built-in kinds against the cluster version's strict Kubernetes schema,
custom resources against their upstream CRD schema with unknown fields rejected (the API server would prune them)."""

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from offline.manifests import manifests
from offline.runner import Run
from offline.stackfile import ROOT
from tests.conftest import raw_sections

CRDS = ROOT.parent / "shared" / "crds"
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
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> closed schema, for every served version of every CRD in ../shared/crds."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        spec = crd["spec"]
        for version in spec["versions"]:
            schema = closed(version["schema"]["openAPIV3Schema"])
            # metadata is the API server's (ObjectMeta), not the CRD's to describe.
            schema["properties"].pop("metadata", None)
            schema["properties"]["metadata"] = {"type": "object"}
            schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return schemas


def crd_errors(obj: dict[str, Any]) -> list[str]:
    schema = crd_schemas().get((obj["apiVersion"], obj["kind"]))
    if schema is None:
        return [f"no CRD schema for {obj['apiVersion']} {obj['kind']} in {CRDS}"]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


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
    return raw_sections(stack)["cluster"]["kubernetesVersion"]


def test_every_builtin_manifest_is_valid_for_the_cluster_version(run: Run) -> None:
    version = kubernetes_version(run.stack)
    objects = [o for o in manifests(run) if is_builtin(o)]
    assert len(objects) > 50
    problems = {f"{o['kind']}/{o['metadata']['name']}": e for o in objects if (e := builtin_errors(o, version))}
    assert problems == {}


def test_every_custom_resource_matches_its_upstream_crd(run: Run) -> None:
    objects = [o for o in manifests(run) if not is_builtin(o)]
    kinds = {o["kind"] for o in objects}
    assert {"Elasticsearch", "Kibana", "Logstash", "RabbitmqCluster", "MongoDBCommunity"} <= kinds
    problems = {f"{o['kind']}/{o['metadata']['name']}": e for o in objects if (e := crd_errors(o))}
    assert problems == {}


def test_strict_validation_rejects_a_misspelled_field() -> None:
    pod_spec = {"containers": [{"name": "c", "image": "i:1"}], "nodeSelecter": {}}
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec}
    assert builtin_errors(bad, "1.34")


@pytest.mark.parametrize(
    "spec",
    [{"nodeSets": [{"name": "default", "count": 3, "volumeClaimTemplate": []}]}, {"nodeSets": [{"count": 3}]}],
    ids=["unknown-field", "missing-required"],
)
def test_crd_validation_rejects_bad_custom_resources(spec: dict[str, Any]) -> None:
    bad = {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1",
        "kind": "Elasticsearch",
        "metadata": {"name": "x"},
        "spec": {"version": "8.19.3", **spec},
    }
    assert crd_errors(bad)


def test_schemas_come_from_the_shared_folder() -> None:
    assert Path(CRDS).is_dir()
    assert ("rabbitmq.com/v1beta1", "RabbitmqCluster") in crd_schemas()
