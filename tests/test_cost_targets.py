"""The raised cost targets (settings/tiers.py) as `make bench` reports them: met or missed, per stack, as ratios."""

import dataclasses

from costing.model import Estimate, Line
from costing.prices import load_prices
from costing.targets import target_results
from settings.tiers import tier_policy


def bill(node_monthly: float, node_on_demand: float, fixed: float) -> Estimate:
    lines = (Line("cluster", "nodes", node_monthly, node_on_demand, node=True), Line("network", "fixed", fixed, fixed))
    return Estimate("xx-test-1", lines, (), load_prices())


def test_every_aws_tier_sets_the_raised_targets():
    assert (tier_policy("prod").node_saving_target, tier_policy("prod").stack_saving_target) == (0.60, 0.40)
    assert tier_policy("test").node_saving_target == tier_policy("staging").node_saving_target == 0.65


def test_a_saving_short_of_its_target_is_reported_missed():
    prod = tier_policy("prod")
    # Nodes 62% below, but the fixed costs keep the whole stack at 1 - (38 + 62) / (100 + 62) = 38.3%: missed.
    node, stack = target_results("prod", prod, bill(38, 100, 62))
    assert (node.measure, node.met) == ("node", True)
    assert (stack.measure, stack.met, stack.saving) == ("stack", False, 1 - 100 / 162)
    assert stack.line() == "prod stack cost: 38.3% below all on-demand, target 40%: MISSED"
    assert [r.met for r in target_results("prod", prod, bill(38, 100, 40))] == [True, True]


def test_a_tier_without_a_target_reports_none():
    none = dataclasses.replace(tier_policy("test"), node_saving_target=0.0)
    assert target_results("test", none, bill(38, 100, 60)) == []
