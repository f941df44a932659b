"""Failure drills: the capacity facts, the placement rules, planted faults that must fail, and every stack's drills."""

import pytest

from drills.capacity import Pool, Resources, allocatable, cpu_reserved_m, initial_nodes, max_pods
from drills.drills import drain, node_lost, run_drills, zone_lost
from drills.report import failures, simulate
from drills.scheduler import Cluster, PodRef, feasible, place
from drills.workloads import Spread, Workload, cpu_m, mem_mi
from offline.runner import run_stack
from settings import StackConfig

ZONES = ["z-a", "z-b", "z-c"]
NODE = Resources(3920, 15000, 58, 40000)


def pool(name: str, size: int, *, spot: bool = False, max_size: int | None = None) -> Pool:
    taints = (("insight.io/spot", "true", "NoSchedule"),) if spot else ()
    return Pool(name, "m6i.xlarge", size, size, max_size or size, {"insight.io/pool": name}, taints, spot, NODE)


def workload(name: str, replicas: int, cpu: int = 500, **kw) -> Workload:
    defaults = dict(
        kind="StatefulSet",
        requests=Resources(cpu, 1024, 1),
        labels={"app": name},
        required_pools=("reserved",),
        preferred_pool=None,
        tolerates_spot=False,
    )
    return Workload(name=name, replicas=replicas, **{**defaults, **kw})


def zone_spread(name: str, honor: bool) -> tuple[Spread, ...]:
    return (Spread("topology.kubernetes.io/zone", 1, True, {"app": name}, honor),)


def cluster(*pools: Pool) -> Cluster:
    return Cluster(list(pools), initial_nodes(list(pools), ZONES), ZONES)


def by_drill(outcomes):
    return {o.drill: o for o in outcomes}


# --- capacity facts (amazon-eks-ami v20260724 nodeadm formulas) ---


def test_allocatable_follows_the_eks_ami_formulas():
    assert max_pods("m6i.xlarge") == 58  # 4 ENIs * (15 - 1) + 2
    assert cpu_reserved_m(4) == 80 and cpu_reserved_m(8) == 90
    node = allocatable("m6i.xlarge", 50)
    assert node == Resources(3920, 16384 - (11 * 58 + 255) - 100, 58, int(50 * 1024 * 0.9) - 1024)


def test_quantities():
    assert cpu_m("250m") == 250 and cpu_m("2") == 2000 and cpu_m(1.5) == 1500
    assert mem_mi("2Gi") == 2048 and mem_mi("512Mi") == 512


# --- placement rules ---


def test_taint_and_required_affinity_filter():
    c = cluster(pool("reserved", 1), pool("spot", 1, spot=True))
    reserved, spot = c.nodes
    data = PodRef(workload("db", 1), 0)
    app = PodRef(workload("app", 1, required_pools=None, preferred_pool="spot", tolerates_spot=True), 0)
    intolerant = PodRef(workload("plain", 1, required_pools=None), 0)
    assert feasible(data, reserved, c) and not feasible(data, spot, c)
    assert feasible(app, spot, c) and not feasible(intolerant, spot, c)
    place([app], c, set())
    assert c.placed[app.id] == spot.name  # the preferred pool wins the score


def test_fit_and_scale_up_within_max_size():
    c = cluster(pool("reserved", 1, max_size=2))
    big = workload("big", 3, cpu=3000)
    pending = place([PodRef(big, i) for i in range(3)], c, {"reserved"})
    assert len(pending) == 1 and c.added["reserved"] == 1  # one node added, then the pool is at max


def test_hard_zone_spread_and_anti_affinity():
    c = cluster(pool("reserved", 3))
    w = workload("q", 4, spreads=zone_spread("q", honor=False), anti_affinity_hosts=True)
    pending = place([PodRef(w, i) for i in range(4)], c, set())
    assert len(pending) == 1  # a 4th pod needs a 4th host: anti-affinity
    assert len({c.node(c.placed[f"q-{i}"]).zone for i in range(3)}) == 3


def test_volume_binds_a_pod_to_its_zone():
    c = cluster(pool("reserved", 3))
    pod = PodRef(workload("v", 1, volume_gib=10), 0)
    place([pod], c, set())
    other_zone = next(n for n in c.nodes if n.zone != pod.zone)
    from drills.scheduler import unbind

    unbind(pod, c)
    assert not feasible(pod, other_zone, c)


# --- planted faults: each drill must fail ---


def test_reserved_pool_too_small_for_the_data_tier_fails():
    data = [workload(n, 3, cpu=1500, quorum=q, volume_gib=10) for n, q in (("es", "Elasticsearch"), ("mongo", "MongoDB"))]
    small = by_drill(run_drills(cluster(pool("reserved", 1), pool("spot", 1, spot=True)), data))
    assert small["baseline"].pending
    assert small["node-lost:reserved"].quorums_lost
    roomy = by_drill(run_drills(cluster(pool("reserved", 3), pool("spot", 1, spot=True)), data))
    assert roomy["baseline"].survived and roomy["node-lost:reserved"].survived


@pytest.mark.parametrize("honor", [False, True])
def test_zone_spread_after_a_zone_loss(honor):
    app = workload("app", 3, cpu=100, required_pools=None, spreads=zone_spread("app", honor))
    c = cluster(pool("reserved", 6))
    place([PodRef(app, i) for i in range(3)], c, set())
    outcome = zone_lost(c, [app], "z-a")
    assert outcome.survived is honor  # DoNotSchedule counting the lost zone leaves its pod pending
    assert bool(outcome.pending) is not honor


def test_pdb_that_allows_no_disruption_blocks_the_drain():
    strict = workload("strict", 2, required_pools=None, pdb_max_unavailable=0)
    c = cluster(pool("reserved", 2))
    place([PodRef(strict, i) for i in range(2)], c, set())
    blocked = drain(c, [strict], "reserved")
    assert blocked is not None and blocked.blocking_pdbs
    lenient = workload("lenient", 2, required_pools=None, pdb_max_unavailable=1)
    c = cluster(pool("reserved", 2))
    place([PodRef(lenient, i) for i in range(2)], c, set())
    drained = drain(c, [lenient], "reserved")
    assert drained is not None and drained.survived


def test_quorum_with_every_member_on_one_node_is_lost():
    crowded = workload("rabbit", 3, quorum="RabbitMQ")
    c = cluster(pool("reserved", 1, max_size=2))
    place([PodRef(crowded, i) for i in range(3)], c, set())
    outcome = node_lost(c, [crowded], "reserved")
    assert outcome and outcome.quorums_lost and not outcome.survived


# --- the stacks ---


def test_shrinking_prods_reserved_pool_to_one_node_fails_the_preview():
    reserved = {"instanceType": "m6i.2xlarge", "count": 1, "term": "3yr", "payment": "partial_upfront"}
    spot = {
        "instanceTypes": ["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge"],
        "minSize": 3,
        "desiredSize": 6,
        "maxSize": 18,
    }
    pools = {"reserved": {"reservation": reserved, "minSize": 1, "desiredSize": 1, "maxSize": 1, "diskGib": 100}, "spot": spot}
    run = run_stack("prod", overrides={"insight:nodePools": pools})
    assert isinstance(run.settings, StackConfig)
    lines = failures("prod", simulate(run.records, run.settings))
    assert any(line.startswith("drill node-lost:reserved") for line in lines)


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_every_stack_passes_its_required_drills(stack):
    run = run_stack(stack)
    assert isinstance(run.settings, StackConfig)
    outcomes = simulate(run.records, run.settings)
    assert {"baseline", "zone-lost", "spot-wave", "rolling-update"} <= {o.drill for o in outcomes}
    assert failures(run.tier, outcomes) == []


def test_prods_spot_wave_reschedules_every_pod_on_on_demand_overflow_nodes():
    """Without the overflow pool, 10 app pods stay pending while spot is gone (the reserved pool is fixed)."""
    run = run_stack("prod")
    assert isinstance(run.settings, StackConfig)
    (wave,) = [o for o in simulate(run.records, run.settings) if o.drill == "spot-wave"]
    assert wave.pending == [] and wave.nodes_added > 0
