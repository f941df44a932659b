"""Every policy rule judged by generated cases of its intent: violating variants are flagged, passing ones are not.

The cases live in tests/intents/, one module per rule module; this file only runs them.
"""

import importlib
from collections import defaultdict
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from policy.rules import RULES, Rule, evaluate

from .intents import Case, Intents


def module_of(rule: Rule) -> str:
    check = rule.resource_check or rule.stack_check
    assert check is not None, rule.id
    return check.__module__.rsplit(".", 1)[-1]


RULES_BY_MODULE: dict[str, set[str]] = defaultdict(set)
for _rule in RULES:
    RULES_BY_MODULE[module_of(_rule)].add(_rule.id)


def intents_of(module: str) -> Intents:
    """tests/intents/<module>.py's cases; none when a rule module has no such file yet (its rules then fail below)."""
    name = f"{__package__}.intents.{module}"
    try:
        return importlib.import_module(name).INTENTS
    except ModuleNotFoundError as missing:
        if missing.name != name:
            raise  # the file exists and imports something that does not
        return {}


INTENTS: Intents = {rule_id: strategy for module in sorted(RULES_BY_MODULE) for rule_id, strategy in intents_of(module).items()}
RULE_BY_ID = {rule.id: rule for rule in RULES}
CASES = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def flagged(rule_id: str, case: Case) -> bool:
    return bool(evaluate(case.resources, case.tier, [RULE_BY_ID[rule_id]]))


@pytest.mark.parametrize("module", sorted(RULES_BY_MODULE))
def test_every_rule_has_generated_cases(module: str) -> None:
    """Every rule of the pack, whatever module it is in (a new module needs its tests/intents/ file)."""
    missing = sorted(RULES_BY_MODULE[module] - set(INTENTS))
    assert missing == [], f"rules of policy/rules/{module}.py without cases in tests/intents/{module}.py"


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
