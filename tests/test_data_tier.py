"""Prod's data tier cannot be lost by one command: protected, claims kept, backups locked, failures visible, restores declared."""

from functools import cache

import pytest

from offline.runner import Run, run_stack

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
def test_a_broken_snapshot_setup_fails_the_deploy(stack: str) -> None:
    (setup,) = [j for j in run(stack).of_type(JOB) if j.inputs["metadata"]["name"].startswith("es-snapshot-setup")]
    # Without skipAwait the provider waits for the Job and reports its failure.
    assert "pulumi.com/skipAwait" not in setup.inputs["metadata"].get("annotations", {})
