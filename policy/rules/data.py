"""Data protection: irreplaceable resources protected and retained, keys kept 30 days, storage that keeps volumes, backups configured."""

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .base import Registry, Resource, as_list, dig, of_type
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
# Kubernetes takes a class as the default only when one of these annotations is exactly "true"
# (k8s.io/component-helpers storage/volume IsDefaultAnnotation).
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
GO_TRUE = ("1", "t", "T", "true", "TRUE", "True")  # the strings strconv.ParseBool reads as true
KMS_DELETION_WINDOW = 30  # also AWS's default when the window is not given
KMS_ROTATION_DAYS = (90, 365)  # AWS accepts 90..2560 days (default 365); yearly or more often is asked
# Kubernetes parses schedules with robfig/cron v3 ParseStandard: these descriptors, `@every <duration>`, or five fields.
CRON_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}  # fmt: skip
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a leap year: Feb 29 fires, if only every 4 years
GO_DURATION = re.compile(r"[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h))+)")
# The CronJob controller looks every 10 s: a shorter starting deadline may skip every run (Kubernetes CronJob docs).
MIN_STARTING_DEADLINE_SECONDS = 10
# Claims the operators add when the resource declares none of that name (ECK AppendDefaultPVCs; MongoDB's
# data-volume and logs-volume templates): they land on the cluster's default class.
ECK_DEFAULT_CLAIM = "elasticsearch-data"
MONGODB_DEFAULT_CLAIMS = ("data-volume", "logs-volume")
CLUSTER_DEFAULT = "the cluster's own, gp2 with Delete on EKS"
# A claim's class name is a DNS subdomain: the API server refuses any other (and with it the claim).
CLASS_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
# Elasticsearch (8.16+) also takes an SLM schedule as an interval in its time units (elasticsearch PR 110847).
ES_INTERVAL = re.compile(r"\d+(d|h|m|s|ms|micros|nanos)")

BUCKETS = (BUCKET, "aws:s3/bucketV2:BucketV2")  # v7 of the AWS provider still declares the older type
IRREPLACEABLE = (VPC, EKS_COMPONENT, KMS_KEY, ZONE, *BUCKETS)
RETAINED = (KMS_KEY, ZONE, *BUCKETS, REPOSITORY, PVC)


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


def provider_true(value: Any) -> bool:
    """Whether the AWS provider reads a bool as true: the Terraform bridge takes strings too, as Go's strconv.ParseBool."""
    return value is True or value in GO_TRUE


def provider_int(value: Any) -> int | None:
    """An integer as the AWS provider reads it: an int, or a string of one (the Terraform SDK's ParseInt)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and re.fullmatch(r"[-+]?\d+", value) else None


@rules.resource("kms-key-hygiene", "Keys rotate yearly and wait 30 days before deletion, so a mistaken delete is recoverable.", [KMS_KEY])
def key_hygiene(key: Resource) -> Iterator[str]:
    if not provider_true(key.get("enableKeyRotation")):
        yield f"enableKeyRotation must be true, is {key.get('enableKeyRotation')!r}"
    else:
        period = provider_int(key.get("rotationPeriodInDays", default=KMS_ROTATION_DAYS[1]))
        if period is None or not KMS_ROTATION_DAYS[0] <= period <= KMS_ROTATION_DAYS[1]:
            yield f"rotationPeriodInDays must be {KMS_ROTATION_DAYS[0]}..{KMS_ROTATION_DAYS[1]} (yearly at least), is {key.get('rotationPeriodInDays')!r}"
    window = key.get("deletionWindowInDays")  # absent: AWS waits 30 days
    if window is not None and provider_int(window) != KMS_DELETION_WINDOW:
        yield f"deletionWindowInDays must be {KMS_DELETION_WINDOW}, is {window!r}"


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
        # The EBS CSI driver lower-cases parameter names and encrypts only on the exact string "true"; the API
        # server refuses a non-string parameter value.
        parameters = sc.get("parameters", default={})
        encrypted = [v for k, v in parameters.items() if k.lower() == "encrypted"] if isinstance(parameters, Mapping) else []
        if encrypted != ["true"]:
            yield sc, f"parameters.encrypted must be the string 'true', is {encrypted[0] if encrypted else None!r}"
        if sc.get("volumeBindingMode") != "WaitForFirstConsumer":
            yield sc, "volumeBindingMode must be WaitForFirstConsumer (volumes in the pod's zone)"


# Provisioners whose classes make EBS volumes on EKS: the EBS CSI driver, the in-tree name it serves through CSI
# migration (EKS's own gp2 class), and EKS Auto Mode's driver. All take `kmsKeyId`.
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "ebs.csi.eks.amazonaws.com")
# The driver takes the key's full ARN (aws-ebs-csi-driver docs/parameters.md "kmsKeyId"); an alias, even an alias ARN,
# may name the AWS-managed aws/ebs key, so only a key ARN says which key encrypts.
KMS_KEY_ARN = re.compile(r"arn:aws(-[a-z]+)*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key/[A-Za-z0-9-]+")
# An output not known yet, as offline records show it; the real pack never sees one (the policy SDK skips a rule
# that reads an unknown during preview, and runs it at `up` with the key's ARN).
UNKNOWN_OUTPUT = "[unknown]"


@rules.resource(
    "data-volume-key",
    "EBS volumes are encrypted with the stack's own KMS key, whose policy says who may use it, not the AWS-managed aws/ebs key.",
    [STORAGE_CLASS],
)
def volume_key(sc: Resource) -> Iterator[str]:
    if not sc.policy.aws or sc.get("provisioner") not in EBS_PROVISIONERS:
        return  # a customer's cluster brings its own classes; other drivers make no EBS volumes
    # The driver lower-cases parameter names: spellings that disagree leave the key to map order.
    parameters = sc.get("parameters", default={})
    keys = [v for k, v in parameters.items() if k.lower() == "kmskeyid"] if isinstance(parameters, Mapping) else []
    if not keys or any(v != keys[0] for v in keys) or not _names_a_key(keys[0]):
        yield f"parameters.kmsKeyId must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>), is {keys or None!r}"


def _names_a_key(value: Any) -> bool:
    return value == UNKNOWN_OUTPUT or (isinstance(value, str) and KMS_KEY_ARN.fullmatch(value) is not None)


def _scratch_classes(resources: Sequence[Resource]) -> set[str]:
    """Classes that hold scratch space only, judged by what claims them, never by a label anyone can set: named by
    a generic ephemeral volume (made for its pod, deleted with it whatever the class says), by no persistent
    claim, and not the cluster's default (which every claim without a class gets)."""
    ephemeral = {dig(claim, "storageClassName") for r in resources for _, claim in _ephemeral_claims(r)}
    persistent = {dig(claim, "storageClassName") for r in resources for _, claim in _claim_specs(r)}
    return {name for name in ephemeral - persistent - _default_classes(resources) if isinstance(name, str)}


def _default_classes(resources: Sequence[Resource]) -> set[str]:
    """The declared classes a claim naming no class gets."""
    return {
        sc.get("metadata", "name")
        for sc in of_type(resources, STORAGE_CLASS)
        if any(sc.get("metadata", "annotations", name) == "true" for name in DEFAULT_CLASS_ANNOTATIONS)
    }


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
    claims = [
        (f"{where}.volumeClaimTemplates[{i}].spec", dig(t, "spec", default={}))
        for where, holder in templates
        for i, t in enumerate(as_list(dig(holder, "volumeClaimTemplates")))
    ]
    return claims + [(f"{where} ({name}, the operator's default claim)", {}) for where, name in _default_claims(r, templates)]


def _default_claims(r: Resource, templates: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(where, name) of the claims an operator adds because the resource declares none of that name."""
    if r.type == ELASTICSEARCH:  # ECK adds its claim only when a node set declares none and no pod volume takes the name
        return [
            (where, ECK_DEFAULT_CLAIM)
            for where, node_set in templates
            if not as_list(dig(node_set, "volumeClaimTemplates"))
            and ECK_DEFAULT_CLAIM not in {dig(v, "name") for v in as_list(dig(node_set, "podTemplate", "spec", "volumes"))}
        ]
    if r.type == MONGODB:
        declared = {dig(t, "metadata", "name") for _, holder in templates for t in as_list(dig(holder, "volumeClaimTemplates"))}
        return [(templates[0][0], name) for name in MONGODB_DEFAULT_CLAIMS if name not in declared]
    return []


@rules.stack("data-claims-retained", "Every persistent data volume is claimed from a declared storage class that keeps it (Retain).")
def claims_retained(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    declared = {sc.get("metadata", "name"): sc.get("reclaimPolicy") for sc in of_type(resources, STORAGE_CLASS)}
    defaults = _default_classes(resources)
    for r in of_type(resources, PVC, STATEFUL_SET, ELASTICSEARCH, MONGODB, RABBITMQ):
        for where, claim in _claim_specs(r):
            name = dig(claim, "storageClassName")
            # On a customer's cluster (a tier without the AWS layer) the stack names the customer's class, which it
            # cannot declare: only a class the stack does declare is judged there (README, On-prem: it must retain).
            if not r.policy.aws and name and name not in declared and CLASS_NAME.fullmatch(name):
                continue
            # No class: the default class (the newest, if several are marked); "" asks for no class at all.
            classes = ({name} if name else set()) if name is not None else defaults
            if not classes or any(declared.get(c) != "Retain" for c in classes):
                shown = repr(name) if name is not None else f"none (the default: {', '.join(sorted(defaults)) or CLUSTER_DEFAULT})"
                yield r, f"{where}.storageClassName is {shown}: not a declared storage class with reclaimPolicy Retain"


PVC_RETENTION_POLICIES = ("Retain", "Delete")  # the API server refuses any other value (and with it the StatefulSet)
ECK_KEEPS_CLAIMS = "DeleteOnScaledownOnly"  # ECK's default, DeleteOnScaledownAndClusterDeletion, deletes them with the cluster


@rules.resource(
    "data-pvc-retention", "StatefulSets say explicitly that their volumes are kept when the set is deleted.", [STATEFUL_SET, ELASTICSEARCH]
)
def pvc_retention(r: Resource) -> Iterator[str]:
    if r.type == ELASTICSEARCH:
        if r.get("spec", "volumeClaimDeletePolicy") != ECK_KEEPS_CLAIMS:
            yield f"spec.volumeClaimDeletePolicy must be {ECK_KEEPS_CLAIMS}, is {r.get('spec', 'volumeClaimDeletePolicy')!r}"
        return
    if not as_list(r.get("spec", "volumeClaimTemplates")):
        return
    policy = r.get("spec", "persistentVolumeClaimRetentionPolicy", default={})
    policy = policy if isinstance(policy, Mapping) else {}
    # whenScaled may be left out (the API server defaults it to Retain), but not misspelt.
    if policy.get("whenDeleted") != "Retain" or dig(policy, "whenScaled", default="Retain") not in PVC_RETENTION_POLICIES:
        yield f"persistentVolumeClaimRetentionPolicy must set whenDeleted: Retain (and whenScaled, if set, Retain or Delete), is {policy}"


def _namespace(r: Resource) -> str:
    return r.get("metadata", "namespace", default="default")


def _container_scripts(job: Resource) -> list[str]:
    """The command and args of every container of a Job or CronJob's pods."""
    pod = job.get("spec", "jobTemplate", "spec", "template", "spec") if job.type == CRON_JOB else job.get("spec", "template", "spec")
    containers = [*as_list(dig(pod, "initContainers")), *as_list(dig(pod, "containers"))]
    return [str(part) for c in containers for part in [*as_list(dig(c, "command")), *as_list(dig(c, "args"))]]


# One request of a setup script: curl -X PUT '<url>/_snapshot/<name>' ... -d '<json>' (or _slm/policy/<name>).
ES_REQUEST = re.compile(r"-X\s*(PUT|POST)\s+'[^'\s]*/(_snapshot|_slm/policy)/([^'/?\s]+)'[^\n]*?\s-d\s+'([^'\n]*)'")


def _snapshot_setup(resources: Sequence[Resource], namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(repositories, SLM policies) by name, as the stack registers them in a namespace: a StackConfigPolicy's, or
    the bodies a Job (run once) or a CronJob that fires PUTs to the cluster's API."""
    repositories: dict[str, Any] = {}
    policies: dict[str, Any] = {}
    for config in of_type(resources, STACK_CONFIG_POLICY):
        if _namespace(config) == namespace:
            repositories |= dict(config.get("spec", "elasticsearch", "snapshotRepositories", default={}))
            policies |= dict(config.get("spec", "elasticsearch", "snapshotLifecyclePolicies", default={}))
    for job in of_type(resources, *JOBS):
        if _namespace(job) != namespace or (job.type == CRON_JOB and _schedule_problem(job) is not None):
            continue
        for script in _container_scripts(job):
            for method, api, name, body in ES_REQUEST.findall(script):
                if api == "_snapshot":
                    repositories[name] = _json_object(body)
                elif method == "PUT":  # the SLM API has no POST
                    policies[name] = _json_object(body)
    return repositories, policies


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@rules.stack("data-es-snapshots", "Elasticsearch takes scheduled snapshots (an SLM policy with retention) to S3.")
def es_snapshots(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for es in of_type(resources, ELASTICSEARCH):
        repositories, policies = _snapshot_setup(resources, _namespace(es))
        kept_in_s3 = [
            name
            for name, policy in policies.items()
            if slm_schedule_problem(dig(policy, "schedule")) is None
            and dig(policy, "retention")
            and dig(repositories, str(dig(policy, "repository")), "type") == "s3"
        ]
        if not kept_in_s3:
            found = ", ".join(policies) or "none"
            yield (
                es,
                (
                    f"no snapshot lifecycle policy with a firing schedule and retention into an S3 repository (found: {found}); "
                    "a StackConfigPolicy, or a Job or firing CronJob that PUTs _snapshot/<repo> and _slm/policy/<name>"
                ),
            )


def slm_schedule_problem(schedule: Any) -> str | None:
    """Why an SLM schedule never takes a snapshot, or None. Elasticsearch's cron (after Quartz: seconds first, six
    or seven fields, `?` in exactly one day field) takes a schedule that never fires, such as Feb 30."""
    if isinstance(schedule, str) and ES_INTERVAL.fullmatch(schedule):
        return None
    fields = schedule.split() if isinstance(schedule, str) else []
    if len(fields) not in (6, 7) or (fields[3] == "?") == (fields[5] == "?"):
        return f"schedule {schedule!r} is not an Elasticsearch cron (seconds first, `?` in one day field)"
    if fields[3] == "?" or re.search("[LW]", fields[3]):  # a weekday, the last day or the nearest weekday: every month
        return None
    days, months = _field(fields[3], 1, 31), _field(fields[4], 1, 12, MONTHS)
    if days is None or months is None:
        return f"schedule {schedule!r} is not an Elasticsearch cron"
    if not any(d <= MONTH_DAYS[m - 1] for m in months[0] for d in days[0]):
        return f"schedule {schedule!r} names no day that exists (such as Feb 30)"
    return None


def _field(text: str, low: int, high: int, names: Sequence[str] = ()) -> tuple[set[int], bool] | None:
    """The values one cron field allows and whether it counts as `*` (robfig/cron v3: `*` or `?`, unstepped or
    stepped by 1), or None when Kubernetes refuses it. Names (JAN, mon) in any case."""
    by_name = {name: i + low for i, name in enumerate(names)}
    values: set[int] = set()
    star = False
    for part in text.split(","):
        span, slash, step_text = part.partition("/")
        bounds = span.split("-")
        if bounds[0] in ("*", "?"):
            first, last, part_star = low, high, True
        else:
            numbers = [by_name.get(b.lower(), int(b) if re.fullmatch(r"\+?\d+", b) else None) for b in bounds]
            if len(numbers) > 2 or None in numbers:
                return None
            first, last, part_star = numbers[0], numbers[-1], False
            last = high if slash and len(numbers) == 1 else last
        step = int(step_text) if re.fullmatch(r"\+?\d+", step_text) else (1 if not slash else None)
        assert first is not None and last is not None
        if step is None or step == 0 or not low <= first <= last <= high:
            return None
        values |= set(range(first, last + 1, step))
        star |= part_star and step == 1
    return values, star


def cron_never_fires(schedule: Any) -> str | None:
    """Why a Kubernetes CronJob schedule is refused or never fires, or None when it fires."""
    if not isinstance(schedule, str) or "TZ" in schedule:  # a time zone goes in spec.timeZone (API validation)
        return f"schedule {schedule!r} is refused by the API server"
    if schedule.startswith("@every "):
        return None if GO_DURATION.fullmatch(schedule.removeprefix("@every ")) else f"schedule {schedule!r} is not a duration"
    if schedule.startswith("@") and schedule not in CRON_MACROS:
        return f"schedule {schedule!r} is not a descriptor Kubernetes accepts (such as @daily; @reboot is none)"
    fields = CRON_MACROS.get(schedule, schedule).split()
    limits = [(0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, MONTHS), (0, 6, WEEKDAYS)]
    parsed = [_field(text, low, high, names) for text, (low, high, names) in zip(fields, limits, strict=False)]
    if len(fields) != 5 or any(p is None for p in parsed):
        return f"schedule {schedule!r} is not a cron expression Kubernetes accepts"
    (day_of_month, dom_star), (month, _), (_, dow_star) = parsed[2], parsed[3], parsed[4]  # type: ignore[misc]
    # With both day fields restricted, a day matches on either (some weekday always comes); with the weekday as `*`,
    # only the days of the month count.
    if dow_star and not dom_star and not any(d <= MONTH_DAYS[m - 1] for m in month for d in day_of_month):
        return f"schedule {schedule!r} names no day that exists (such as Feb 30)"
    return None


def _schedule_problem(job: Resource) -> str | None:
    """Why a CronJob never runs on its own: refused by the API server, suspended, or a schedule that never fires."""
    spec = job.get("spec", default={})
    suspend, deadline = dig(spec, "suspend"), dig(spec, "startingDeadlineSeconds")
    if suspend is not None and not isinstance(suspend, bool):
        return f"is refused by the API server (spec.suspend {suspend!r} is not a boolean)"
    if suspend:
        return "is suspended"
    if deadline is not None and (not isinstance(deadline, int) or isinstance(deadline, bool) or deadline < 0):
        return f"is refused by the API server (spec.startingDeadlineSeconds {deadline!r})"
    if deadline is not None and deadline < MIN_STARTING_DEADLINE_SECONDS:
        return f"may never start (startingDeadlineSeconds {deadline} < {MIN_STARTING_DEADLINE_SECONDS})"
    return cron_never_fires(dig(spec, "schedule"))


@rules.stack("data-mongodb-backups", "MongoDB is dumped to S3 on a schedule that fires.")
def mongodb_backups(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for mongo in of_type(resources, MONGODB):
        dumps = [j for j in of_type(resources, CRON_JOB) if _namespace(j) == _namespace(mongo) and "mongodump" in json.dumps(j.inputs)]
        if not dumps:
            yield mongo, "no CronJob running mongodump in its namespace"
        elif all(_schedule_problem(j) for j in dumps):
            yield mongo, "; ".join(f"backup CronJob {j.name} {_schedule_problem(j)}" for j in dumps)


def rabbitmq_setting(conf: str, key: str) -> str | None:
    """The value of `key` in additionalConfig as the operator reads it (go-ini, default options) and writes it into
    rabbitmq.conf: `#`/`;` lines and inline comments dropped, `=` or `:` between key and value, surrounding quotes
    dropped, the last line wins. A line it cannot read fails the whole configuration: None."""
    value = None
    for raw in conf.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut <= 0 or line.startswith("["):
            return None
        text = re.split(r"[#;]", line[cut + 1 :], maxsplit=1)[0].strip()
        if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
            text = text[1:-1]
        if line[:cut].strip() == key:
            value = text
    return value


def erlang_setting(advanced: str, key: str) -> str | None:
    """The value advanced.config gives `key` ({key, value} with an atom or a binary), `%` comments dropped."""
    terms = "\n".join(line.split("%", 1)[0] for line in advanced.splitlines())
    found = re.findall(r"\{\s*" + key + r"\s*,\s*(?:<<\s*\"([^\"]*)\"\s*>>|'?([a-z_]+)'?)\s*\}", terms)
    return "".join(found[-1]) if found else None


@rules.resource("data-rabbitmq-quorum", "Queues are quorum queues, replicated across the nodes.", [RABBITMQ])
def rabbitmq_quorum(cluster: Resource) -> Iterator[str]:
    conf = str(cluster.get("spec", "rabbitmq", "additionalConfig", default=""))
    advanced = erlang_setting(str(cluster.get("spec", "rabbitmq", "advancedConfig", default="")), "default_queue_type")
    # advanced.config is applied over rabbitmq.conf.
    if (advanced or rabbitmq_setting(conf, "default_queue_type")) != "quorum":
        yield "spec.rabbitmq.additionalConfig must set default_queue_type = quorum (and advancedConfig not override it)"
