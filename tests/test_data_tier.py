"""Prod's data tier cannot be lost by one command: protected, claims kept, backups locked, failures visible, restores declared."""

import json
import subprocess
import time
from functools import cache
from pathlib import Path

import pytest

from offline.runner import ROOT, Run, run_stack

from .intents.data import schedule_fires

ES = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
RABBITMQ = "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster"
MONGODB = "kubernetes:mongodbcommunity.mongodb.com/v1:MongoDBCommunity"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
NAMESPACE = "kubernetes:core/v1:Namespace"
REPOSITORY = "aws:ecr/repository:Repository"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"

run = cache(run_stack)


def data_tier(r: Run) -> dict[str, bool]:
    """name -> protect, for every resource the issue lists."""
    listed = [*r.of_type(ES), *r.of_type(RABBITMQ), *r.of_type(MONGODB), *r.of_type(REPOSITORY)]
    listed += [s for s in r.of_type(STATEFUL_SET) if s.inputs["metadata"]["namespace"] == "data"]
    listed += [n for n in r.of_type(NAMESPACE) if n.inputs["metadata"]["name"] in ("logging", "messaging", "data")]
    return {f"{x.type.rsplit(':', 1)[-1]}/{x.name}": x.protect for x in listed}


def test_prod_protects_every_data_tier_resource() -> None:
    tier = data_tier(run("prod"))
    assert len(tier) == 3 + 6 + 1 + 3  # ES, RabbitMQ, MongoDB; six repositories; Redis; three namespaces
    assert all(tier.values()), [name for name, protected in tier.items() if not protected]


def test_the_throwaway_test_stack_protects_none_of_it() -> None:
    assert not any(data_tier(run("test")).values())


def test_protection_stays_on_the_data_not_on_the_policies_beside_it() -> None:
    protected_policies = [x.name for x in run("prod").of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if x.protect]
    assert protected_policies == []


def test_elasticsearch_keeps_its_claims_when_the_cluster_resource_is_deleted() -> None:
    (es,) = run("prod").of_type(ES)
    assert es.inputs["spec"]["volumeClaimDeletePolicy"] == "DeleteOnScaledownOnly"


def test_prod_backups_are_object_locked_in_governance_mode_for_their_retention() -> None:
    (lock,) = run("prod").of_type(OBJECT_LOCK)
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 90}  # Pulumi.prod.yaml backupRetentionDays
    assert lock.protect
    assert run("test").of_type(OBJECT_LOCK) == []


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_a_broken_snapshot_setup_is_caught_by_a_daily_failing_check(stack: str) -> None:
    check = cron_job(run(stack), "elasticsearch-snapshot-check")
    assert "suspend" not in check and schedule_fires(check["schedule"])
    script = commands(check)["elasticsearch-snapshot-check"]
    # It reads the repository the setup registers and fails unless the newest snapshot succeeded within 26 hours.
    assert "/_cat/snapshots/s3-backups?h=id,status,end_epoch&s=end_epoch" in script
    assert 'test "$2" = SUCCESS' in script and f"-lt {26 * 3600}" in script and script.startswith("set -e")
    assert check["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def cron_job(r: Run, name: str) -> dict:
    (job,) = [j for j in r.of_type(CRON_JOB) if j.inputs["metadata"]["name"] == name]
    return job.inputs["spec"]


def commands(spec: dict) -> dict[str, str]:
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    return {c["name"]: c["command"][-1] for c in [*pod.get("initContainers", []), *pod["containers"]]}


def grant(r: Run, role: str) -> dict:
    (policy,) = [p for p in r.of_type("aws:iam/policy:Policy") if p.name == f"{role}-policy"]
    return json.loads(policy.inputs["policy"])


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_the_mongodb_restore_replays_what_the_backup_writes(stack: str) -> None:
    r = run(stack)
    backup, restore = commands(cron_job(r, "mongodb-backup")), commands(cron_job(r, "mongodb-restore"))
    assert cron_job(r, "mongodb-restore")["suspend"] is True  # started by hand only (README runbook)
    assert "--oplog " in backup["dump"] and "--gzip" in backup["dump"]
    assert "--oplogReplay" in restore["restore"] and "--gzip" in restore["restore"] and "--drop" in restore["restore"]
    # The download reads the prefix the upload writes, the newest archive unless ARCHIVE names one.
    assert '"s3://$(BUCKET)/mongodb/$(date' in backup["upload"]
    assert 's3://$(BUCKET)/mongodb/"' in restore["download"] and "${ARCHIVE:-" in restore["download"]
    reads = [s for s in grant(r, "platform-mongodb-restore")["Statement"] if "s3:GetObject" in s["Action"]]
    assert reads and all(s["Resource"].endswith("/mongodb/*") for s in reads)
    # The restore signs in as a user holding only the restore role, not as the backup user.
    (mongo,) = r.of_type(MONGODB)
    users = {u["name"]: [role["name"] for role in u["roles"]] for u in mongo.inputs["spec"]["users"]}
    assert users["restore"] == ["restore"]
    pod = cron_job(r, "mongodb-restore")["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "mongodb-admin-restore"


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_the_mongodb_dump_and_restore_share_an_ebs_scratch_volume_as_large_as_a_member(stack: str) -> None:
    """A dump as large as the data does not fit a spot node's disk: both steps share a generic ephemeral volume."""
    r = run(stack)
    (mongo,) = r.of_type(MONGODB)
    templates = mongo.inputs["spec"]["statefulSet"]["spec"]["volumeClaimTemplates"]
    (member,) = [t["spec"]["resources"]["requests"]["storage"] for t in templates if t["metadata"]["name"] == "data-volume"]
    for name in ("mongodb-backup", "mongodb-restore"):
        pod = cron_job(r, name)["jobTemplate"]["spec"]["template"]["spec"]
        (scratch,) = [v for v in pod["volumes"] if v["name"] == "backup"]
        claim = scratch["ephemeral"]["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == "insight-scratch" and claim["resources"]["requests"]["storage"] == member, name
        steps = [*pod["initContainers"], *pod["containers"]]
        assert all(any(m["name"] == "backup" and m["mountPath"] == "/backup" for m in c["volumeMounts"]) for c in steps), name


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_the_elasticsearch_restore_reads_the_repository_the_setup_registers(stack: str) -> None:
    r = run(stack)
    (setup,) = [j for j in r.of_type(JOB) if j.inputs["metadata"]["name"].startswith("es-snapshot-setup")]
    registered = setup.inputs["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    restore = cron_job(r, "elasticsearch-restore")
    script = commands(restore)["elasticsearch-restore"]
    assert restore["suspend"] is True and restore["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert "/_snapshot/s3-backups'" in registered and "/_snapshot/s3-backups/$snapshot/_restore" in script
    # Beside the live indices, never over them, and without the cluster state.
    assert '"rename_replacement": "restored-$1"' in script and '"include_global_state": false' in script


def test_rabbitmq_definitions_are_exported_hourly_under_their_own_prefix() -> None:
    r = run("prod")
    export = cron_job(r, "rabbitmq-definitions-export")
    assert "suspend" not in export and schedule_fires(export["schedule"])
    steps = commands(export)
    assert "/api/definitions" in steps["export"] and "s3://$(BUCKET)/rabbitmq/definitions-" in steps["upload"]
    writes = grant(r, "platform-messaging-definitions-export")["Statement"]
    assert [s["Action"] for s in writes if s["Resource"].endswith("/rabbitmq/*")] == [["s3:PutObject", "s3:AbortMultipartUpload"]]


def test_the_readme_runbook_names_every_restore_the_stack_declares() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ("mongodb-restore", "elasticsearch-restore", "rabbitmq-definitions-export", "RPO", "RTO"):
        assert name in readme, name


@pytest.mark.parametrize(
    ("newest", "fails"),
    [("nightly-1 SUCCESS {now}", False), ("nightly-1 FAILED {now}", True), ("nightly-1 SUCCESS {old}", True), ("", True)],
)
def test_the_snapshot_check_script_fails_unless_a_fresh_snapshot_succeeded(tmp_path: Path, newest: str, fails: bool) -> None:
    script = commands(cron_job(run("test"), "elasticsearch-snapshot-check"))["elasticsearch-snapshot-check"]
    now = int(time.time())
    fake = tmp_path / "curl"  # stands in for Elasticsearch's _cat/snapshots answer
    fake.write_text(f"#!/bin/sh\necho 'nightly-0 SUCCESS {now - 90000}'\necho '{newest.format(now=now, old=now - 27 * 3600)}'\n")
    fake.chmod(0o755)
    result = subprocess.run(["sh", "-c", script], env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, capture_output=True, text=True, check=False)
    assert (result.returncode != 0) == fails, result.stdout + result.stderr
