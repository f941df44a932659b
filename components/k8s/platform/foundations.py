"""What every platform namespace stands on: PSA labels, default-deny, quotas, the data StorageClass, priorities."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.core.v1 import LimitRangeSpecArgs
from pulumi_kubernetes.networking.v1 import NetworkPolicySpecArgs

from components.handle import StorageClasses, VolumeProvisioner
from components.outputs import register_declared
from settings.endpoints import APPS_NAMESPACE, NAMESPACES

from ..pods import DATA_PRIORITY_CLASS, PLATFORM_PRIORITY_CLASS, Obj, as_input, cidr_peer, dns_egress, namespace_peer, tcp_ports
from .context import PlatformContext

ECK_NAMESPACE = "elastic-system"
MONITORING = NAMESPACES["monitoring"]
# The API server calls admission webhooks from the control plane's addresses, outside any namespace.
ANYWHERE = cidr_peer("0.0.0.0/0")

# Pod Security Admission level enforced per namespace; every namespace also warns and audits at restricted,
# so anything short of it shows up.
PSA_LEVELS: dict[str, str] = {
    "logging": "restricted",
    "tracing": "restricted",
    # Node exporter / the Datadog agent read host paths and the host network: the one privileged namespace.
    "monitoring": "privileged",
    "messaging": "restricted",
    # The MongoDB operator injects its own agent and init containers, whose security context it owns:
    # baseline is the highest level it does not document as supported.
    "data": "baseline",
    APPS_NAMESPACE: "restricted",
    ECK_NAMESPACE: "restricted",
}

# Per namespace: (cpu limits, memory limits in GiB, pods) at scale 1; prod multiplies by its quorum size.
# Each leaves room for a rolling update (one extra pod per workload).
QUOTA_BASE: dict[str, tuple[int, int, int]] = {
    "logging": (16, 48, 30),
    "tracing": (4, 8, 10),
    "monitoring": (16, 48, 200),
    "messaging": (8, 16, 20),
    "data": (12, 32, 40),
    APPS_NAMESPACE: (64, 256, 300),
    ECK_NAMESPACE: (2, 4, 5),
}


# The AWS Load Balancer Controller adds a readiness gate to pods behind its target groups in namespaces so labelled:
# a rolled pod counts as ready only once the NLB sees it healthy, so a rollout never outruns the load balancer.
READINESS_GATE_LABELS = {APPS_NAMESPACE: {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}}


def psa_labels(level: str) -> dict[str, str]:
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }


def quota_hard(namespace: str, scale: int, storage_gib: int) -> dict[str, str]:
    cpu, memory, pods = QUOTA_BASE[namespace]
    hard = {"limits.cpu": str(cpu * scale), "limits.memory": f"{memory * scale}Gi", "pods": str(pods * scale)}
    if storage_gib:
        # Twice the claims: volumes can be expanded in place without hitting the quota first.
        hard |= {"requests.storage": f"{2 * storage_gib}Gi", "persistentvolumeclaims": str(10 * scale)}
    return hard


def from_namespaces(*namespaces: str) -> list[Obj]:
    return [namespace_peer(ns) for ns in namespaces]


DATA_NAMESPACES = frozenset({NAMESPACES["logging"], NAMESPACES["messaging"], NAMESPACES["data"]})


@dataclass(frozen=True)
class FoundationsArgs:
    # Requested storage per namespace (GiB), so the quota fits what the stack claims.
    storage_gib: dict[str, int]


class Foundations(pulumi.ComponentResource):
    namespace_names: list[str]

    def __init__(self, name: str, context: PlatformContext, args: FoundationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Foundations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for ns, level in PSA_LEVELS.items():
            namespace = k8s.core.v1.Namespace(
                ns,
                metadata={"name": ns, "labels": psa_labels(level) | READINESS_GATE_LABELS.get(ns, {})},
                # Deleting a namespace deletes everything in it, claims included: the data tier's are protected.
                opts=pulumi.ResourceOptions(parent=self, protect=context.protect and ns in DATA_NAMESPACES),
            )
            self.namespaces[ns] = namespace
            # Children do not inherit the namespace's protection: a policy or quota is no data.
            in_ns = pulumi.ResourceOptions(parent=namespace, protect=False)
            # Nothing in or out unless a policy below or a workload's own policy allows it.
            k8s.networking.v1.NetworkPolicy(
                f"{ns}-default-deny",
                metadata={"namespace": ns, "name": "default-deny"},
                spec=as_input(NetworkPolicySpecArgs, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
                opts=in_ns,
            )
            k8s.networking.v1.NetworkPolicy(
                f"{ns}-allow-dns",
                metadata={"namespace": ns, "name": "allow-dns"},
                spec=as_input(NetworkPolicySpecArgs, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns_egress()]}),
                opts=in_ns,
            )
            k8s.core.v1.ResourceQuota(
                f"{ns}-quota",
                metadata={"namespace": ns, "name": "quota"},
                spec={"hard": quota_hard(ns, context.scale, args.storage_gib.get(ns, 0))},
                opts=in_ns,
            )
            # Containers an operator or chart adds without sizes still get requests and limits.
            k8s.core.v1.LimitRange(
                f"{ns}-limits",
                metadata={"namespace": ns, "name": "defaults"},
                spec=as_input(
                    LimitRangeSpecArgs,
                    {
                        "limits": [
                            {
                                "type": "Container",
                                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                                "default": {"cpu": "500m", "memory": "512Mi"},
                            }
                        ]
                    },
                ),
                opts=in_ns,
            )

        storage = context.cluster.storage
        if storage.provisioner is not None:
            self._storage_classes(storage, storage.provisioner, child)
        self.priority_classes = [
            k8s.scheduling.v1.PriorityClass(
                DATA_PRIORITY_CLASS,
                metadata={"name": DATA_PRIORITY_CLASS},
                value=1_000_000,
                description="Stateful data tier: scheduled first, evicted last.",
                opts=child,
            ),
            k8s.scheduling.v1.PriorityClass(
                PLATFORM_PRIORITY_CLASS,
                metadata={"name": PLATFORM_PRIORITY_CLASS},
                value=100_000,
                description="Platform services the apps depend on (logging, tracing, metrics).",
                opts=child,
            ),
        ]
        self.namespace_names = list(self.namespaces)
        register_declared(self)

    def _storage_classes(self, storage: StorageClasses, provisioner: VolumeProvisioner, child: pulumi.ResourceOptions) -> None:
        # A class's parameters cannot change: a new one (a key, say) replaces the class, and its fixed name means the
        # old one goes first. Bound volumes keep theirs (a PV names its class only by name); claims made meanwhile wait.
        child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True))
        k8s.storage.v1.StorageClass(
            storage.data,
            metadata={"name": storage.data},
            provisioner=provisioner.driver,
            parameters=dict(provisioner.parameters),
            # Deleting a claim (or the stack) never deletes the data; volumes grow in place; a volume is
            # created in the zone the pod was scheduled to, not before.
            reclaim_policy="Retain",
            allow_volume_expansion=True,
            volume_binding_mode="WaitForFirstConsumer",
            opts=child,
        )
        # Generic ephemeral volumes: deleted with their pod, so their volumes must be too (Delete, not Retain).
        k8s.storage.v1.StorageClass(
            storage.scratch,
            metadata={"name": storage.scratch},
            provisioner=provisioner.driver,
            parameters=dict(provisioner.parameters),
            reclaim_policy="Delete",
            volume_binding_mode="WaitForFirstConsumer",
            opts=child,
        )


def allow_ingress(  # noqa: PLR0917 (one call per rule reads best positionally)
    name: str,
    namespace: str,
    pod_labels: dict[str, str],
    ports: list[int],
    peers: list[Obj],
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    """Admit `peers` to the selected pods on `ports` (TCP)."""
    return k8s.networking.v1.NetworkPolicy(
        f"{namespace}-{name}",
        metadata={"namespace": namespace, "name": name},
        spec=as_input(
            NetworkPolicySpecArgs,
            {
                "podSelector": {"matchLabels": pod_labels},
                "policyTypes": ["Ingress"],
                # No ports: every port (the collectors' namespace).
                "ingress": [{"from": peers, **({"ports": tcp_ports(*ports)} if ports else {})}],
            },
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=False),
    )


def allow_egress(
    name: str, namespace: str, pod_labels: dict[str, str], rules: list[Obj], parent: pulumi.Resource
) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        f"{namespace}-{name}",
        metadata={"namespace": namespace, "name": name},
        spec=as_input(NetworkPolicySpecArgs, {"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Egress"], "egress": rules}),
        opts=pulumi.ResourceOptions(parent=parent, protect=False),
    )


def allow_within_namespace(namespace: str, parent: pulumi.Resource) -> None:
    """Members of one system talk to each other (replication, cluster transport) inside their namespace."""
    same = [{"podSelector": {}}]
    k8s.networking.v1.NetworkPolicy(
        f"{namespace}-allow-same-namespace",
        metadata={"namespace": namespace, "name": "allow-same-namespace"},
        spec=as_input(
            NetworkPolicySpecArgs,
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{"from": same}], "egress": [{"to": same}]},
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=False),
    )


def https_anywhere() -> Obj:
    """The Kubernetes API and AWS endpoints (STS, S3) have no fixed in-cluster address: HTTPS out."""
    return {"ports": tcp_ports(443)}
