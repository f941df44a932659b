"""Property tests: the rules judge what a resource means, not how it is spelled.

Every rule: its passing fixture stays passing and its violating fixture stays flagged under changes that
do not touch the intent (resource order, unrelated keys, other resources' tags). The rules that were
passed by a differently spelled violation get generators of violating variants, judged against an
independent statement of the intent.
"""

import copy
import ipaddress
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.iam import ESCALATING_ACTIONS, escalations
from policy.rules import Resource, evaluate
from policy.rules.base import covers_everything as pack_covers_everything
from settings.base import covers_everything as settings_covers_everything

from .test_policy_rules import (
    DEPLOYMENT,
    DNS,
    FIXTURES,
    LABELS,
    LIMITS,
    NAMESPACE,
    QUOTA,
    RULE_BY_ID,
    changed,
    k8s,
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


# -- k8s-pdb: a budget is judged by the disruptions the controller allows, however it is written.


def reference_allowed(count: int, field: str, value: int | str) -> int:
    """The disruption controller: percentages of the expected pods, rounded up, for both fields."""
    scaled = math.ceil(int(value[:-1]) * count / 100) if isinstance(value, str) else value
    return scaled if field == "maxUnavailable" else count - scaled


BUDGETS = st.tuples(
    st.integers(2, 30),
    st.sampled_from(["minAvailable", "maxUnavailable"]),
    st.one_of(st.integers(0, 40), st.integers(0, 100).map(lambda p: f"{p}%")),
)


@PROPERTY
@given(budget=BUDGETS)
def test_pdb_is_judged_by_the_disruptions_it_allows(budget: tuple[int, str, int | str]) -> None:
    count, field, value = budget
    workload = changed(DEPLOYMENT, spec={**DEPLOYMENT.inputs["spec"], "replicas": count})
    pdb = k8s("PodDisruptionBudget", "policy/v1", {field: value, "selector": {"matchLabels": LABELS}}, "search")
    flagged = bool(evaluate([workload, pdb], "prod", [RULE_BY_ID["k8s-pdb"]]))
    assert flagged == (reference_allowed(count, field, value) < 1)


def test_pdb_99_percent_of_three_allows_nothing() -> None:
    pdb = k8s("PodDisruptionBudget", "policy/v1", {"minAvailable": "99%", "selector": {"matchLabels": LABELS}}, "search")
    workload = changed(DEPLOYMENT, spec={**DEPLOYMENT.inputs["spec"], "replicas": 3})
    assert evaluate([workload, pdb], "prod", [RULE_BY_ID["k8s-pdb"]])


# -- k8s-default-deny: an allow-all ingress policy beside the default-deny undoes it.


def halves(prefix: int) -> list[str]:
    return [str(n) for n in ipaddress.ip_network("0.0.0.0/0").subnets(new_prefix=prefix)]


def halves_st(prefix: int) -> st.SearchStrategy[str]:
    return st.sampled_from(halves(prefix))


ALLOW_ALL_INGRESS = st.one_of(
    st.just([{}]),
    st.just([{"from": []}]),
    st.integers(0, 3).map(lambda p: [{"from": [{"ipBlock": {"cidr": c}} for c in halves(p)]}]),
)


@PROPERTY
@given(ingress=ALLOW_ALL_INGRESS, selector=st.sampled_from([{}, {"matchLabels": LABELS}]))
def test_an_allow_all_policy_beside_default_deny_is_flagged(ingress: list, selector: dict) -> None:
    deny = k8s("NetworkPolicy", "networking.k8s.io/v1", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "deny")
    allow = k8s("NetworkPolicy", "networking.k8s.io/v1", {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": ingress}, "open")
    assert evaluate([NAMESPACE, deny, DNS, QUOTA, LIMITS, allow], "prod", [RULE_BY_ID["k8s-default-deny"]])


@PROPERTY
@given(missing=st.integers(0, 3), port=st.integers(1, 65535))
def test_narrow_ingress_beside_default_deny_passes(missing: int, port: int) -> None:
    deny = k8s("NetworkPolicy", "networking.k8s.io/v1", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "deny")
    blocks = halves(2)
    del blocks[missing]  # three quarters of the internet is not all of it
    spec_ports = {"podSelector": {}, "ingress": [{"ports": [{"port": port}]}, {"from": [{"ipBlock": {"cidr": c}} for c in blocks]}]}
    allow = k8s("NetworkPolicy", "networking.k8s.io/v1", spec_ports, "narrow")
    assert evaluate([NAMESPACE, deny, DNS, QUOTA, LIMITS, allow], "prod", [RULE_BY_ID["k8s-default-deny"]]) == []


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
