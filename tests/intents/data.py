"""Intents of the rules in policy/rules/data.py (see tests/intents/__init__.py).

Each oracle states what the receiving engine does (AWS through the Pulumi AWS provider, the API server, the EBS CSI
driver, ECK, the MongoDB and RabbitMQ operators, Elasticsearch, the CronJob controller), from the facts cited beside it.
"""

import datetime
import json
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from policy.rules import Resource
from settings.tiers import TIERS

from ..test_policy_rules import BUCKET, CONTAINER, DEPLOYMENT, EKS, ES, KEY, MONGO, RABBIT, REPO, STS, VPC, ZONE, k8s, res
from . import Case, Intents

# Tiers whose stacks keep what cannot be rebuilt (settings/tiers.py `protected`); `test` is thrown away.
TIER_NAMES = st.sampled_from(sorted(TIERS))
# Tags and labels anyone can set: no verdict may depend on them.
USER_TAGS = st.dictionaries(
    st.sampled_from(["purpose", "exempt", "policy-skip", "Name"]),
    st.sampled_from(["logs", "backups", "true", "data-protected"]),
    max_size=2,
)


def favour(good: list[Any], others: list[Any]) -> st.SearchStrategy[Any]:
    """One of `good` at least half the time, so passing cases are drawn as often as violating ones."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good + others))


def on_tier(tier: str, resources: list[Resource]) -> list[Resource]:
    """Resources as the preview and the pack see them: carrying their stack's tier."""
    return [replace(r, tier=tier) for r in resources]


# -- data-protected and data-retained: the options Pulumi sends, whatever the resource's tags say.

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"  # the AWS provider v7 still declares buckets of the older type
PVC_TYPE = "kubernetes:core/v1:PersistentVolumeClaim"
SG_TYPE = "aws:ec2/securityGroup:SecurityGroup"
# The reasons name them: VPC, cluster, keys, zones, buckets; and data buckets, keys, zones, repositories, volumes.
IRREPLACEABLE = {VPC.type, EKS.type, KEY.type, ZONE.type, BUCKET.type, BUCKET_V2}
RETAINED = {KEY.type, ZONE.type, BUCKET.type, BUCKET_V2, REPO.type, PVC_TYPE}
OPTION_TYPES = st.sampled_from(sorted(IRREPLACEABLE | RETAINED | {SG_TYPE}))


def kept_resources(option: str) -> st.SearchStrategy[Case]:
    """Resources of several types, each with `protect` and `retainOnDelete` as Pulumi records them and any tags."""

    def case(tier: str, drawn: list[tuple[str, bool, bool, dict[str, str]]]) -> Case:
        resources = [
            res(type_, {"tags": tags}, f"r{i}", protect=protect, retain_on_delete=retain)
            for i, (type_, protect, retain, tags) in enumerate(drawn)
        ]
        if option == "protect":
            missing = any(type_ in IRREPLACEABLE and not protect for type_, protect, _, _ in drawn)
        else:
            missing = any(type_ in RETAINED and not retain for type_, _, retain, _ in drawn)
        return Case(on_tier(tier, resources), violates=TIERS[tier].protected and missing, tier=tier)

    return st.builds(case, TIER_NAMES, st.lists(st.tuples(OPTION_TYPES, st.booleans(), st.booleans(), USER_TAGS), min_size=1, max_size=4))


# -- kms-key-hygiene: the values AWS ends up with. The provider (Terraform bridge, SDK v2) reads a bool given as a
# string as Go's strconv.ParseBool and an int given as a string as ParseInt; what it cannot read is refused.

ROTATION = favour(
    [(True, True), ("true", True), ("True", True), ("TRUE", True), ("1", True), ("t", True)],
    [(False, False), ("false", False), ("0", False), ("yes", False), ("on", False), (None, False)],
)
# AWS rotates every 365 days unless told otherwise, accepting 90..2560; "yearly" is at most 365.
PERIOD = favour(
    [(None, 365), (90, 90), (180, 180), (365, 365), ("365", 365), ("180", 180)],
    [(366, 366), (730, 730), ("400", 400), (30, 30), ("yearly", 0)],
)
# AWS waits 30 days when no window is given; it accepts 7..30.
WINDOW = favour([(None, 30), (30, 30), ("30", 30)], [(7, 7), ("7", 7), (29, 29), (31, 31), ("thirty", 0)])


def key_hygiene() -> st.SearchStrategy[Case]:
    def case(keys: list[tuple[tuple[Any, bool], tuple[Any, int], tuple[Any, int], dict[str, str]]]) -> Case:
        resources, bad = [], False
        for i, ((rotation, rotates), (period, days), (window, waits), tags) in enumerate(keys):
            inputs = {"enableKeyRotation": rotation, "rotationPeriodInDays": period, "deletionWindowInDays": window, "tags": tags}
            resources.append(res(KEY.type, {k: v for k, v in inputs.items() if v is not None}, f"key{i}", protect=True))
            bad |= not (rotates and 90 <= days <= 365) or waits != 30
        return Case(resources, violates=bad)

    return st.lists(st.tuples(ROTATION, PERIOD, WINDOW, USER_TAGS), min_size=1, max_size=2).map(case)


# -- data-storage-class and data-claims-retained: classes as the API server and the EBS CSI driver take them, and
# the claims that name them.

SC_TYPE = "kubernetes:storage.k8s.io/v1:StorageClass"
GA_DEFAULT = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT = "storageclass.beta.kubernetes.io/is-default-class"
# A class is the default only on the exact string "true" of either annotation (component-helpers IsDefaultAnnotation).
DEFAULT_MARKS = st.sampled_from(
    [
        ({}, False),
        ({GA_DEFAULT: "true"}, True),
        ({BETA_DEFAULT: "true"}, True),
        ({GA_DEFAULT: "True"}, False),
        ({GA_DEFAULT: "false"}, False),
    ]
)
# The API server takes reclaimPolicy Retain or Delete (default Delete) and refuses any other spelling with the class.
RECLAIM = favour(["Retain"], ["Delete", None, "retain"])
# The driver lower-cases parameter names and encrypts only on the exact value "true"; parameters are strings, so
# the API server refuses a bool.
ENCRYPTION = favour(
    [({"encrypted": "true"}, True), ({"Encrypted": "true"}, True)],
    [({"encrypted": "True"}, False), ({"encrypted": True}, False), ({"encrypted": "false"}, False), ({}, False)],
)
EXPANSION = favour([(True, True)], [(False, False), (None, False), ("true", False)])  # a string is refused
BINDING = favour([("WaitForFirstConsumer", True)], [("Immediate", False), (None, False), ("waitForFirstConsumer", False)])


def storage_class(name: str, reclaim: str | None, default_mark: dict[str, str], **inputs: Any) -> Resource:
    metadata: dict[str, Any] = {"name": name, "labels": {"insight.io/volumes": "scratch"}, "annotations": default_mark}
    spec = {"reclaimPolicy": reclaim, "provisioner": "ebs.csi.aws.com", **inputs}
    return res(SC_TYPE, {"metadata": metadata, **{k: v for k, v in spec.items() if v is not None}}, name)


def ephemeral(class_name: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}
    if class_name is not None:
        spec["storageClassName"] = class_name
    return {"name": "backup", "ephemeral": {"volumeClaimTemplate": {"spec": spec}}}


def claim(class_name: str | None, name: str = "data") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {} if class_name is None else {"storageClassName": class_name}}


def with_pod(template_holder: dict[str, Any], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    template = template_holder["template"]
    return {**template_holder, "template": {**template, "spec": {**template["spec"], "volumes": volumes}}}


# Who names a class: pods' generic ephemeral volumes (made and deleted with their pod, whatever the class says) and
# persistent claims (a PVC, a StatefulSet's templates, the operators' resources).
EPHEMERAL_USERS = ("cronjob-ephemeral", "deployment-ephemeral", "statefulset-pod-ephemeral")


def user(kind: str, class_name: str | None, i: int) -> Resource:
    """A resource of `kind` naming `class_name` (None: naming none, so taking the default class)."""
    if kind == "cronjob-ephemeral":
        pod = {"containers": [CONTAINER], "volumes": [ephemeral(class_name)]}
        return k8s("CronJob", "batch/v1", {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}}, f"job{i}")
    if kind == "deployment-ephemeral":
        return k8s("Deployment", "apps/v1", with_pod(DEPLOYMENT.inputs["spec"], [ephemeral(class_name)]), f"deploy{i}")
    if kind == "statefulset-pod-ephemeral":
        spec = {k: v for k, v in STS.inputs["spec"].items() if k != "volumeClaimTemplates"}
        return k8s("StatefulSet", "apps/v1", with_pod(spec, [ephemeral(class_name)]), f"sts-e{i}")
    if kind == "statefulset-claim":
        return k8s("StatefulSet", "apps/v1", {**STS.inputs["spec"], "volumeClaimTemplates": [claim(class_name)]}, f"sts{i}")
    if kind == "pvc":
        return k8s("PersistentVolumeClaim", "v1", claim(class_name)["spec"], f"pvc{i}")
    if kind == "es-claim":
        node_set = {**ES.inputs["spec"]["nodeSets"][0], "volumeClaimTemplates": [claim(class_name, "elasticsearch-data")]}
        return k8s("Elasticsearch", "elasticsearch.k8s.elastic.co/v1", {"nodeSets": [node_set]}, f"es{i}", "logging")
    if kind == "es-default":  # no template: ECK adds elasticsearch-data on the default class (AppendDefaultPVCs)
        return k8s("Elasticsearch", "elasticsearch.k8s.elastic.co/v1", ES.inputs["spec"], f"es{i}", "logging")
    if kind in ("mongodb-claims", "mongodb-data-only"):  # the operator's templates overridden by name, or data-volume only
        names = ["data-volume", "logs-volume"] if kind == "mongodb-claims" else ["data-volume"]
        templates = [claim(class_name, name) for name in names]
        return k8s(
            "MongoDBCommunity",
            MONGO.inputs["apiVersion"],
            {**MONGO.inputs["spec"], "statefulSet": {"spec": {"volumeClaimTemplates": templates}}},
            f"mongo{i}",
            "data",
        )
    if kind == "rabbitmq":
        persistence = {} if class_name is None else {"storageClassName": class_name}
        return k8s("RabbitmqCluster", "rabbitmq.com/v1beta1", {**RABBIT.inputs["spec"], "persistence": persistence}, f"rmq{i}", "messaging")
    raise ValueError(kind)


def claimed_classes(kind: str, class_name: str | None) -> list[str | None]:
    """The class of each persistent claim a user makes (None: the default class)."""
    if kind in EPHEMERAL_USERS:
        return []
    if kind == "es-default":
        return [None]
    if kind == "mongodb-data-only":
        return [class_name, None]
    return [class_name]


PERSISTENT_USERS = ("statefulset-claim", "pvc", "es-claim", "es-default", "mongodb-claims", "mongodb-data-only", "rabbitmq")
USERS = st.sampled_from(EPHEMERAL_USERS + PERSISTENT_USERS)


def storage_classes() -> st.SearchStrategy[Case]:
    """A class that deletes its volumes is right only when nothing but pods' ephemeral volumes names it (and it is not
    the default, which every claim naming no class gets); every class encrypts and binds in the pod's zone."""
    encrypted_zonal = (({"encrypted": "true"}, True), ("WaitForFirstConsumer", True), ({}, False))
    data_class, scratch_class = ("Retain", (True, True), *encrypted_zonal), ("Delete", (None, False), *encrypted_zonal)
    drawn_class = st.one_of(st.sampled_from([data_class, scratch_class]), st.tuples(RECLAIM, EXPANSION, ENCRYPTION, BINDING, DEFAULT_MARKS))

    def case(classes: dict[str, tuple], users: list[tuple[str, str | None]]) -> Case:
        resources = [
            storage_class(name, reclaim, mark, allowVolumeExpansion=expansion, parameters=params, volumeBindingMode=binding)
            for name, (reclaim, (expansion, _), (params, _), (binding, _), (mark, _)) in classes.items()
        ]
        resources += [user(kind, class_name, i) for i, (kind, class_name) in enumerate(users)]
        bad = False
        for name, (reclaim, (_, expands), (_, encrypts), (_, zonal), (_, is_default)) in classes.items():
            named_by_pods = any(kind in EPHEMERAL_USERS and named == name for kind, named in users)
            named_by_claims = any(claimed == name for kind, named in users for claimed in claimed_classes(kind, named))
            scratch = named_by_pods and not named_by_claims and not is_default
            bad |= not encrypts or not zonal or (not scratch and (reclaim != "Retain" or not expands))
        return Case(resources, violates=bad)

    names = st.sampled_from(["data", "scratch"])
    return st.builds(
        case,
        st.dictionaries(names, drawn_class, min_size=1, max_size=2),
        st.lists(st.tuples(USERS, st.sampled_from(["data", "scratch", None])), max_size=3),
    )


# -- data-volume-key: EC2 encrypts an EBS volume with the key the class names by its full ARN (the driver's
# documented form) or, named by none, with the AWS-managed aws/ebs key. Each value is drawn with that verdict.
KEY_VALUES = favour(
    [
        ("arn:aws:kms:us-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ("arn:aws:kms:eu-central-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab", True),
        ("arn:aws-us-gov:kms:us-gov-west-1:333333333333:key/0b2c4d6e-1111-2222-3333-444455556666", True),
        ("[unknown]", True),  # the key's ARN before it exists, as offline records show an output
    ],
    [
        ("", False),
        ("alias/aws/ebs", False),
        ("arn:aws:kms:us-west-2:111111111111:alias/aws/ebs", False),  # an alias: which key it names can change
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),  # a key id, not the ARN the driver documents
        ("arn:aws:kms:us-west-2:111111111111:key/", False),
        (" arn:aws:kms:us-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:s3:::insight-backups", False),
        (True, False),
    ],
)
KEY_NAMES = st.sampled_from(["kmsKeyId", "kmskeyid", "KMSKEYID"])
EBS_MAKERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "ebs.csi.eks.amazonaws.com")
PROVISIONERS = favour(list(EBS_MAKERS), ["efs.csi.aws.com", "rancher.io/local-path", "EBS.CSI.AWS.COM"])


def volume_keys() -> st.SearchStrategy[Case]:
    """On a tier that declares its classes (AWS), a class making EBS volumes names one key by ARN; spellings of the
    parameter that disagree leave the key to the driver's map order. Other drivers and a customer's tier: no judgement."""

    def case(tier: str, provisioner: str, named: list[tuple[str, tuple[Any, bool]]]) -> Case:
        parameters = {"type": "gp3", "encrypted": "true", **{name: value for name, (value, _) in named}}
        sc = storage_class("data", "Retain", {}, provisioner=provisioner, parameters=parameters, volumeBindingMode="WaitForFirstConsumer")
        values = list(dict(named).values())  # a later value of the same spelling replaces the earlier
        makes_ebs = TIERS[tier].aws and provisioner in EBS_MAKERS
        one_key = bool(values) and all(v == values[0] for v in values) and values[0][1]
        return Case(on_tier(tier, [sc]), violates=makes_ebs and not one_key, tier=tier)

    return st.builds(case, st.sampled_from(sorted(TIERS)), PROVISIONERS, st.lists(st.tuples(KEY_NAMES, KEY_VALUES), max_size=2))


def claims_retained() -> st.SearchStrategy[Case]:
    """Each persistent claim lands on the class it names (or the default class when it names none, or no class at all
    for ""): that class must be declared and Retain. On a customer's cluster the class the stack names but cannot
    declare is the customer's (README, On-prem), so only declared classes are judged there."""
    classes = st.dictionaries(st.sampled_from(["data", "scratch", "fast"]), st.tuples(RECLAIM, DEFAULT_MARKS), max_size=2)
    class_names = st.sampled_from(["data", "scratch", "fast", "gp2", "DATA", "", None])

    def case(tier: str, declared: dict[str, tuple], users: list[tuple[str, str | None]]) -> Case:
        resources = [
            storage_class(name, reclaim, mark, parameters={"encrypted": "true"}) for name, (reclaim, (mark, _)) in declared.items()
        ]
        resources += [user(kind, class_name, i) for i, (kind, class_name) in enumerate(users)]
        defaults = {name for name, (_, (_, is_default)) in declared.items() if is_default}

        def lost(class_name: str | None) -> bool:
            if class_name is None:
                return not defaults or any(declared[d][0] != "Retain" for d in defaults)
            if class_name not in declared:  # "" asks for no class; "DATA" is no class name (DNS subdomain): refused
                return class_name in ("", "DATA") or TIERS[tier].aws
            return declared[class_name][0] != "Retain"

        bad = any(lost(c) for kind, class_name in users for c in claimed_classes(kind, class_name))
        return Case(on_tier(tier, resources), violates=bad, tier=tier)

    return st.builds(case, st.sampled_from(["prod", "onprem"]), classes, st.lists(st.tuples(USERS, class_names), max_size=3))


# -- data-pvc-retention: the API server takes Retain or Delete (whenScaled defaults to Retain) and refuses the
# StatefulSet on any other spelling; ECK deletes the claims with the cluster unless told DeleteOnScaledownOnly.

WHEN = favour(["Retain"], ["Delete", "retain", None])
SCALED = favour(["Retain", "Delete", None], ["retain", "Keep"])
ECK_POLICY = favour(["DeleteOnScaledownOnly"], ["DeleteOnScaledownAndClusterDeletion", "deleteOnScaledownOnly", None])


def pvc_retention() -> st.SearchStrategy[Case]:
    def case(sets: list[tuple[int, Any, Any, bool]], es_policies: list[str | None]) -> Case:
        resources, bad = [], False
        for i, (templates, deleted, scaled, as_null) in enumerate(sets):
            policy = {k: v for k, v in (("whenDeleted", deleted), ("whenScaled", scaled)) if v is not None}
            spec = {
                k: v for k, v in STS.inputs["spec"].items() if k not in ("volumeClaimTemplates", "persistentVolumeClaimRetentionPolicy")
            }
            spec |= {
                "volumeClaimTemplates": [claim("data")] * templates,
                "persistentVolumeClaimRetentionPolicy": None if as_null else policy,
            }
            resources.append(k8s("StatefulSet", "apps/v1", spec, f"sts{i}"))
            explicit_retain = not as_null and deleted == "Retain"
            bad |= templates > 0 and (not explicit_retain or scaled not in ("Retain", "Delete", None))
        for i, policy in enumerate(es_policies):
            spec = {**ES.inputs["spec"], **({"volumeClaimDeletePolicy": policy} if policy else {})}
            resources.append(k8s("Elasticsearch", "elasticsearch.k8s.elastic.co/v1", spec, f"es{i}", "logging"))
            bad |= policy != "DeleteOnScaledownOnly"
        return Case(resources, violates=bad)

    sets = st.lists(st.tuples(st.integers(0, 2), WHEN, SCALED, favour([False], [True])), max_size=2)
    return st.builds(case, sets, st.lists(ECK_POLICY, max_size=1))


# -- cron as the CronJob controller reads it (robfig/cron v3 ParseStandard): a field's values, and whether it counts
# as `*` (`*` or `?`, unstepped or stepped by 1). With both day fields restricted a day matches on either; otherwise
# on both. Each spelling below is drawn with the values it stands for, so the oracle never parses.

ALL_DAYS, ALL_MONTHS, ALL_WEEKDAYS = set(range(1, 32)), set(range(1, 13)), set(range(7))
DOM = st.sampled_from(
    [("*", ALL_DAYS, True), ("?", ALL_DAYS, True), ("*/1", ALL_DAYS, True), ("*/2", set(range(1, 32, 2)), False)]
    + [(str(d), {d}, False) for d in (1, 15, 28, 29, 30, 31)]
    + [("29-31", {29, 30, 31}, False), ("30,31", {30, 31}, False), ("1-7", set(range(1, 8)), False), ("31/1", {31}, False)]
)
MONTHS = st.sampled_from(
    [("*", ALL_MONTHS), ("2", {2}), ("FEB", {2}), ("feb", {2}), ("Feb", {2}), ("APR,JUN,SEP,NOV", {4, 6, 9, 11})]
    + [("apr-jun", {4, 5, 6}), ("*/3", {1, 4, 7, 10}), ("2-4", {2, 3, 4}), ("11", {11})]
)
DOW = st.sampled_from(
    [("*", ALL_WEEKDAYS, True), ("?", ALL_WEEKDAYS, True), ("*/1", ALL_WEEKDAYS, True), ("*/2", {0, 2, 4, 6}, False)]
    + [("MON", {1}, False), ("mon-fri", {1, 2, 3, 4, 5}, False), ("0", {0}, False), ("SAT,SUN", {6, 0}, False)]
)
TIMES = st.sampled_from(["0 3", "*/15 *", "30 1-5", "0,30 18", "5/20 ?"])
GAPS = st.sampled_from([" ", "  ", "\t"])
# Descriptors and forms Kubernetes refuses, with whether the schedule fires (None: refused).
OTHER_SCHEDULES = st.sampled_from(
    [
        ("@daily", True),
        ("@midnight", True),
        ("@hourly", True),
        ("@weekly", True),
        ("@monthly", True),
        ("@yearly", True),
        ("@annually", True),
    ]
    + [("@every 1h", True), ("@every 90m", True), ("@reboot", None), ("@DAILY", None), ("@every day", None), ("@daily ", None)]
    + [("0 0 * * 7", None), ("0 0 L * *", None), ("0 0 0 * *", None), ("0 0 * 13 *", None), ("0 0 * * * *", None), ("0 0 1 1", None)]
    + [("TZ=UTC 0 0 * * *", None), ("CRON_TZ=Etc/UTC 0 3 * * *", None), ("0 0 5-1 * *", None), ("*/0 * * * *", None), ("", None)]
)


def fires(days_of_month: set[int], dom_star: bool, months: set[int], weekdays: set[int], dow_star: bool) -> bool:
    """Whether some day of a whole leap cycle (2024-2031) matches, walked one day at a time."""
    day, end = datetime.date(2024, 1, 1), datetime.date(2032, 1, 1)
    while day < end:
        dom, dow = day.day in days_of_month, (day.weekday() + 1) % 7 in weekdays  # cron counts Sunday as 0
        if day.month in months and ((dom and dow) if dom_star or dow_star else (dom or dow)):
            return True
        day += datetime.timedelta(days=1)
    return False


def schedules() -> st.SearchStrategy[tuple[str, bool | None]]:
    """A schedule's text and whether it fires (None: the API server refuses it)."""

    def five_fields(times: str, gap: str, dom: tuple, month: tuple, dow: tuple) -> tuple[str, bool | None]:
        text = gap.join([*times.split(), dom[0], month[0], dow[0]])
        return text, fires(dom[1], dom[2], month[1], dow[1], dow[2])

    return st.one_of(st.builds(five_fields, TIMES, GAPS, DOM, MONTHS, DOW), OTHER_SCHEDULES)


def schedule_fires(text: str) -> bool:
    """Whether a plain five-field schedule (numbers, `*`, ranges, steps, lists) fires, by the same day walk: the
    tests of the program's own schedules use it."""

    def values(field: str, low: int, high: int) -> tuple[set[int], bool]:
        found: set[int] = set()
        for part in field.split(","):
            span, _, step = part.partition("/")
            first, _, last = (f"{low}", "", f"{high}") if span == "*" else span.partition("-")
            found |= set(range(int(first), int(last or (high if step else first)) + 1, int(step or 1)))
        return found, field in ("*", "*/1")

    fields = {"@daily": "0 0 * * *", "@hourly": "0 * * * *"}.get(text, text).split()
    if len(fields) != 5:
        return False
    (dom, dom_star), (month, _), (dow, dow_star) = values(fields[2], 1, 31), values(fields[3], 1, 12), values(fields[4], 0, 6)
    return fires(dom, dom_star, month, dow, dow_star)


# -- data-mongodb-backups: a dump CronJob that the API server takes, that is not suspended and whose schedule fires.

# suspend and startingDeadlineSeconds are typed fields: the API server refuses a string (and with it the CronJob).
SUSPEND = favour([(None, True), (False, True)], [(True, False), ("true", False), ("false", False), ("True", False)])
# The controller looks every 10 s: a shorter deadline may skip every run (Kubernetes CronJob docs); negative is refused.
DEADLINE = favour([(None, True), (300, True), (10, True)], [(5, False), (0, False), (-1, False), ("300", False)])
TIME_ZONES = st.sampled_from([None, "Etc/UTC", "Asia/Tokyo"])  # where the schedule is read; it fires in any


def dump_job(i: int, namespace: str, runs_mongodump: bool, schedule: str, *, suspend: Any, deadline: Any, zone: str | None) -> Resource:
    command = "mongodump --archive | aws s3 cp - s3://b/x" if runs_mongodump else "mongorestore --archive=/backup/x"
    pod = {"containers": [{**CONTAINER, "command": ["sh", "-c", command]}]}
    spec: dict[str, Any] = {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": pod}}}}
    spec |= {k: v for k, v in (("suspend", suspend), ("startingDeadlineSeconds", deadline), ("timeZone", zone)) if v is not None}
    return k8s("CronJob", "batch/v1", spec, f"dump{i}", namespace)


def mongodb_backups() -> st.SearchStrategy[Case]:
    job = st.tuples(favour(["data"], ["apps"]), favour([True], [False]), schedules(), SUSPEND, DEADLINE, TIME_ZONES)

    def case(jobs: list[tuple]) -> Case:
        resources: list[Resource] = [MONGO]
        working = False
        for i, (namespace, dumps, (schedule, schedule_fires), (suspend, runs), (deadline, starts), zone) in enumerate(jobs):
            resources.append(dump_job(i, namespace, dumps, schedule, suspend=suspend, deadline=deadline, zone=zone))
            working |= namespace == "data" and dumps and bool(schedule_fires) and runs and starts
        return Case(resources, violates=not working)

    return st.lists(job, max_size=3).map(case)


# -- data-es-snapshots: Elasticsearch snapshots only by an SLM policy (schedule and retention) into a repository of
# type s3, registered by a StackConfigPolicy or by requests a Job (run once) or a firing CronJob sends.

ES_URL = "https://logs-es-http:9200"
CURL = st.sampled_from(["curl -sS -X PUT", "curl -sS --fail-with-body -XPUT", "curl -X PUT"])


def es_request(curl: str, method: str, path: str, body: dict[str, Any]) -> str:
    return f"{curl.replace('PUT', method)} '{ES_URL}/{path}' -H 'Content-Type: application/json' -d '{json.dumps(body)}'"


REPOSITORY_TYPES = favour(["s3"], ["fs", "url", "S3"])  # repository types are names: "S3" is no type
# SLM schedules with whether they ever take a snapshot. Elasticsearch's cron is seconds first, with `?` in exactly one
# day field (else the PUT is refused); it takes a date that never comes (maintainers, elasticsearch issue 55450); it
# also takes an interval in time units (elasticsearch PR 110847, 8.16+; the stack runs 8.19).
SLM_SCHEDULES = favour(
    [("0 30 1 * * ?", True), ("0 0 12 ? * MON-FRI", True), ("0 0 0 L * ?", True), ("0 0 0 29 FEB ?", True), ("0 0 3 1,15 * ? *", True)]
    + [("1d", True), ("30m", True)],
    [(None, False), ("0 0 0 30 2 ?", False), ("0 0 0 31 APR,JUN,SEP,NOV ?", False), ("0 0 0 30,31 feb ? *", False)]
    + [("0 30 1 * * *", False), ("0 30 1 ? * ?", False), ("0 30 1 * *", False), ("daily", False)],
)
RETENTIONS = favour([{"expire_after": "30d", "min_count": 3}, {"max_count": 50}], [{}, None])
HOLDERS = favour(["job", "cronjob", "stack-config-policy"], ["suspended-cronjob", "never-cronjob"])


def es_snapshots() -> st.SearchStrategy[Case]:
    setup = st.tuples(
        HOLDERS, favour(["logging"], ["apps"]), CURL, st.sampled_from(["PUT", "POST"]), favour(["PUT"], ["POST", "GET"]),
        REPOSITORY_TYPES, favour([True], [False]), RETENTIONS, SLM_SCHEDULES, st.booleans(),
    )  # fmt: skip

    def case(setups: list[tuple]) -> Case:
        resources: list[Resource] = [ES]
        ok = False
        for i, (holder, namespace, curl, repo_method, method, repo_type, same_repo, retention, (slm_schedule, fires), split) in enumerate(
            setups
        ):
            repo_name = f"s3-backups-{i}"  # each setup its own names: no two overwrite each other
            policy: dict[str, Any] = {"name": "<nightly-{now/d}>", "repository": repo_name if same_repo else "other"}
            policy |= ({"schedule": slm_schedule} if slm_schedule else {}) | ({"retention": retention} if retention is not None else {})
            repository = {"type": repo_type, "settings": {"bucket": "b"}}
            if holder == "stack-config-policy":
                spec = {
                    "elasticsearch": {
                        "snapshotRepositories": {repo_name: repository},
                        "snapshotLifecyclePolicies": {f"nightly-{i}": policy},
                    }
                }
                resources.append(k8s("StackConfigPolicy", "stackconfigpolicy.k8s.elastic.co/v1alpha1", spec, f"scp{i}", namespace))
                sent = True
            else:
                lines = [
                    es_request(curl, repo_method, f"_snapshot/{repo_name}", repository),
                    es_request(curl, method, f"_slm/policy/nightly-{i}", policy),
                ]
                scripts = [["sh", "-c", line] for line in lines] if split else [["sh", "-c", "set -e\n" + "\n".join(lines)]]
                containers = [{**CONTAINER, "name": f"c{n}", "command": script} for n, script in enumerate(scripts)]
                pod = {"template": {"spec": {"restartPolicy": "Never", "containers": containers}}}
                if holder == "job":
                    resources.append(k8s("Job", "batch/v1", pod, f"setup{i}", namespace))
                else:
                    spec = {
                        "schedule": "0 0 30 2 *" if holder == "never-cronjob" else "0 6 * * *",
                        "jobTemplate": {"spec": pod},
                        **({"suspend": True} if holder == "suspended-cronjob" else {}),
                    }
                    resources.append(k8s("CronJob", "batch/v1", spec, f"setup{i}", namespace))
                sent = holder in ("job", "cronjob") and method == "PUT"  # a repository takes PUT or POST, a policy only PUT
            ok |= sent and namespace == "logging" and same_repo and repo_type == "s3" and bool(retention) and fires
        return Case(resources, violates=not ok)

    return st.lists(setup, max_size=2).map(case)


# -- data-rabbitmq-quorum: the value rabbitmq.conf ends up with. The operator reads additionalConfig with go-ini
# (v1.67, default options: `#`/`;` comment lines and inline comments, `=` or `:`, surrounding quotes dropped, the
# last line wins, a line without a delimiter fails the whole configuration); advanced.config is applied over it.

CONF_LINE = st.one_of(
    st.tuples(st.just("set"), favour(["quorum", '"quorum"'], ["classic", "stream", "Quorum", "'classic'"])),
    st.tuples(st.just("inline"), st.sampled_from(["quorum", "classic"])),
    st.tuples(st.just("comment"), st.sampled_from(["quorum", "classic"])),
    st.tuples(st.just("other"), st.just("")),
    st.tuples(st.just("broken"), st.just("")),
)
DELIMITERS = st.sampled_from(["=", " = ", "  =  ", ":", ": ", "\t=\t"])
ADVANCED = st.sampled_from(
    [
        (None, None),
        ('[{rabbit, [{default_queue_type, <<"quorum">>}]}].', "quorum"),
        ("[{rabbit, [{default_queue_type, classic}]}].", "classic"),
    ]
    + [('[{rabbit, [\n  %% {default_queue_type, <<"classic">>}\n  {log, []}]}].', None)]
)


def rabbitmq_quorum() -> st.SearchStrategy[Case]:
    def case(lines: list[tuple[str, str]], delimiter: str, indent: bool, advanced: tuple[str | None, str | None]) -> Case:
        text, effective, readable = [], None, True
        for kind, value in lines:
            key = ("  " if indent else "") + "default_queue_type"
            if kind == "set":
                text.append(f"{key}{delimiter}{value}")
                effective = value.strip("\"'")
            elif kind == "inline":
                text.append(f"{key}{delimiter}{value} # the default for new queues")
                effective = value
            elif kind == "comment":
                text.append(f"{'#' if indent else ';'} {key}{delimiter}{value}")
            elif kind == "other":
                text.append(f"cluster_partition_handling{delimiter}pause_minority")
            else:
                text.append("log.console")  # no delimiter: the operator fails to read the configuration
                readable = False
        conf, overriding = advanced
        spec = {**RABBIT.inputs["spec"], "rabbitmq": {"additionalConfig": "\n".join(text), **({"advancedConfig": conf} if conf else {})}}
        cluster = k8s("RabbitmqCluster", "rabbitmq.com/v1beta1", spec, "rmq", "messaging")
        final = overriding or (effective if readable else None)
        return Case([cluster], violates=final != "quorum")

    return st.builds(case, st.lists(CONF_LINE, max_size=5), DELIMITERS, st.booleans(), ADVANCED)


INTENTS: Intents = {
    "data-protected": kept_resources("protect"),
    "data-retained": kept_resources("retain"),
    "kms-key-hygiene": key_hygiene(),
    "data-storage-class": storage_classes(),
    "data-volume-key": volume_keys(),
    "data-claims-retained": claims_retained(),
    "data-pvc-retention": pvc_retention(),
    "data-es-snapshots": es_snapshots(),
    "data-mongodb-backups": mongodb_backups(),
    "data-rabbitmq-quorum": rabbitmq_quorum(),
}
