"""Runs the drills for a recorded stack and renders them: `drills.md`, a summary section, the preview check."""

from typing import Any

from settings import StackConfig
from settings.network import select_azs
from settings.scheduling import POOL_LABEL, SPOT_TAINT_KEY
from settings.tiers import tier_policy

from .capacity import DAEMONSETS, DATADOG_AGENT, NODE_EXPORTER, initial_nodes, pools_from_settings
from .drills import KNOWN_LIMITS, KNOWN_PENDING, Outcome, run_drills
from .scheduler import Cluster
from .workloads import extract


def simulate(records: list[Any], settings: StackConfig) -> list[Outcome]:
    found = extract(records, POOL_LABEL, SPOT_TAINT_KEY)
    agent = DATADOG_AGENT if settings.platform.metrics.backend == "datadog" else NODE_EXPORTER
    pools = pools_from_settings(settings.node_pools, (*DAEMONSETS, agent), found.expander_priorities)
    zones = list(select_azs(settings.region, settings.network.az_count))
    return run_drills(Cluster(pools, initial_nodes(pools, zones), zones), found.workloads)


def failures(tier: str, outcomes: list[Outcome]) -> list[str]:
    """One line per drill the tier requires and the stack does not survive (known limits excepted)."""
    return [f"drill {o.drill} ({tier} requires it): {_verdict(o)}" for o in outcomes if _status(tier, o) == "fails"]


def _status(tier: str, o: Outcome) -> str:
    if o.survived:
        return "survives"
    if o.drill not in tier_policy(tier).required_drills:
        return "fails (not required)"
    return "known limit" if (tier, o.drill) in KNOWN_LIMITS else "fails"


def _verdict(o: Outcome) -> str:
    parts = [
        f"{len(o.pending)} pending" if o.pending else "",
        f"quorum lost: {', '.join(o.quorums_lost)}" if o.quorums_lost else "",
        f"no ready replica: {', '.join(o.services_down)}" if o.services_down else "",
        f"drain blocked: {', '.join(o.blocking_pdbs)}" if o.blocking_pdbs else "",
    ]
    return "; ".join(p for p in parts if p) or "survives"


def _row(tier: str, o: Outcome) -> str:
    required = "yes" if o.drill in tier_policy(tier).required_drills else "no"
    status = _status(tier, o)
    result = "**fails**" if status == "fails" else status
    return (
        f"| {o.drill} | {o.detail} | {required} | {result} | {len(o.pending)} | {len(o.quorums_lost)} | "
        f"{len(o.services_down)} | {len(o.blocking_pdbs)} | {len(o.stranded_volumes)} | {o.nodes_added} | {o.recovery_minutes} |"
    )


HEADER = (
    "| drill | scenario | required | result | pending | quorums lost | services down | blocking PDBs | stranded volumes | nodes added | recovery (min) |\n"
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
)


def drills_line(tier: str, outcomes: list[Outcome]) -> str:
    """The preview's one terminal line: how many drills ran and how they ended."""
    if not outcomes:
        return "none (no node pools of the stack's own to drill)"
    statuses = [_status(tier, o) for o in outcomes]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("survives", "known limit", "fails (not required)", "fails") if s in statuses)
    return f"{len(outcomes)} run: {counts}"


def drills_section(tier: str, outcomes: list[Outcome]) -> str:
    failed = failures(tier, outcomes)
    title = f"## Failure drills ({len(outcomes)} run, {len(failed)} required drill(s) failed)\n\n"
    return title + HEADER + "\n".join(_row(tier, o) for o in outcomes) + "\n\nDetails: `drills.md`.\n"


def render_drills(stack: str, tier: str, outcomes: list[Outcome]) -> str:
    lines = [f"# Failure drills of stack `{stack}` (tier {tier})\n", "Model and assumptions: `drills/` (module docstrings).\n"]
    lines += [HEADER.rstrip("\n"), *(_row(tier, o) for o in outcomes)]
    for o in outcomes:
        known = KNOWN_LIMITS.get((tier, o.drill))
        lines.append(
            f"\n## {o.drill}: {_status(tier, o)}\n\n{o.detail}. {_verdict(o)}." + (f" Known limit: {known}." if known else "") + "\n"
        )
        for label, items in (
            ("Pending", o.pending),
            ("Quorums lost", o.quorums_lost),
            ("No ready replica", o.services_down),
            ("PDBs blocking", o.blocking_pdbs),
            ("Volumes stranded", o.stranded_volumes),
            ("Pending, known limit", [f"{p}: {KNOWN_PENDING[p.rsplit('-', 1)[0]]}" for p in o.known_pending]),
        ):
            if items:
                lines.append(f"- {label}: " + ", ".join(f"`{i}`" for i in items))
    return "\n".join(lines) + "\n"
