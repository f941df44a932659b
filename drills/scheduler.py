"""Placement as kube-scheduler decides it for the rules the stack uses, and cluster-autoscaler's scale-up.

Filters (all must pass): taints vs tolerations (NoSchedule), required node affinity on the pool label, the
zone a pod's volumes are bound to (VolumeZone), fit of requests (cpu, memory, pod slots, ephemeral disk),
required pod anti-affinity on the hostname, and every `DoNotSchedule` topology spread constraint:
skew = pods in the node's domain + 1 - the fewest in any eligible domain <= maxSkew. Eligible domains are the
nodes that pass the pod's node affinity (nodeAffinityPolicy Honor, the default); a node cut off (unreachable,
cordoned) stays a domain unless the constraint says nodeTaintsPolicy Honor, because the node lifecycle controller
only taints it. Pods on a cut-off node are terminating and are not counted (the scheduler skips them).
Scoring (simple): preferred pool +100, fewer pods of the same owner on the node and in its zone, then the most
free CPU. No preemption is modelled.

Scale-up: when no node passes, the autoscaler tries its node groups in the priority expander's order (higher
first), each below its max size, with a template node; the ASG puts the new node in the surviving zone where
the pool has the fewest nodes (its AZ rebalancing). The pod is placed if it passes on that template.
"""

from collections import Counter
from dataclasses import dataclass, field

from settings.scheduling import POOL_LABEL

from .capacity import Node, Pool, new_node
from .workloads import Workload


@dataclass
class PodRef:
    workload: Workload
    index: int
    zone: str | None = None  # where its volumes are bound (set on first placement when it has volumes)

    @property
    def id(self) -> str:
        return f"{self.workload.name}-{self.index}"


@dataclass
class Cluster:
    pools: list[Pool]
    nodes: list[Node]
    zones: list[str]
    placed: dict[str, str] = field(default_factory=dict)  # pod id -> node name
    pods: dict[str, PodRef] = field(default_factory=dict)
    lost_zones: set[str] = field(default_factory=set)
    added: Counter = field(default_factory=Counter)  # nodes the autoscaler added, per pool

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def pool(self, name: str) -> Pool:
        return next(p for p in self.pools if p.name == name)

    def live_pods_on(self, node: Node) -> list[PodRef]:
        return [self.pods[p] for p in node.pods]


def _affinity_ok(w: Workload, node: Node) -> bool:
    return w.required_pools is None or node.labels.get(POOL_LABEL) in w.required_pools


def _taints_ok(w: Workload, node: Node) -> bool:
    return all(effect != "NoSchedule" or w.tolerates_spot for _key, _value, effect in node.taints)


def _matches(w: Workload, selector: dict[str, str]) -> bool:
    return bool(selector) and selector.items() <= w.labels.items()


def spread_ok(pod: PodRef, node: Node, cluster: Cluster, extra: Node | None = None) -> bool:
    nodes = cluster.nodes + ([extra] if extra else [])
    for spread in pod.workload.spreads:
        if not spread.hard:
            continue
        eligible = [n for n in nodes if _affinity_ok(pod.workload, n) and not (spread.honor_taints and n.unschedulable)]
        eligible = [n for n in eligible if spread.honor_taints is False or _taints_ok(pod.workload, n)]
        counts: Counter = Counter({n.labels[spread.topology_key]: 0 for n in eligible})
        for n in eligible:
            if n.unschedulable:
                continue  # its pods are terminating
            counts[n.labels[spread.topology_key]] += sum(_matches(p.workload, spread.selector) for p in cluster.live_pods_on(n))
        domain = node.labels[spread.topology_key]
        if counts[domain] + 1 - min(counts.values(), default=0) > spread.max_skew:
            return False
    return True


def feasible(pod: PodRef, node: Node, cluster: Cluster, extra: Node | None = None) -> bool:
    w = pod.workload
    if node.unschedulable or not _taints_ok(w, node) or not _affinity_ok(w, node):
        return False
    if pod.zone is not None and node.zone != pod.zone:
        return False
    if not w.requests.fits_in(node.free):
        return False
    if w.anti_affinity_hosts and any(p.workload is w for p in cluster.live_pods_on(node)):
        return False
    return spread_ok(pod, node, cluster, extra)


def _score(pod: PodRef, node: Node, cluster: Cluster) -> tuple:
    w = pod.workload
    same_host = sum(p.workload is w for p in cluster.live_pods_on(node))
    same_zone = sum(p.workload is w for n in cluster.nodes if n.zone == node.zone for p in cluster.live_pods_on(n))
    preferred = 100 if w.preferred_pool and node.labels.get(POOL_LABEL) == w.preferred_pool else 0
    return (preferred - 10 * same_host - 5 * same_zone, node.free.cpu_m, node.name)


def bind(pod: PodRef, node: Node, cluster: Cluster) -> None:
    node.free = node.free - pod.workload.requests
    node.pods.append(pod.id)
    cluster.placed[pod.id] = node.name
    cluster.pods[pod.id] = pod
    if pod.workload.volume_gib and pod.zone is None:
        pod.zone = node.zone


def unbind(pod: PodRef, cluster: Cluster) -> None:
    node = cluster.node(cluster.placed.pop(pod.id))
    node.pods.remove(pod.id)
    node.free = node.free + pod.workload.requests


def _scale_up(pod: PodRef, cluster: Cluster, scalable: set[str]) -> Node | None:
    for pool in sorted(cluster.pools, key=lambda p: -p.expander_priority):
        live = [n for n in cluster.nodes if n.pool == pool.name and not n.unschedulable]
        if pool.name not in scalable or len(live) >= pool.max_size:
            continue
        zones = [z for z in cluster.zones if z not in cluster.lost_zones]
        if not zones:
            return None
        zone = min(zones, key=lambda z: (sum(n.zone == z for n in live), zones.index(z)))
        index = sum(n.pool == pool.name for n in cluster.nodes)
        template = new_node(pool, index, zone)
        if feasible(pod, template, cluster, extra=template):
            cluster.nodes.append(template)
            cluster.added[pool.name] += 1
            return template
    return None


def place(pods: list[PodRef], cluster: Cluster, scalable: set[str]) -> list[PodRef]:
    """Schedule in priority order (then largest first); returns the pods left pending."""
    pending = []
    for pod in sorted(pods, key=lambda p: (-p.workload.priority, -p.workload.requests.cpu_m, p.id)):
        candidates = [n for n in cluster.nodes if feasible(pod, n, cluster)]
        node = max(candidates, key=lambda n: _score(pod, n, cluster)) if candidates else _scale_up(pod, cluster, scalable)
        if node is None:
            pending.append(pod)
        else:
            bind(pod, node, cluster)
    return pending
