"""Failure drills on the placed cluster, and which of them each tier must survive.

A drill cuts nodes off (or rolls/drains pods), then lets the scheduler and the autoscaler recover. It survives
when no quorum is lost at any moment, every serving workload keeps a ready replica, nothing stays pending except
pods whose volumes sit in a lost zone, and no PDB blocks a drain.

Recovery time (a simple model, minutes): a new node is Ready ~4 min after the autoscaler asks (10 s scan,
EC2 launch, nodeadm join, DaemonSets); a pod whose EBS volume was on a node that vanished waits ~6 min for the
attach-detach controller's forced detach (maxWaitForUnmountDuration) before it can start elsewhere in the zone.
"""

import copy
from collections import Counter
from dataclasses import dataclass, field

from .capacity import Node
from .scheduler import Cluster, PodRef, place, unbind
from .workloads import Workload

NODE_READY_MINUTES = 4
FORCED_DETACH_MINUTES = 6

# Findings not fixed yet, each declared in README "Known limits": reported, but they do not fail the preview.
KNOWN_LIMITS: dict[tuple[str, str], str] = {
    ("prod", "spot-wave"): "every pod is rescheduled on on-demand overflow nodes, but apps whose replicas all ran on spot "
    "are down until those nodes are ready (a few minutes)",
    ("staging", "node-lost:reserved"): "staging runs one Elasticsearch and one Redis member (cost): a lost node takes them down",
    ("staging", "node-lost:spot"): "staging runs one Kibana replica (cost): a lost spot node takes it down until rescheduled",
}
# Batch pods that may stay pending without failing a drill (README "Known limits").
KNOWN_PENDING: dict[str, str] = {}


@dataclass
class Outcome:
    drill: str
    detail: str
    pending: list[str] = field(default_factory=list)
    quorums_lost: list[str] = field(default_factory=list)
    services_down: list[str] = field(default_factory=list)
    blocking_pdbs: list[str] = field(default_factory=list)
    stranded_volumes: list[str] = field(default_factory=list)
    nodes_added: int = 0
    recovery_minutes: int = 0

    known_pending: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return not (self.pending or self.quorums_lost or self.services_down or self.blocking_pdbs)


def _sort_pending(outcome: Outcome, pending: list[PodRef]) -> None:
    outcome.pending = [p.id for p in pending if p.workload.name not in KNOWN_PENDING]
    outcome.known_pending = [p.id for p in pending if p.workload.name in KNOWN_PENDING]


def majority(members: int) -> int:
    return members // 2 + 1


def _ready(cluster: Cluster, w: Workload, down: set[str]) -> int:
    return sum(1 for pid, pod in cluster.pods.items() if pod.workload is w and pid in cluster.placed and pid not in down)


def _judge(cluster: Cluster, workloads: list[Workload], down: set[str], outcome: Outcome) -> None:
    for w in workloads:
        ready = _ready(cluster, w, down)
        if w.quorum and ready < majority(w.replicas) and not any(q.startswith(f"{w.quorum} {w.name} ") for q in outcome.quorums_lost):
            outcome.quorums_lost.append(f"{w.quorum} {w.name} ({ready}/{w.replicas} members)")
        if w.serves and ready == 0 and w.name not in outcome.services_down:
            outcome.services_down.append(w.name)


def baseline(cluster: Cluster, workloads: list[Workload]) -> list[PodRef]:
    pods = [PodRef(w, i) for w in workloads for i in range(w.replicas)]
    for pod in pods:
        cluster.pods[pod.id] = pod
    return place(pods, cluster, {p.name for p in cluster.pools})


def cut_off(cluster: Cluster, workloads: list[Workload], name: str, detail: str, *, lost: list[Node], scalable: set[str]) -> Outcome:
    """Nodes vanish; their pods are first unready, then rescheduled (with scale-up)."""
    outcome = Outcome(name, detail)
    evicted = [cluster.pods[pid] for n in lost for pid in list(n.pods)]
    down = {p.id for p in evicted}
    _judge(cluster, workloads, down, outcome)
    for node in lost:
        node.unschedulable = True
    for pod in evicted:
        unbind(pod, cluster)
    stranded = [p for p in evicted if p.zone in cluster.lost_zones]
    movable = [p for p in evicted if p not in stranded]
    outcome.stranded_volumes = [f"{p.id} ({p.workload.volume_gib} GiB in {p.zone})" for p in stranded]
    _sort_pending(outcome, place(movable, cluster, scalable))
    outcome.nodes_added = sum(cluster.added.values())
    moved_volumes = any(p.zone and p.id in cluster.placed for p in movable)
    outcome.recovery_minutes = (NODE_READY_MINUTES if outcome.nodes_added else 0) + (FORCED_DETACH_MINUTES if moved_volumes else 0)
    _judge(cluster, workloads, set(), outcome)
    return outcome


def node_lost(cluster: Cluster, workloads: list[Workload], pool: str) -> Outcome | None:
    nodes = [n for n in cluster.nodes if n.pool == pool]
    if not nodes:
        return None
    worst = max(nodes, key=lambda n: (sum(cluster.pods[p].workload.quorum is not None for p in n.pods), len(n.pods), n.name))
    every = {p.name for p in cluster.pools}
    return cut_off(
        cluster, workloads, f"node-lost:{pool}", f"{worst.name} in {worst.zone} ({len(worst.pods)} pods)", lost=[worst], scalable=every
    )


def zone_lost(cluster: Cluster, workloads: list[Workload], zone: str) -> Outcome:
    cluster.lost_zones.add(zone)
    lost = [n for n in cluster.nodes if n.zone == zone]
    every = {p.name for p in cluster.pools}
    return cut_off(cluster, workloads, "zone-lost", f"{zone} ({len(lost)} nodes)", lost=lost, scalable=every)


def spot_wave(cluster: Cluster, workloads: list[Workload]) -> Outcome:
    """Every spot node reclaimed, and no spot capacity to be had (a drought): only the other pools may grow."""
    lost = [n for n in cluster.nodes if cluster.pool(n.pool).spot]
    scalable = {p.name for p in cluster.pools if not p.spot}
    return cut_off(cluster, workloads, "spot-wave", f"{len(lost)} spot nodes, spot pool cannot grow", lost=lost, scalable=scalable)


def rolling_update(cluster: Cluster, workloads: list[Workload]) -> Outcome:
    """Each workload rolls alone: Deployments surge (maxSurge) before they stop an old pod; the rest replace one
    pod at a time in place (StatefulSets, operators), so a member is down while it restarts."""
    outcome = Outcome("rolling-update", "every workload, one after another")
    every = {p.name for p in cluster.pools}
    for w in workloads:
        if not w.serves:
            continue
        surge = [PodRef(w, w.replicas + i) for i in range(w.max_surge)]
        stuck = place(surge, cluster, every)
        for pod in surge:
            if pod.id in cluster.placed:
                unbind(pod, cluster)
            cluster.pods.pop(pod.id, None)
        if stuck and w.max_unavailable == 0:
            outcome.pending.append(f"{w.name} surge pod (rollout stuck: maxUnavailable 0)")
        unavailable = 0 if w.max_surge and not stuck else max(w.max_unavailable, 1)
        ready = w.replicas - unavailable
        if w.quorum and ready < majority(w.replicas):
            outcome.quorums_lost.append(f"{w.quorum} {w.name} ({ready}/{w.replicas} members while one restarts)")
        if ready <= 0:
            outcome.services_down.append(w.name)
    outcome.nodes_added = sum(cluster.added.values())
    return outcome


def drain(cluster: Cluster, workloads: list[Workload], pool: str) -> Outcome | None:
    """`kubectl drain` of the busiest node of a pool for an upgrade: cordon, then evict through the PDBs."""
    nodes = [n for n in cluster.nodes if n.pool == pool]
    if not nodes:
        return None
    node = max(nodes, key=lambda n: (len(n.pods), n.name))
    outcome = Outcome(f"drain:{pool}", f"{node.name} in {node.zone} ({len(node.pods)} pods)")
    node.unschedulable = True
    on_node = Counter(cluster.pods[p].workload.name for p in node.pods)
    by_name = {w.name: w for w in workloads}
    for name in sorted(on_node):
        budget = by_name[name].pdb_max_unavailable
        if budget == 0:
            outcome.blocking_pdbs.append(f"{name} (PDB allows no disruption)")
    evicted = [cluster.pods[p] for p in list(node.pods) if by_name[cluster.pods[p].workload.name].pdb_max_unavailable != 0]
    down = {p.id for p in evicted}
    for pod in evicted:
        unbind(pod, cluster)
    pending = place(evicted, cluster, {p.name for p in cluster.pools})
    _sort_pending(outcome, pending)
    for name in sorted({p.workload.name for p in pending}):
        budget = by_name[name].pdb_max_unavailable
        if budget is not None and on_node[name] > budget:
            outcome.blocking_pdbs.append(f"{name} (replacement cannot schedule; PDB holds the rest)")
    # Evictions honour the PDB: at most `budget` members are down at once, so judge with that many.
    worst_down = {p.id for p in evicted if p.workload.pdb_max_unavailable is None}
    for w in workloads:
        ids = [p.id for p in evicted if p.workload is w]
        worst_down.update(ids[: w.pdb_max_unavailable or len(ids)])
    _judge(cluster, workloads, worst_down & down, outcome)
    _judge(cluster, workloads, set(), outcome)
    outcome.nodes_added = sum(cluster.added.values())
    outcome.recovery_minutes = NODE_READY_MINUTES if outcome.nodes_added else 0
    return outcome


def run_drills(start: Cluster, workloads: list[Workload]) -> list[Outcome]:
    """Each drill starts from its own copy of the placed cluster."""
    keep = {id(w): w for w in workloads}  # copies share the Workload objects: pods are matched by identity
    base = copy.deepcopy(start, dict(keep))
    pending = baseline(base, workloads)
    first = Outcome("baseline", f"{len(base.nodes)} nodes after scale-up")
    _sort_pending(first, pending)
    first.nodes_added = sum(base.added.values())
    _judge(base, workloads, set(), first)
    results = [first]

    def fresh() -> Cluster:
        cluster = copy.deepcopy(base, dict(keep))
        cluster.added.clear()
        return cluster

    for pool in [p.name for p in base.pools]:
        results.append(node_lost(fresh(), workloads, pool) or Outcome(f"node-lost:{pool}", "pool has no nodes"))
    zone_results = [zone_lost(fresh(), workloads, z) for z in sorted({n.zone for n in base.nodes})]
    if zone_results:
        results.append(min(zone_results, key=lambda o: (o.survived, -len(o.pending), -len(o.quorums_lost))))
    results.append(spot_wave(fresh(), workloads))
    results.append(rolling_update(fresh(), workloads))
    for pool in [p.name for p in base.pools]:
        outcome = drain(fresh(), workloads, pool)
        if outcome:
            results.append(outcome)
    return results
