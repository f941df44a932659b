"""The default stack files meet the cost and speed targets, checked on the estimates (never on timings)."""

from costing.deploy import deploy_estimate
from costing.report import money, stack_estimate
from offline.runner import Run
from offline.summary import render_summary
from tests.conftest import declared

# Node (EC2) cost at least this far below the same nodes all on-demand.
NODE_SAVING_TARGET = {"test": 0.55, "staging": 0.55, "prod": 0.50}
PROD_DEPLOY_TARGET_SECONDS = 20 * 60


def test_node_cost_is_far_enough_below_all_on_demand(run: Run):
    e = stack_estimate(run)
    assert e.node_on_demand > 0
    assert e.node_saving >= NODE_SAVING_TARGET[run.stack], f"{run.stack}: node saving {e.node_saving:.1%}"
    # Fixed costs (control plane, NAT, traffic) make the whole stack's saving smaller, never larger.
    assert 0 < e.stack_saving < e.node_saving


def test_both_pools_and_the_fixed_costs_are_priced(run: Run):
    items = [line.item for line in stack_estimate(run).lines]
    assert any(i.startswith("reserved pool:") and "reserved (3yr" in i for i in items)
    assert any(i.startswith("spot pool:") for i in items)
    assert any(i.startswith("EKS control plane") for i in items) and any(i.startswith("NAT gateway hours") for i in items)


def test_the_critical_path_ends_where_the_deploy_does(run: Run):
    d = deploy_estimate(run.records)
    assert d.path and d.path[-1].finish == d.total
    assert d.path[0].finish <= d.path[-1].finish and any(s.type == "eks:index:Cluster" for s in d.path)


def test_greenfield_prod_deploys_within_target():
    d = deploy_estimate(declared("prod").records)
    chain = " -> ".join(f"{s.name} (+{s.seconds} s)" for s in d.path)
    assert d.total <= PROD_DEPLOY_TARGET_SECONDS, f"prod deploy estimate {d.total} s: {chain}"


def test_prod_has_no_avoidable_serialisation():
    assert [w.message for w in deploy_estimate(declared("prod").records).warnings] == []


def test_summary_shows_cost_and_deploy_time(run: Run):
    summary = render_summary(run)
    e = stack_estimate(run)
    assert "## Monthly cost estimate" in summary
    assert (
        f"nodes (EC2): {money(e.node_monthly)} against {money(e.node_on_demand)} all on-demand: **{e.node_saving:.1%} saving**" in summary
    )
    assert f"| **total** | | **{money(e.monthly)}** | **{money(e.on_demand)}** |" in summary
    assert "## Deploy time estimate (greenfield `pulumi up`)" in summary and "Avoidable serialisation" in summary


def test_the_overflow_pool_costs_nothing_at_rest(run: Run):
    """It rests at zero nodes: the estimate (nodes at their desired size) pays nothing for it, either way."""
    lines = [line for line in stack_estimate(run).lines if line.item.startswith("overflow pool:")]
    assert [(line.monthly, line.on_demand) for line in lines] == [(0, 0)]
