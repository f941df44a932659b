"""Data protection: irreplaceable resources protected and retained, keys kept 30 days, storage that keeps volumes, backups configured."""

import json
import re
from collections.abc import Iterator, Sequence

from .base import Registry, Resource, of_type
from .edge import BUCKET, REPOSITORY, ZONE, is_logs_bucket
from .eks import EKS_COMPONENT
from .network import VPC

rules = Registry()

KMS_KEY = "aws:kms/key:Key"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
ELASTICSEARCH = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
RABBITMQ = "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster"
MONGODB = "kubernetes:mongodbcommunity.mongodb.com/v1:MongoDBCommunity"
STACK_CONFIG_POLICY = "kubernetes:stackconfigpolicy.k8s.elastic.co/v1alpha1:StackConfigPolicy"
JOBS = ("kubernetes:batch/v1:CronJob", "kubernetes:batch/v1:Job")
KMS_DELETION_WINDOW = 30
QUORUM_DEFAULT = re.compile(r"default_queue_type\s*=\s*quorum")

IRREPLACEABLE = (VPC, EKS_COMPONENT, KMS_KEY, ZONE, BUCKET)
RETAINED = (KMS_KEY, ZONE, BUCKET, REPOSITORY, PVC)


def _holds_data(r: Resource) -> bool:
    return not (r.type == BUCKET and is_logs_bucket(r))


@rules.resource(
    "data-protected",
    "Irreplaceable resources (VPC, cluster, keys, zones, data buckets) are protected.",
    IRREPLACEABLE,
    severity="protection",
)
def protected(r: Resource) -> Iterator[str]:
    if _holds_data(r) and not r.protect:
        yield "not protected: `pulumi destroy` or a replacement would delete it"


@rules.resource(
    "data-retained",
    "Data buckets, keys, zones, repositories and data volumes outlive the stack (retain on delete).",
    RETAINED,
    severity="retention",
    offline_only=True,
)
def retained(r: Resource) -> Iterator[str]:
    if _holds_data(r) and r.retain_on_delete is False:
        yield "not retained on delete"


@rules.resource("kms-key-hygiene", "Keys rotate yearly and wait 30 days before deletion, so a mistaken delete is recoverable.", [KMS_KEY])
def key_hygiene(key: Resource) -> Iterator[str]:
    if key.get("enableKeyRotation") is not True:
        yield "enableKeyRotation must be true"
    if key.get("deletionWindowInDays") != KMS_DELETION_WINDOW:
        yield f"deletionWindowInDays must be {KMS_DELETION_WINDOW}, is {key.get('deletionWindowInDays')}"


# A class labelled so holds pods' scratch space only (generic ephemeral volumes, deleted with their pod).
SCRATCH_LABEL = "insight.io/volumes"


@rules.resource("data-storage-class", "Data volumes are encrypted, kept when released, and can grow.", [STORAGE_CLASS])
def storage_class(sc: Resource) -> Iterator[str]:
    scratch = (sc.get("metadata", "labels", default={}) or {}).get(SCRATCH_LABEL) == "scratch"
    if sc.get("reclaimPolicy") != "Retain" and not scratch:
        yield f"reclaimPolicy must be Retain, is {sc.get('reclaimPolicy', 'Delete (default)')}"
    if sc.get("allowVolumeExpansion") is not True and not scratch:
        yield "allowVolumeExpansion must be true"
    if str(sc.get("parameters", "encrypted")).lower() != "true":
        yield "parameters.encrypted must be 'true'"
    if sc.get("volumeBindingMode") != "WaitForFirstConsumer":
        yield "volumeBindingMode must be WaitForFirstConsumer (volumes in the pod's zone)"


@rules.resource("data-pvc-retention", "StatefulSets say explicitly that their volumes are kept when the set is deleted.", [STATEFUL_SET])
def pvc_retention(sts: Resource) -> Iterator[str]:
    if not sts.get("spec", "volumeClaimTemplates"):
        return
    policy = sts.get("spec", "persistentVolumeClaimRetentionPolicy", default={})
    if policy.get("whenDeleted") != "Retain" or not policy.get("whenScaled"):
        yield f"persistentVolumeClaimRetentionPolicy must set whenDeleted: Retain and whenScaled, is {policy}"


def _namespace(r: Resource) -> str:
    return r.get("metadata", "namespace", default="default")


def _mentions(resources: Sequence[Resource], namespace: str, types: Sequence[str], text: str) -> bool:
    return any(text in json.dumps(r.inputs) for r in of_type(resources, *types) if _namespace(r) == namespace)


@rules.stack("data-es-snapshots", "Elasticsearch takes scheduled snapshots (an SLM policy with retention) to S3.")
def es_snapshots(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for es in of_type(resources, ELASTICSEARCH):
        by_policy = any(
            p.get("spec", "elasticsearch", "snapshotLifecyclePolicies") and p.get("spec", "elasticsearch", "snapshotRepositories")
            for p in of_type(resources, STACK_CONFIG_POLICY)
        )
        if not by_policy and not _mentions(resources, _namespace(es), JOBS, "_slm/policy"):
            yield es, "no snapshot lifecycle policy (StackConfigPolicy, or a Job/CronJob calling _slm/policy)"


@rules.stack("data-mongodb-backups", "MongoDB is dumped to S3 on a schedule.")
def mongodb_backups(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for mongo in of_type(resources, MONGODB):
        if not _mentions(resources, _namespace(mongo), JOBS[:1], "mongodump"):
            yield mongo, "no CronJob running mongodump in its namespace"


@rules.resource("data-rabbitmq-quorum", "Queues are quorum queues, replicated across the nodes.", [RABBITMQ])
def rabbitmq_quorum(cluster: Resource) -> Iterator[str]:
    if not QUORUM_DEFAULT.search(str(cluster.get("spec", "rabbitmq", "additionalConfig", default=""))):
        yield "spec.rabbitmq.additionalConfig must set default_queue_type = quorum"
