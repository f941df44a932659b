"""Data protection: irreplaceable resources protected and retained, keys kept 30 days, storage that keeps volumes, backups configured."""

import json
from collections.abc import Iterator, Sequence
from typing import Any

from .base import Registry, Resource, as_list, dig, of_type, truthy
from .edge import BUCKET, REPOSITORY, ZONE
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
CRON_JOB = "kubernetes:batch/v1:CronJob"
JOBS = (CRON_JOB, "kubernetes:batch/v1:Job")
# Workloads with a pod template at spec.template (a CronJob's is one level down).
POD_WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", STATEFUL_SET, JOBS[1])
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
KMS_DELETION_WINDOW = 30
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a leap year: Feb 29 fires, if only every 4 years
CRON_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}  # fmt: skip

IRREPLACEABLE = (VPC, EKS_COMPONENT, KMS_KEY, ZONE, BUCKET)
RETAINED = (KMS_KEY, ZONE, BUCKET, REPOSITORY, PVC)


@rules.resource(
    "data-protected",
    "Irreplaceable resources (VPC, cluster, keys, zones, buckets: data, and logs as audit evidence) are protected.",
    IRREPLACEABLE,
    severity="protection",
)
def protected(r: Resource) -> Iterator[str]:
    if not r.protect:
        yield "not protected: `pulumi destroy` or a replacement would delete it"


@rules.resource(
    "data-retained",
    "Data buckets, keys, zones, repositories and data volumes outlive the stack (retain on delete).",
    RETAINED,
    severity="retention",
    offline_only=True,
)
def retained(r: Resource) -> Iterator[str]:
    if r.retain_on_delete is False:
        yield "not retained on delete"


@rules.resource("kms-key-hygiene", "Keys rotate yearly and wait 30 days before deletion, so a mistaken delete is recoverable.", [KMS_KEY])
def key_hygiene(key: Resource) -> Iterator[str]:
    if key.get("enableKeyRotation") is not True:
        yield "enableKeyRotation must be true"
    if key.get("deletionWindowInDays") != KMS_DELETION_WINDOW:
        yield f"deletionWindowInDays must be {KMS_DELETION_WINDOW}, is {key.get('deletionWindowInDays')}"


@rules.stack(
    "data-storage-class",
    "Volumes are encrypted and made in the pod's zone; a class that holds more than pods' scratch space keeps and grows its volumes.",
)
def storage_classes(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    scratch = _scratch_classes(resources)
    for sc in of_type(resources, STORAGE_CLASS):
        if sc.get("metadata", "name") not in scratch:
            if sc.get("reclaimPolicy") != "Retain":
                yield sc, f"reclaimPolicy must be Retain, is {sc.get('reclaimPolicy', 'Delete (default)')}"
            if sc.get("allowVolumeExpansion") is not True:
                yield sc, "allowVolumeExpansion must be true"
        if str(sc.get("parameters", "encrypted")).lower() != "true":
            yield sc, "parameters.encrypted must be 'true'"
        if sc.get("volumeBindingMode") != "WaitForFirstConsumer":
            yield sc, "volumeBindingMode must be WaitForFirstConsumer (volumes in the pod's zone)"


def _scratch_classes(resources: Sequence[Resource]) -> set[str]:
    """Classes that hold scratch space only, judged by what claims them, never by a label anyone can set: named by
    a generic ephemeral volume (made for its pod, deleted with it whatever the class says), by no persistent
    claim, and not the cluster's default (which every claim without a class gets)."""
    ephemeral = {dig(claim, "storageClassName") for r in resources for _, claim in _ephemeral_claims(r)}
    persistent = {dig(claim, "storageClassName") for r in resources for _, claim in _claim_specs(r)}
    default = {
        sc.get("metadata", "name")
        for sc in of_type(resources, STORAGE_CLASS)
        if truthy(sc.get("metadata", "annotations", default={}).get(DEFAULT_CLASS_ANNOTATION))
    }
    return {name for name in ephemeral - persistent - default if isinstance(name, str)}


def _pod_template(r: Resource) -> Any:
    if r.type == CRON_JOB:
        return r.get("spec", "jobTemplate", "spec", "template", "spec")
    return r.get("spec", "template", "spec") if r.type in POD_WORKLOADS else None


def _ephemeral_claims(r: Resource) -> list[tuple[str, Any]]:
    """(where, claim spec) of every generic ephemeral volume in a workload's pod template."""
    return [
        (f"volumes[{i}].ephemeral", dig(v, "ephemeral", "volumeClaimTemplate", "spec", default={}))
        for i, v in enumerate(as_list(dig(_pod_template(r), "volumes")))
        if dig(v, "ephemeral") is not None
    ]


def _claim_specs(r: Resource) -> list[tuple[str, Any]]:
    """(where, claim spec) of every persistent volume a resource asks for; the operators' shapes included."""
    templates: list[tuple[str, Any]] = []
    if r.type == PVC:
        return [("spec", r.get("spec", default={}))]
    if r.type == STATEFUL_SET:
        templates = [("spec", r.get("spec"))]
    elif r.type == ELASTICSEARCH:
        templates = [(f"spec.nodeSets[{i}]", n) for i, n in enumerate(as_list(r.get("spec", "nodeSets")))]
    elif r.type == MONGODB:
        templates = [("spec.statefulSet.spec", r.get("spec", "statefulSet", "spec"))]
    elif r.type == RABBITMQ:
        return [("spec.persistence", r.get("spec", "persistence", default={}))]
    return [
        (f"{where}.volumeClaimTemplates[{i}].spec", dig(t, "spec", default={}))
        for where, holder in templates
        for i, t in enumerate(as_list(dig(holder, "volumeClaimTemplates")))
    ]


@rules.stack("data-claims-retained", "Every persistent data volume is claimed from a declared storage class that keeps it (Retain).")
def claims_retained(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    declared = {sc.get("metadata", "name"): sc.get("reclaimPolicy") for sc in of_type(resources, STORAGE_CLASS)}
    for r in of_type(resources, PVC, STATEFUL_SET, ELASTICSEARCH, MONGODB, RABBITMQ):
        for where, claim in _claim_specs(r):
            name = dig(claim, "storageClassName")
            # On a customer's cluster (a tier without the AWS layer) the stack names the customer's class, which it
            # cannot declare: only a class the stack does declare is judged there (README, On-prem: it must retain).
            if not r.policy.aws and name and name not in declared:
                continue
            if declared.get(name) != "Retain":
                shown = repr(name) if name else "none (the cluster default, gp2 with Delete)"
                yield r, f"{where}.storageClassName is {shown}: not a declared storage class with reclaimPolicy Retain"


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


def _field(text: str, low: int, high: int, names: Sequence[str] = ()) -> set[int] | None:
    """The values one cron field allows (names such as JAN or MON accepted), or None when unreadable."""
    text = text.upper()
    for i, name in enumerate(names):
        text = text.replace(name, str(i + low))
    values: set[int] = set()
    for part in text.split(","):
        span, _, step = part.partition("/")
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            if not (first_text.isdigit() and last_text.isdigit()):
                return None
            first, last = int(first_text), int(last_text)
        elif span.isdigit():
            first = int(span)
            last = high if step else first
        else:
            return None
        if not (step == "" or step.isdigit()) or step == "0":
            return None
        values |= set(range(first, last + 1, int(step or 1)))
    return values if values and all(low <= v <= high for v in values) else None


def cron_never_fires(schedule: str) -> str | None:
    """Why a Kubernetes CronJob schedule (five fields) never fires, or None when it does."""
    fields = CRON_MACROS.get(schedule.strip(), schedule).split()
    if len(fields) != 5:
        return f"schedule {schedule!r} is not five cron fields"
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    days = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
    parsed = [_field(fields[0], 0, 59), _field(fields[1], 0, 23), _field(fields[2], 1, 31), _field(fields[3], 1, 12, months)]
    parsed.append(_field(fields[4], 0, 7, days))
    if any(p is None for p in parsed):
        return f"schedule {schedule!r} is not a cron expression"
    _, _, day_of_month, month, _ = parsed
    assert day_of_month is not None and month is not None
    # With a weekday restricted too, cron fires on either match: some weekday always comes.
    weekday_restricted = fields[4] not in ("*", "?")
    if not weekday_restricted and not any(d <= MONTH_DAYS[m - 1] for m in month for d in day_of_month):
        return f"schedule {schedule!r} names no day that exists (such as Feb 30)"
    return None


def _backup_problem(job: Resource) -> str | None:
    if truthy(job.get("spec", "suspend")):
        return "is suspended"
    return cron_never_fires(str(job.get("spec", "schedule", default="")))


@rules.stack("data-mongodb-backups", "MongoDB is dumped to S3 on a schedule that fires.")
def mongodb_backups(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for mongo in of_type(resources, MONGODB):
        dumps = [j for j in of_type(resources, JOBS[0]) if _namespace(j) == _namespace(mongo) and "mongodump" in json.dumps(j.inputs)]
        working = [j for j in dumps if _backup_problem(j) is None]
        if not dumps:
            yield mongo, "no CronJob running mongodump in its namespace"
        elif not working:
            yield mongo, "; ".join(f"backup CronJob {j.name} {_backup_problem(j)}" for j in dumps)


def rabbitmq_setting(conf: str, key: str) -> str | None:
    """The effective value of `key` in rabbitmq.conf (sysctl format): comments skipped, the last line wins."""
    value = None
    for line in conf.splitlines():
        name, sep, rest = line.split("#", 1)[0].partition("=")
        if sep and name.strip() == key:
            value = rest.strip()
    return value


@rules.resource("data-rabbitmq-quorum", "Queues are quorum queues, replicated across the nodes.", [RABBITMQ])
def rabbitmq_quorum(cluster: Resource) -> Iterator[str]:
    conf = str(cluster.get("spec", "rabbitmq", "additionalConfig", default=""))
    if rabbitmq_setting(conf, "default_queue_type") != "quorum":
        yield "spec.rabbitmq.additionalConfig must set default_queue_type = quorum"
