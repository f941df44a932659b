"""Property tests: the rules judge what a resource means, not how it is spelled.

Every rule: its passing fixture stays passing and its violating fixture stays flagged under changes that
do not touch the intent (resource order, unrelated keys, other resources' tags). The rules that were
passed by a differently spelled violation get generators of violating variants, judged against an
independent statement of the intent.
"""

import copy
import ipaddress
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.iam import ESCALATING_ACTIONS, escalations
from policy.rules import Resource, evaluate
from policy.rules.base import covers_everything as pack_covers_everything
from policy.rules.data import cron_never_fires
from settings.base import covers_everything as settings_covers_everything

from .test_policy_rules import (
    BUCKET,
    BUCKETS_OK,
    DEPLOYMENT,
    DUMP_JOB,
    EKS,
    FIXTURES,
    KEY,
    MONGO,
    RABBIT,
    RULE_BY_ID,
    SCRATCH_CLASS,
    SCRATCH_DUMP,
    SG,
    STORAGE_CLASS,
    STS,
    changed,
    ephemeral_volume,
    res,
    with_pod_volumes,
)

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)


def with_noise(r: Resource, key: str, value: Any, tags: dict[str, str]) -> Resource:
    """The same resource with an unrelated input and any tags a user might set: neither may change a verdict."""
    inputs = copy.deepcopy(dict(r.inputs)) | {key: value}
    if "tags" in inputs or r.type.startswith("aws:"):
        inputs["tags"] = {**(inputs.get("tags") or {}), **tags}
    return Resource(r.urn, r.type, r.name, inputs, r.protect, r.retain_on_delete, r.dependencies)


NOISE = st.tuples(
    st.sampled_from(["zzUnrelated", "description", "x-note"]),
    st.one_of(st.text(max_size=8), st.integers(), st.booleans()),
    st.dictionaries(
        st.sampled_from(["purpose", "exempt", "policy-skip", "owner"]), st.sampled_from(["logs", "true", "ci", "*"]), max_size=3
    ),
)


@PROPERTY
@given(rule_id=st.sampled_from(sorted(FIXTURES)), seed=st.integers(0, 2**16), noise=NOISE)
def test_every_rule_keeps_its_verdict_whatever_the_spelling_around_the_intent(rule_id: str, seed: int, noise: tuple) -> None:
    good, bad = FIXTURES[rule_id]
    rule = RULE_BY_ID[rule_id]
    shuffle = random.Random(seed).sample
    assert evaluate(shuffle([with_noise(r, *noise) for r in good], len(good)), "prod", [rule]) == []
    assert evaluate(shuffle([with_noise(r, *noise) for r in bad], len(bad)), "prod", [rule])


# -- the pieces of the world (the k8s-pdb and k8s-default-deny properties moved to tests/intents/kubernetes.py).


def halves(prefix: int) -> list[str]:
    return [str(n) for n in ipaddress.ip_network("0.0.0.0/0").subnets(new_prefix=prefix)]


def halves_st(prefix: int) -> st.SearchStrategy[str]:
    return st.sampled_from(halves(prefix))


# -- data-rabbitmq-quorum: the setting rabbitmq.conf ends up with, not a text match.

CONF_LINES = st.lists(
    st.one_of(
        st.sampled_from(["quorum", "classic", "stream"]).map(lambda t: ("set", t)),
        st.sampled_from(["quorum", "classic"]).map(lambda t: ("comment", t)),
        st.just(("other", "")),
    ),
    max_size=6,
)


@PROPERTY
@given(lines=CONF_LINES, spacing=st.sampled_from(["=", " = ", "  =  "]))
def test_rabbitmq_quorum_reads_the_effective_setting(lines: list[tuple[str, str]], spacing: str) -> None:
    text = []
    for kind, value in lines:
        if kind == "set":
            text.append(f"default_queue_type{spacing}{value}")
        elif kind == "comment":
            text.append(f"# default_queue_type{spacing}{value}")
        else:
            text.append("log.console = true")
    effective = next((v for k, v in reversed(lines) if k == "set"), None)
    cluster = changed(RABBIT, spec={**RABBIT.inputs["spec"], "rabbitmq": {"additionalConfig": "\n".join(text)}})
    assert bool(evaluate([cluster], "prod", [RULE_BY_ID["data-rabbitmq-quorum"]])) == (effective != "quorum")


# -- data-mongodb-backups: a dump CronJob that is suspended or never fires is no backup.

NEVER = st.sampled_from(["0 0 30 2 *", "0 0 31 2 *", "0 0 31 4 *", "0 0 31 6,9,11 *", "0 0 30,31 FEB *", "15 3 31 apr *"])
FIRES = st.sampled_from(["0 18 * * *", "0 0 29 2 *", "0 0 31 * *", "*/15 * * * *", "@daily", "0 0 31 2 1", "0 3 1-7 * 0"])


@PROPERTY
@given(schedule=NEVER)
def test_a_schedule_that_never_fires_is_flagged(schedule: str) -> None:
    job = changed(DUMP_JOB, spec={**DUMP_JOB.inputs["spec"], "schedule": schedule})
    assert cron_never_fires(schedule)
    assert evaluate([MONGO, job], "prod", [RULE_BY_ID["data-mongodb-backups"]])


@PROPERTY
@given(schedule=FIRES, suspend=st.sampled_from([True, "true", "True"]))
def test_a_suspended_backup_is_flagged_and_a_firing_one_passes(schedule: str, suspend: Any) -> None:
    job = changed(DUMP_JOB, spec={**DUMP_JOB.inputs["spec"], "schedule": schedule})
    assert evaluate([MONGO, job], "prod", [RULE_BY_ID["data-mongodb-backups"]]) == []
    suspended = changed(job, spec={**job.inputs["spec"], "suspend": suspend})
    assert evaluate([MONGO, suspended], "prod", [RULE_BY_ID["data-mongodb-backups"]])


# -- data-claims-retained: a claim is only as safe as the storage class it names.


@PROPERTY
@given(
    claimed=st.one_of(st.none(), st.sampled_from(["data", "gp2", "gp3", "DATA"])),
    reclaim=st.sampled_from(["Retain", "Delete", None]),
)
def test_claims_are_judged_by_their_storage_class(claimed: str | None, reclaim: str | None) -> None:
    storage_class = changed(STORAGE_CLASS, reclaimPolicy=reclaim)
    spec = {**STS.inputs["spec"], "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": claimed}}]}
    flagged = bool(evaluate([storage_class, changed(STS, spec=spec)], "prod", [RULE_BY_ID["data-claims-retained"]]))
    assert flagged == (claimed != "data" or reclaim != "Retain")


@PROPERTY
@given(reclaim=st.sampled_from(["Retain", "Delete", None]))
def test_on_a_customers_cluster_only_the_classes_the_stack_declares_are_judged(reclaim: str | None) -> None:
    """The customer's class (undeclared) is theirs to keep; a class the stack declares is judged everywhere.
    Resources carry their stack's tier, as the offline preview and the pack (INSIGHT_TIER) set it."""
    rule = [RULE_BY_ID["data-claims-retained"]]

    def on(tier: str, *resources: Resource) -> list[Resource]:
        return [replace(r, tier=tier) for r in resources]

    customers = {**STS.inputs["spec"], "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "standard"}}]}
    assert evaluate(on("onprem", changed(STS, spec=customers)), "onprem", rule) == []
    assert evaluate(on("prod", changed(STS, spec=customers)), "prod", rule)  # the same claim on an AWS tier: flagged
    declared = changed(STORAGE_CLASS, reclaimPolicy=reclaim)
    ours = {**STS.inputs["spec"], "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "data"}}]}
    assert bool(evaluate(on("onprem", declared, changed(STS, spec=ours)), "onprem", rule)) == (reclaim != "Retain")


# -- data-storage-class: a class may delete its volumes only when nothing but pods' ephemeral volumes names it.


def scratch_users(kinds: list[str], storage_class: str) -> list[Resource]:
    """Resources naming `storage_class`: an ephemeral volume of a CronJob's or a Deployment's pods, or a persistent claim."""
    users = []
    for i, kind in enumerate(kinds):
        if kind == "cronjob-ephemeral":
            users.append(changed(with_pod_volumes(SCRATCH_DUMP, ephemeral_volume(storage_class)), zz=i))
        elif kind == "deployment-ephemeral":
            pod = {**DEPLOYMENT.inputs["spec"]["template"]["spec"], "volumes": [ephemeral_volume(storage_class)]}
            template = {**DEPLOYMENT.inputs["spec"]["template"], "spec": pod}
            users.append(changed(DEPLOYMENT, spec={**DEPLOYMENT.inputs["spec"], "template": template}))
        elif kind == "statefulset-claim":
            claim = {"metadata": {"name": "data"}, "spec": {"storageClassName": storage_class}}
            users.append(changed(STS, spec={**STS.inputs["spec"], "volumeClaimTemplates": [claim]}))
        else:
            users.append(res("kubernetes:core/v1:PersistentVolumeClaim", {"spec": {"storageClassName": storage_class}}, f"pvc{i}"))
    return users


@PROPERTY
@given(
    kinds=st.lists(st.sampled_from(["cronjob-ephemeral", "deployment-ephemeral", "statefulset-claim", "pvc"]), max_size=4),
    labelled=st.booleans(),
    default=st.booleans(),
)
def test_a_deleting_class_is_judged_by_what_claims_it_not_by_its_label(kinds: list[str], labelled: bool, default: bool) -> None:
    metadata: dict[str, Any] = {"name": "scratch"}
    if labelled:
        metadata["labels"] = {"insight.io/volumes": "scratch"}  # any user can set it: it must change nothing
    if default:
        metadata["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    deleting = changed(SCRATCH_CLASS, metadata=metadata)
    flagged = bool(evaluate([STORAGE_CLASS, deleting, *scratch_users(kinds, "scratch")], "prod", [RULE_BY_ID["data-storage-class"]]))
    only_ephemeral = bool(kinds) and all(k.endswith("-ephemeral") for k in kinds)
    assert flagged == (not only_ephemeral or default)


@PROPERTY
@given(kinds=st.lists(st.sampled_from(["cronjob-ephemeral", "deployment-ephemeral", "statefulset-claim", "pvc"]), min_size=1, max_size=4))
def test_persistent_claims_on_a_scratch_class_are_refused(kinds: list[str]) -> None:
    flagged = bool(evaluate([STORAGE_CLASS, SCRATCH_CLASS, *scratch_users(kinds, "scratch")], "prod", [RULE_BY_ID["data-claims-retained"]]))
    assert flagged == any(not k.endswith("-ephemeral") for k in kinds)


# -- data-protected and s3-companions: no tag exempts a bucket.


@PROPERTY
@given(tags=st.dictionaries(st.sampled_from(["purpose", "Name", "exempt"]), st.sampled_from(["logs", "backups", "true"]), min_size=1))
def test_no_tag_exempts_a_bucket(tags: dict[str, str]) -> None:
    unprotected = res(BUCKET.type, {"tags": tags}, "b", protect=False)
    assert evaluate([unprotected], "prod", [RULE_BY_ID["data-protected"]])
    assert evaluate([unprotected, KEY], "prod", [RULE_BY_ID["data-protected"]])
    tagged_as_logs = [with_noise(r, "zz", 1, tags) if r.type == BUCKET.type else r for r in BUCKETS_OK if r.name != "log"]
    assert evaluate(tagged_as_logs, "prod", [RULE_BY_ID["s3-companions"]])  # the data bucket lost its access log


# -- net-no-world-ingress and eks-endpoint-limited: the world split into pieces is still the world.


@PROPERTY
@given(prefix=st.integers(1, 4), drop=st.booleans(), port=st.sampled_from([22, 80, 5432, 8080]))
def test_world_split_into_ranges_is_still_the_world(prefix: int, drop: bool, port: int) -> None:
    pieces = halves(prefix)[: -1 if drop else None]
    sg = changed(SG, ingress=[{"fromPort": port, "toPort": port, "cidrBlocks": pieces}])
    split_rules = changed(SG, ingress=[{"fromPort": port, "toPort": port, "cidrBlocks": [c]} for c in pieces])
    cluster = changed(EKS, publicAccessCidrs=pieces)
    for resource, rule in ((sg, "net-no-world-ingress"), (split_rules, "net-no-world-ingress"), (cluster, "eks-endpoint-limited")):
        assert bool(evaluate([resource], "prod", [RULE_BY_ID[rule]])) == (not drop), (rule, pieces)


# -- the catalog's IAM judge: a wildcard covering an escalating action is refused, in any case.


@PROPERTY
@given(action=st.sampled_from(ESCALATING_ACTIONS), cut=st.integers(0, 30), upper=st.booleans())
def test_every_wildcard_covering_an_escalating_action_is_caught(action: str, cut: int, upper: bool) -> None:
    service, name = action.split(":")
    pattern = f"{service}:{name[: min(cut, len(name))]}*"
    assert action in escalations(pattern.upper() if upper else pattern)


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:Put*", "sqs:SendMessage", "iam:Get*", "iam:List*", "sts:GetCallerIdentity"])
def test_ordinary_actions_are_not_escalation(action: str) -> None:
    assert escalations(action) == []


@PROPERTY
@given(
    st.lists(
        st.one_of(st.sampled_from(["0.0.0.0/0", "::/0", "not-a-cidr", "::/1", "8000::/1"]), st.integers(0, 8).flatmap(halves_st)),
        max_size=6,
    )
)
def test_the_pack_and_the_settings_judge_coverage_alike(cidrs: list[str]) -> None:
    assert pack_covers_everything(cidrs) == settings_covers_everything(cidrs)
