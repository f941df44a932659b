"""What a node of each pool offers pods, and the nodes the pools start with.

Allocatable = capacity - kube-reserved - hard eviction thresholds, as nodeadm (the EKS AL2023 AMI's node
bootstrap) writes them into the kubelet config. Facts from awslabs/amazon-eks-ami tag v20260724,
nodeadm/internal/kubelet/config.go (blob 01c3c36bad3e7e3f232dad698e6ec8f18c20308c):
- maxPods = ENIs * (IPv4 addresses per ENI - 1) + 2 (eni_max_pods.go, calculateStandardMaxPods)
- kubeReserved memory = 11 MiB * maxPods + 255 MiB (getMemoryMebibytesToReserve)
- kubeReserved cpu = 6% of the first core, 1% of the second, 0.5% of cores 3-4, 0.25% above (getCPUMillicoresToReserve)
- kubeReserved ephemeral-storage = 1Gi; evictionHard memory.available=100Mi, nodefs.available=10%
- no systemReserved is set (only its cgroup), so nothing more is taken.
Memory capacity is the instance's nominal GiB; the kernel keeps a few percent of it out of MemTotal, so
real allocatable memory is slightly lower than modelled (CPU, pods and disk are exact).
"""

from dataclasses import dataclass, field

from settings.aws_catalog import INSTANCE_TYPES
from settings.cluster import NodePoolsConfig
from settings.scheduling import OVERFLOW_POOL, POOL_LABEL, SPOT_TAINT_KEY

from .eni_limits import ENI_LIMITS

MEMORY_RESERVED_PER_POD_MI = 11
MEMORY_RESERVED_BASE_MI = 255
EVICTION_MEMORY_MI = 100
EVICTION_NODEFS_FRACTION = 0.10
KUBE_RESERVED_DISK_MI = 1024
# (upper bound of the range in millicores, share reserved in it per 10,000)
CPU_RESERVED_RANGES = ((1000, 600), (2000, 100), (4000, 50), (None, 25))

ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"


@dataclass(frozen=True, order=True)
class Resources:
    cpu_m: int = 0
    mem_mi: int = 0
    pods: int = 0
    disk_mi: int = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu_m + other.cpu_m, self.mem_mi + other.mem_mi, self.pods + other.pods, self.disk_mi + other.disk_mi)

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu_m - other.cpu_m, self.mem_mi - other.mem_mi, self.pods - other.pods, self.disk_mi - other.disk_mi)

    def fits_in(self, free: "Resources") -> bool:
        return self.cpu_m <= free.cpu_m and self.mem_mi <= free.mem_mi and self.pods <= free.pods and self.disk_mi <= free.disk_mi


@dataclass(frozen=True)
class DaemonSetFact:
    name: str
    requests: Resources
    source: str


# Per-node pods every node runs (requests only; a pod slot each). Datadog/node-exporter agents set no requests.
DAEMONSETS: tuple[DaemonSetFact, ...] = (
    DaemonSetFact("aws-node (VPC CNI)", Resources(25, 0, 1), "aws/amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml: requests cpu 25m"),
    DaemonSetFact("kube-proxy", Resources(100, 0, 1), "EKS kube-proxy add-on DaemonSet: requests cpu 100m (AWS-managed manifest)"),
    DaemonSetFact(
        "ebs-csi-node",
        Resources(10, 40, 1),
        "kubernetes-sigs/aws-ebs-csi-driver charts/aws-ebs-csi-driver/values.yaml: node.resources requests 10m/40Mi",
    ),
    # Ours: components/k8s/platform/shipping.py RESOURCES (tests/test_drills.py holds them equal).
    DaemonSetFact("fluent-bit", Resources(50, 128, 1), "components/k8s/platform/shipping.py: requests 50m/128Mi"),
)
DATADOG_AGENT = DaemonSetFact("datadog-agent", Resources(0, 0, 1), "DataDog/helm-charts datadog-3.130.1 values.yaml: agents resources {}")
NODE_EXPORTER = DaemonSetFact(
    "node-exporter", Resources(0, 0, 1), "kube-prometheus-stack 77.6.2: prometheus-node-exporter sets no requests"
)


def max_pods(instance_type: str) -> int:
    enis, addresses = ENI_LIMITS[instance_type]
    return enis * (addresses - 1) + 2


def cpu_reserved_m(vcpu: int) -> int:
    total, reserved, start = vcpu * 1000, 0, 0
    for end, per_10k in CPU_RESERVED_RANGES:
        stop = total if end is None else min(end, total)
        if stop > start:
            reserved += (stop - start) * per_10k // 10000
        start = stop if end is None else end
    return reserved


def allocatable(instance_type: str, disk_gib: int) -> Resources:
    shape = INSTANCE_TYPES[instance_type]
    pods = max_pods(instance_type)
    memory = int(shape.memory_gib * 1024) - (MEMORY_RESERVED_PER_POD_MI * pods + MEMORY_RESERVED_BASE_MI) - EVICTION_MEMORY_MI
    disk = int(disk_gib * 1024 * (1 - EVICTION_NODEFS_FRACTION)) - KUBE_RESERVED_DISK_MI
    return Resources(shape.vcpu * 1000 - cpu_reserved_m(shape.vcpu), memory, pods, disk)


def daemonset_overhead(daemonsets: tuple[DaemonSetFact, ...]) -> Resources:
    total = Resources()
    for ds in daemonsets:
        total = total + ds.requests
    return total


@dataclass(frozen=True)
class Pool:
    name: str
    instance_type: str  # the smallest of the pool's types: the autoscaler's template and the worst case
    min_size: int
    desired_size: int
    max_size: int
    labels: dict[str, str]
    taints: tuple[tuple[str, str, str], ...]  # (key, value, effect)
    spot: bool
    # What a pod may request on a fresh node of this pool (allocatable minus DaemonSets).
    free: Resources
    expander_priority: int = 0


@dataclass
class Node:
    name: str
    pool: str
    zone: str
    labels: dict[str, str]
    taints: tuple[tuple[str, str, str], ...]
    free: Resources
    # Cut off (lost zone, reclaimed, drained): kept as a topology domain, no longer schedulable.
    unschedulable: bool = False
    pods: list[str] = field(default_factory=list)


def pools_from_settings(pools: NodePoolsConfig, daemonsets: tuple[DaemonSetFact, ...], priorities: dict[str, int]) -> list[Pool]:
    """Labels and taints as components/aws/cluster.py declares them on the three managed node groups."""
    overhead = daemonset_overhead(daemonsets)
    reserved_type = pools.reserved.reservation.instance_type
    spot_type = min(pools.spot.instance_types, key=lambda t: allocatable(t, pools.spot.disk_gib))
    return [
        Pool(
            "reserved",
            reserved_type,
            pools.reserved.min_size,
            pools.reserved.desired_size,
            pools.reserved.max_size,
            {POOL_LABEL: "reserved"},
            (),
            False,
            allocatable(reserved_type, pools.reserved.disk_gib) - overhead,
            priorities.get("reserved", 0),
        ),
        Pool(
            "spot",
            spot_type,
            pools.spot.min_size,
            pools.spot.desired_size,
            pools.spot.max_size,
            {POOL_LABEL: "spot"},
            ((SPOT_TAINT_KEY, "true", "NoSchedule"),),
            True,
            allocatable(spot_type, pools.spot.disk_gib) - overhead,
            priorities.get("spot", 0),
        ),
        # On-demand overflow of the spot pool (components/aws/cluster.py): spot's types, taint and ceiling, from zero.
        Pool(
            OVERFLOW_POOL,
            spot_type,
            0,
            0,
            pools.spot.max_size,
            {POOL_LABEL: OVERFLOW_POOL},
            ((SPOT_TAINT_KEY, "true", "NoSchedule"),),
            False,
            allocatable(spot_type, pools.spot.disk_gib) - overhead,
            priorities.get(OVERFLOW_POOL, 0),
        ),
    ]


def new_node(pool: Pool, index: int, zone: str) -> Node:
    name = f"{pool.name}-{index}"
    return Node(name, pool.name, zone, {**pool.labels, ZONE_KEY: zone, HOST_KEY: name}, pool.taints, pool.free)


def initial_nodes(pools: list[Pool], zones: list[str]) -> list[Node]:
    """Each managed node group's ASG spans every private subnet and balances its instances across the zones."""
    return [new_node(pool, i, zones[i % len(zones)]) for pool in pools for i in range(pool.desired_size)]
