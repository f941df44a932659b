"""`summary.md`: what the stack declares, in a form a reviewer reads in a minute.

Each section is a function of the run returning Markdown; later concerns append theirs to SECTIONS.
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from costing.deploy import deploy_estimate
from costing.model import Estimate
from costing.report import cost_section, deploy_time_section, minutes, money, stack_estimate
from delivery.mermaid import component_graph
from policy.rules import RULES
from settings import StackConfig

from .drills_hook import drills_summary, drills_verdict
from .edge_summary import edge_section
from .policies import policy_section, violations
from .runner import Run

Section = Callable[[Run], str]


def counts_by_type(run: Run) -> str:
    counts = Counter(r.type for r in run.records if r.type != "pulumi:pulumi:Stack")
    rows = "\n".join(f"| `{t}` | {n} |" for t, n in sorted(counts.items()))
    return f"## Resources by type ({sum(counts.values())} in all)\n\n| type | count |\n|---|---:|\n{rows}\n"


def component_tree(run: Run) -> str:
    """Components nest; leaves are summarised per type so the tree stays short."""
    children: dict[str, list] = defaultdict(list)
    for r in run.records:
        children[r.parent].append(r)
    roots = children.get("", [])
    lines: list[str] = []

    def walk(urn: str, depth: int) -> None:
        kids = children.get(urn, [])
        components = [k for k in kids if k.urn in children]
        leaves = Counter(k.type for k in kids if k not in components)
        for k in sorted(components, key=lambda r: r.name):
            lines.append(f"{'  ' * depth}- **{k.name}** `{k.type}`")
            walk(k.urn, depth + 1)
        for t, n in sorted(leaves.items()):
            lines.append(f"{'  ' * depth}- {n} x `{t}`")

    for root in roots:
        lines.append(f"- **{root.name}** `{root.type}`")
        walk(root.urn, 1)
    return "## Component tree\n\n" + "\n".join(lines) + "\n"


def stack_outputs(run: Run) -> str:
    rows = "\n".join(f"| `{k}` | `{v}` |" for k, v in sorted(run.outputs.items()))
    return f"## Stack outputs (secrets masked)\n\n| output | value |\n|---|---|\n{rows}\n"


SECTIONS: list[Section] = [
    counts_by_type,
    component_tree,
    component_graph,
    stack_outputs,
    edge_section,
    cost_section,
    deploy_time_section,
    policy_section,
    drills_summary,
]


def render_summary(run: Run) -> str:
    return f"# Offline preview of stack `{run.stack}`\n\n" + "\n".join(section(run) for section in SECTIONS)


def cost_line(cost: Estimate) -> str:
    return (
        f"  cost       {money(cost.monthly)}/month in {cost.region} ({money(cost.on_demand)} all on-demand, {cost.stack_saving:.1%} saving)"
    )


def terminal_report(run: Run, out: Path) -> str:
    """The few lines the preview prints per stack; summary.md in `out` holds the full report."""
    checked = [rule for rule in RULES if rule.severity_in(run.stack) != "disabled"]
    found = Counter(v.severity for v in violations(run))
    verdicts = ", ".join(f"{n} {severity}" for severity, n in sorted(found.items())) or "none"
    onprem = run.settings is not None and not isinstance(run.settings, StackConfig)
    manifests = sum(1 for _ in (out / "manifests").rglob("*.yaml"))
    return "\n".join(
        [
            f"  resources  {len(run.records)} of {len({r.type for r in run.records})} types, the stack included",
            f"  policies   {len(checked)} rules checked; violations: {verdicts}",
            "  cost       the customer's own cluster: nothing priced" if onprem else cost_line(stack_estimate(run)),
            f"  drills     {drills_verdict(run)} (drills.md)",
            f"  deploy     about {minutes(deploy_estimate(run.records).total)} for a first `pulumi up`",
            f"  files      {out}/summary.md (full report), resources.json, manifests/ ({manifests} files)",
        ]
    )
