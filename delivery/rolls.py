"""What a reviewer wants to know of a change: which workloads restart, and how long `pulumi up` takes for it.

A workload rolls when its pod template changes (the config hash annotation, an image, env, ...): Kubernetes
replaces its pods. A replaced workload's pods are all recreated. The update's time is the longest chain of
changed resources through the dependency graph (the engine runs independent steps in parallel), each step timed
from costing/durations.py: a replacement or addition takes its creation time, a roll its rollout, a plain update
or removal one API call.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from math import ceil

from costing.durations import CLOUD_API_CALL, KUBERNETES_OBJECT, duration_of, seconds_for
from costing.report import minutes
from offline.recorder import Record

from .diff import PropertyChange, ResourceChange, StackDiff, provider_urn

WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")
TEMPLATE = "spec.template"
CONFIG_HASH = "insight.io/config-hash"
# A Deployment rolls in batches of its maxSurge, 25% of its replicas by default.
DEFAULT_SURGE = 0.25
POD_FIELD = re.compile(r"\.(image|envFrom|env|resources|command|args|volumes|volumeMounts)(?:$|[.\[])")


@dataclass(frozen=True)
class Roll:
    urn: str
    name: str
    type: str
    replaced: bool
    why: tuple[str, ...]  # what in the pod template changed, or why it is replaced


def _reason(path: str) -> str:
    if CONFIG_HASH in path:
        return "config (hash annotation)"
    found = POD_FIELD.search(path)
    return found[1] if found else "pod template"


def _template_changes(change: ResourceChange) -> list[PropertyChange]:
    return [p for p in change.properties if p.path == TEMPLATE or p.path.startswith((f"{TEMPLATE}.", f"{TEMPLATE}["))]


def rolls(diff: StackDiff, head: Sequence[Record]) -> list[Roll]:
    """The workloads whose pods restart, each with why (and the changed objects it reads, e.g. its ConfigMap)."""
    changed = diff.by_urn()
    reads = {r.urn: sorted({changed[u].name for urns in r.property_dependencies.values() for u in urns if u in changed}) for r in head}
    found: list[Roll] = []
    for c in diff.changes:
        if c.type not in WORKLOADS:
            continue
        if c.action == "replace":
            found.append(Roll(c.urn, c.name, c.type, True, ("replaced: every pod is recreated",)))
        elif c.action == "update" and (template := _template_changes(c)):
            why = list(dict.fromkeys(_reason(p.path) for p in template))
            why += [f"reads changed `{name}`" for name in reads.get(c.urn, [])]
            found.append(Roll(c.urn, c.name, c.type, False, tuple(why)))
    return found


def _rollout_seconds(record: Record) -> int:
    spec = record.inputs.get("spec", {})
    replicas = int(spec.get("replicas", 1))
    pod = duration_of(record.type, record.inputs, record.custom, record.remote).seconds
    if record.type == "kubernetes:apps/v1:StatefulSet":
        return pod * replicas  # a rolling update replaces one pod at a time, highest ordinal first
    if record.type == "kubernetes:apps/v1:Deployment":
        return pod * ceil(replicas / max(1, ceil(replicas * DEFAULT_SURGE)))
    return pod


def step_seconds(change: ResourceChange, record: Record, rolling: bool) -> int:
    if change.action in ("add", "replace"):
        return seconds_for(record.type, record.inputs, record.custom, record.remote)
    if rolling:
        return _rollout_seconds(record)
    if not record.custom:
        return 0
    return (KUBERNETES_OBJECT if record.type.startswith("kubernetes:") else CLOUD_API_CALL).seconds


def update_seconds(diff: StackDiff, head: Sequence[Record]) -> int:
    """The longest chain of changed resources; unchanged ones pass on the wait at no cost of their own."""
    by_urn = {r.urn: r for r in head}
    rolling = {r.urn for r in rolls(diff, head)}
    own = {c.urn: step_seconds(c, by_urn[c.urn], c.urn in rolling) for c in diff.changes if c.urn in by_urn}
    graph = {r.urn: {d for d in (*r.dependencies, provider_urn(r.provider), r.parent) if d in by_urn} for r in head}
    finish: dict[str, int] = {}
    for urn in TopologicalSorter(graph).static_order():
        finish[urn] = max((finish[d] for d in graph[urn]), default=0) + own.get(urn, 0)
    # Removals run after the updates and in parallel: one API call's time.
    removals = CLOUD_API_CALL.seconds if diff.of("remove") else 0
    return max(finish.values(), default=0) + removals


def rolls_section(diff: StackDiff, head: Sequence[Record]) -> str:
    """Markdown: what rolls and the update's estimated time."""
    found = rolls(diff, head)
    lines = ["#### What rolls", ""]
    if not found:
        lines.append("No workload restarts.")
    for roll in found:
        verb = "is **replaced**" if roll.replaced else "rolls"
        lines.append(f"- `{roll.name}` (`{roll.type.rsplit(':', 1)[-1]}`) {verb}: {', '.join(roll.why)}")
    if diff.changes:
        lines += ["", f"**Estimated time of this update: {minutes(update_seconds(diff, head))}** (durations: `costing/durations.py`)"]
    return "\n".join(lines) + "\n"
