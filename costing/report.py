"""The cost and deploy-time sections of `summary.md` (added to offline/summary.py SECTIONS)."""

from offline.runner import Run
from offline.stackfile import read_stack_file
from settings import PROJECT, STACKS, StackConfig
from settings.stack import required_secrets

from .deploy import DeployEstimate, OutsideWait, deploy_estimate, outside_waits
from .model import Estimate, estimate
from .prices import load_prices


def stack_estimate(run: Run) -> Estimate:
    cfg = run.settings
    if not isinstance(cfg, StackConfig):
        raise ValueError(f"run of {run.stack} carries no stack settings to price it with")
    return estimate(run.records, cfg.region, cfg.node_pools, cfg.cost, load_prices())


def money(amount: float) -> str:
    return f"${amount:,.2f}"


def minutes(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60:02d} s"


def render_cost(e: Estimate) -> str:
    by_component = sorted(e.lines, key=lambda line: line.component)  # stable: pools stay in their order
    rows = [f"| {line.component} | {line.item} | {money(line.monthly)} | {money(line.on_demand)} |" for line in by_component]
    excluded = "\n".join(f"- {item}" for item in e.excluded)
    return (
        f"## Monthly cost estimate ({e.region}, USD)\n\n"
        "| component | item | as configured | all on-demand |\n|---|---|---:|---:|\n"
        + "\n".join(rows)
        + f"\n| **total** | | **{money(e.monthly)}** | **{money(e.on_demand)}** |\n\n"
        f"- nodes (EC2): {money(e.node_monthly)} against {money(e.node_on_demand)} all on-demand: **{e.node_saving:.1%} saving**\n"
        f"- whole stack: {money(e.monthly)} against {money(e.on_demand)}: **{e.stack_saving:.1%} saving** "
        "(fixed costs such as the control plane and NAT included)\n\n"
        "Node pools at their desired size; the reserved pool at the reservation's effective rate (every instance bought "
        "is paid for), spot at the configured expected discount per type, its types in an even mix.\n\n"
        f"Prices: {e.prices.source}, as of {e.prices.date} (costing/prices.yaml). Not included:\n\n{excluded}\n"
    )


def render_deploy(d: DeployEstimate) -> str:
    rows = [f"| {i} | `{s.name}` | `{s.type}` | {s.via} | {s.seconds} s | {minutes(s.finish)} | {s.why} |" for i, s in enumerate(d.path, 1)]
    warnings = "\n".join(f"- {w.message}" for w in d.warnings) or "- none"
    return (
        f"## Deploy time estimate (greenfield `pulumi up`): {minutes(d.total)}\n\n"
        "The critical path through the recorded dependency graph, resource by resource (durations: costing/durations.py):\n\n"
        "| # | resource | type | waits by | takes | done at | why it takes that long |\n|---:|---|---|---|---:|---:|---|\n"
        + "\n".join(rows)
        + f"\n\nAvoidable serialisation:\n\n{warnings}\n"
    )


def cost_section(run: Run) -> str:
    if run.settings is not None and not isinstance(run.settings, StackConfig):
        return "## Cost\n\nThe customer's own cluster: no AWS resource, nothing priced.\n"
    return render_cost(stack_estimate(run))


def stack_of_account() -> dict[str, str]:
    """Each stack file's account, so a wait on another account names its stack."""
    accounts = {stack: read_stack_file(stack).raw(f"{PROJECT}:accountId") for stack in STACKS}
    return {str(account): stack for stack, account in accounts.items() if account is not None}


def render_outside_waits(waits: list[OutsideWait]) -> str:
    lines = []
    for w in waits:
        ended = (
            "a manual step in the middle: **fails the first-deploy check**"
            if w.ended_by == "MANUAL"
            else (f"after `pulumi up -s {w.after_stack}`" if w.after_stack else f"before the first `up`: `{w.ended_by}`")
        )
        lines.append(f"- {w.waits_for}: {ended}")
    return "What the first `up` waits for outside the stack, and the step that ends each wait (README, First deploy):\n\n" + (
        "\n".join(lines) or "- nothing"
    )


def deploy_time_section(run: Run) -> str:
    assert run.settings is not None
    waits = outside_waits(run.records, required_secrets(run.settings), stack_of_account())
    return render_deploy(deploy_estimate(run.records)) + "\n" + render_outside_waits(waits) + "\n"
