"""Every policy rule judged by generated cases of its intent: violating variants are flagged, passing ones are not.

The cases live in tests/intents/, one module per rule module; this file only runs them.
"""

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from policy import rules as rule_modules
from policy.rules import RULES, evaluate

from .intents import Case, Intents, data, edge, eks, iam, kubernetes, network

INTENTS: Intents = {rule_id: strategy for m in (network, eks, iam, edge, data, kubernetes) for rule_id, strategy in m.INTENTS.items()}
RULE_BY_ID = {rule.id: rule for rule in RULES}
CASES = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def flagged(rule_id: str, case: Case) -> bool:
    return bool(evaluate(case.resources, case.tier, [RULE_BY_ID[rule_id]]))


@pytest.mark.parametrize("module", ["network", "eks", "iam", "edge", "data", "kubernetes"])
def test_every_rule_has_generated_cases(module: str) -> None:
    ids = {rule.id for rule in getattr(rule_modules, module).rules.rules}
    assert sorted(ids - set(INTENTS)) == [], f"rules of policy/rules/{module}.py without cases in tests/intents/{module}.py"


def test_every_intent_names_a_rule() -> None:
    assert sorted(set(INTENTS) - set(RULE_BY_ID)) == []


@pytest.mark.parametrize("rule_id", sorted(INTENTS))
@CASES
@given(data=st.data())
def test_the_rule_flags_exactly_the_cases_that_break_its_intent(rule_id: str, data: st.DataObject) -> None:
    case = data.draw(INTENTS[rule_id])
    assert flagged(rule_id, case) == case.violates, case


@pytest.mark.parametrize("rule_id", sorted(INTENTS))
def test_the_cases_of_every_rule_include_violating_and_passing_ones(rule_id: str) -> None:
    quick = settings(database=None, derandomize=True, max_examples=500)
    assert find(INTENTS[rule_id], lambda c: c.violates, settings=quick).violates
    assert not find(INTENTS[rule_id], lambda c: not c.violates, settings=quick).violates


def test_a_rule_that_judges_nothing_fails_its_cases() -> None:
    neutered = replace(RULE_BY_ID["net-flow-logs"], stack_check=lambda resources: iter(()))
    case = find(INTENTS["net-flow-logs"], lambda c: c.violates, settings=settings(database=None, derandomize=True))
    assert bool(evaluate(case.resources, case.tier, [neutered])) != case.violates


def test_one_sided_cases_are_caught() -> None:
    with pytest.raises(NoSuchExample):
        find(st.just(Case([], violates=True)), lambda c: not c.violates, settings=settings(database=None, derandomize=True))
