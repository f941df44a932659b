"""The onprem stack: the Kubernetes layer on the customer's cluster through the seam, with no AWS at all."""

import pytest

from offline.manifests import manifests
from offline.runner import run_stack
from offline.stackfile import offline_secret
from settings import PROJECT, ConfigError
from settings.stack import SECRET_KEYS
from tests.conftest import declared, raw_sections


def aws_resources(types: list[str]) -> list[str]:
    return [t for t in types if t.startswith("aws:") or t == "pulumi:providers:aws"]


def test_the_onprem_recording_holds_no_aws_resource() -> None:
    run = declared("onprem")
    assert aws_resources([r.type for r in run.records]) == []
    assert {"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"} <= {r.type for r in run.records}


def test_the_aws_judge_fails_on_a_stack_with_aws() -> None:
    assert aws_resources([r.type for r in declared("test").records])


def test_the_kubernetes_provider_reads_the_kubeconfig_secret_and_no_stand_in_leaks() -> None:
    run = declared("onprem")
    provider = run.one("pulumi:providers:kubernetes")
    stand_in = offline_secret(f"{PROJECT}:kubeconfig")
    assert stand_in not in str(provider.as_dict())
    rendered = str(manifests(run))
    assert not [k for k in SECRET_KEYS if offline_secret(f"{PROJECT}:{k}") in rendered]


def test_public_services_use_the_stack_files_load_balancer_class() -> None:
    run = declared("onprem")
    wanted = raw_sections("onprem")["onprem"]["loadBalancerClass"]
    public = [o for o in manifests(run) if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer"]
    assert public and {o["spec"]["loadBalancerClass"] for o in public} == {wanted}
    assert all(not any(k.startswith("service.beta.kubernetes.io/aws") for k in o["metadata"].get("annotations", {})) for o in public)


def test_an_aws_section_in_the_onprem_stack_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as err:
        run_stack("onprem", overrides={f"{PROJECT}:network": {"vpcCidr": "10.0.0.0/16"}})
    assert "insight:network" in err.value.render() and "an AWS section; the onprem tier" in err.value.render()


def test_the_onprem_section_in_an_aws_stack_is_refused() -> None:
    with pytest.raises(ConfigError, match="only the onprem tier takes this section"):
        run_stack("test", overrides={f"{PROJECT}:onprem": raw_sections("onprem")["onprem"]})


def test_onprem_takes_final_releases_only() -> None:
    with pytest.raises(ConfigError, match="onprem takes final releases only"):
        run_stack("onprem", overrides={f"{PROJECT}:release": {"version": "1.4.0-SNAPSHOT"}})


def storage_classes_claimed(objects: list[dict]) -> set[str]:
    """Every storageClassName anywhere in the manifests (claims, claim templates, operators' persistence)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            found.update(v for k, v in value.items() if k == "storageClassName" and isinstance(v, str))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(objects)
    return found


@pytest.mark.parametrize("stack", ["onprem", "test"])
def test_volumes_claim_the_handles_classes_and_only_aws_declares_its_own(stack: str) -> None:
    objects = manifests(declared(stack))
    declared_classes = {o["metadata"]["name"] for o in objects if o["kind"] == "StorageClass"}
    if stack == "onprem":  # the customer's class, named in the stack file, is used as it is
        assert declared_classes == set()
        assert storage_classes_claimed(objects) == {raw_sections("onprem")["onprem"]["storageClass"]}
    else:
        assert declared_classes == {"insight-data", "insight-scratch"} == storage_classes_claimed(objects)


def named(objects: list[dict], kind: str, name: str, namespace: str | None = None) -> dict:
    return next(
        o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name and namespace in (None, o["metadata"].get("namespace"))
    )


def test_backup_writers_reach_the_stack_files_store_with_its_access_key() -> None:
    objects = manifests(declared("onprem"))
    store = raw_sections("onprem")["onprem"]["backups"]
    for namespace in ("logging", "data"):  # the key is a Secret where each writer runs, never a plain value
        credentials = named(objects, "Secret", "backups-s3-credentials", namespace)
        assert set(credentials.get("stringData") or credentials.get("data") or {}) == {"access-key-id", "secret-access-key"}

    es = named(objects, "Elasticsearch", "logs")["spec"]
    assert es["secureSettings"] == [
        {
            "secretName": "backups-s3-credentials",
            "entries": [
                {"key": "access-key-id", "path": "s3.client.default.access_key"},
                {"key": "secret-access-key", "path": "s3.client.default.secret_key"},
            ],
        }
    ]
    node = es["nodeSets"][0]
    assert node["config"]["s3.client.default.endpoint"] == store["endpoint"].removeprefix("https://")
    assert node["config"]["s3.client.default.path_style_access"] is True
    assert "volumes" not in node["podTemplate"]["spec"]  # no web identity token off AWS

    job = named(objects, "CronJob", "mongodb-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    upload = job["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in upload["env"]}
    assert env["AWS_ENDPOINT_URL"] == store["endpoint"]
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "backups-s3-credentials", "key": "access-key-id"}}
    assert "addressing_style path" in upload["command"][-1]

    for namespace, policy in (("logging", "allow-elasticsearch-s3"), ("data", "allow-mongodb-backup-s3")):
        egress = named(objects, "NetworkPolicy", policy, namespace)["spec"]["egress"]
        assert [p["port"] for rule in egress for p in rule["ports"]] == [9000]


def test_aws_backup_writers_keep_their_irsa_role_and_no_key() -> None:
    objects = manifests(declared("test"))
    assert not [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "backups-s3-credentials"]
    es = named(objects, "Elasticsearch", "logs")["spec"]
    assert "secureSettings" not in es and not any(k.startswith("s3.client") for k in es["nodeSets"][0]["config"])
