"""Properties every rule keeps, and the cross-checks beside the rules.

Every rule's passing fixture stays passing and its violating fixture stays flagged under changes that do not
touch the intent (resource order, unrelated keys, any tags a user sets). Each rule's own generated cases, violating
variants and passing ones judged by an independent oracle, are in tests/intents/ (run by test_policy_intents.py).
"""

import copy
import ipaddress
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
    FIXTURES,
    RULE_BY_ID,
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


def halves_st(prefix: int) -> st.SearchStrategy[str]:
    """One of the 2**prefix equal pieces of all of IPv4."""
    return st.sampled_from([str(n) for n in ipaddress.ip_network("0.0.0.0/0").subnets(new_prefix=prefix)])


@PROPERTY
@given(
    st.lists(
        st.one_of(st.sampled_from(["0.0.0.0/0", "::/0", "not-a-cidr", "::/1", "8000::/1"]), st.integers(0, 8).flatmap(halves_st)),
        max_size=6,
    )
)
def test_the_pack_and_the_settings_judge_coverage_alike(cidrs: list[str]) -> None:
    assert pack_covers_everything(cidrs) == settings_covers_everything(cidrs)
