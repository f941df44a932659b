"""The Kubernetes layer's one pod vocabulary, for apps and platform alike: labels, placement on the cluster's stable
and interruptible nodes (the handle's NodePlacement), zone and host spread, resources, security contexts, probes,
disruption budgets, secret env, scratch volumes.

They return plain Kubernetes (camelCase) structures, so the same piece serves a built-in workload and a
custom resource's pod template, and the rendered manifests read like the YAML they become.
"""

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import pulumi

from components.handle import NodePlacement
from settings.platform import ResourcesConfig
from settings.scheduling import HOST_KEY, ZONE_KEY

Obj = dict[str, Any]
Kind = TypeVar("Kind")


def as_input(kind: type[Kind], manifest: pulumi.Input[Obj]) -> pulumi.Input[Kind]:
    """The one typed boundary between our manifests and the provider's hints, at each argument that takes one.

    The hints want `kind` or its ArgsDict, whose keys are snake_case; a manifest is the camelCase Kubernetes object
    it becomes, which the SDK sends as it is (it translates only the snake_case names `kind` declares: pulumi 3's
    runtime/rpc.py serialize_property). pyright cannot
    check a manifest against the cluster's schema, so it is handed over untyped here, and only here;
    tests/test_manifest_schemas.py validates every rendered object strictly against the pinned schemas instead.
    `kind` names what the argument is, for the reader and for pyright's check of the argument itself."""
    del kind
    return cast("pulumi.Input[Kind]", manifest)


# The data tier is preempted and evicted last, the rest of the platform before the apps.
DATA_PRIORITY_CLASS = "insight-data"
PLATFORM_PRIORITY_CLASS = "insight-platform"
NONROOT_UID = 1000


NAME_LABEL = "app.kubernetes.io/name"
# part-of differs between the catalog's services and the platform, and stays so: the platform's value is in its
# workloads' selectors, which are immutable (a change replaces the workload, StatefulSets and their data included).
APPS_PART_OF = "insight"
PLATFORM_PART_OF = "insight-platform"


def labels(app: str, component: str | None = None, *, part_of: str = PLATFORM_PART_OF, version: str | None = None) -> dict[str, str]:
    result = {NAME_LABEL: app, "app.kubernetes.io/part-of": part_of}
    if component:
        result["app.kubernetes.io/component"] = component
    if version:
        result["app.kubernetes.io/version"] = version
    return result


def _node_terms(node_labels: Mapping[str, str]) -> Obj:
    return {"matchExpressions": [{"key": key, "operator": "In", "values": [value]} for key, value in node_labels.items()]}


def stable_placement(placement: NodePlacement) -> Obj:
    """Stateful pods and those that do not tolerate interruption require the stable nodes (when the cluster names
    any); they carry no toleration of the interruptible nodes' taint at all."""
    if not placement.stable:
        return {}
    required = {"nodeSelectorTerms": [_node_terms(placement.stable)]}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}}


def stable_selector(placement: NodePlacement) -> dict[str, str]:
    """The nodeSelector form, for charts whose values take no affinity: the stable nodes (empty: any node)."""
    return dict(placement.stable)


def every_node_tolerations() -> list[Obj]:
    """Node agents (log shippers, exporters) run on every node, whatever its taints: each node's data is only there."""
    return [{"operator": "Exists"}]


def interruptible_placement(placement: NodePlacement) -> Obj:
    """Stateless pods tolerate the interruptible nodes' taint and prefer those nodes, keeping stable capacity for data."""
    taint = placement.interruptible_taint
    tolerations = [{"key": taint.key, "operator": "Equal", "value": taint.value, "effect": "NoSchedule"}] if taint else []
    preferred = [{"weight": 100, "preference": _node_terms(placement.interruptible)}] if placement.interruptible else []
    return ({"tolerations": tolerations} if tolerations else {}) | (
        {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}}} if preferred else {}
    )


def spreads(max_pods: int) -> bool:
    """The one spread rule of apps and platform: spread when the workload may run more than one pod (its replicas, or
    its autoscaler's maximum). A single pod has nothing to spread from."""
    return max_pods > 1


def zone_spread(match_labels: dict[str, str], max_pods: int, nodes: NodePlacement) -> list[Obj]:
    """When it spreads: one pod per zone where possible (hard) if the nodes have zones, and never two on one node when
    avoidable."""
    if not spreads(max_pods):
        return []
    by_host = {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": match_labels}}
    if not nodes.zones:
        return [by_host]
    return [
        # nodeTaintsPolicy Honor: a lost zone's nodes (tainted unreachable) stop counting, so its pods can move.
        {
            "maxSkew": 1,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "DoNotSchedule",
            "nodeTaintsPolicy": "Honor",
            "labelSelector": {"matchLabels": match_labels},
        },
        by_host,
    ]


def resources(cfg: ResourcesConfig) -> Obj:
    return {"requests": {"cpu": cfg.cpu, "memory": cfg.memory}, "limits": {"cpu": cfg.cpu_limit, "memory": cfg.memory}}


def scratch_volume(name: str, size_gib: int, storage_class: str) -> Obj:
    """A generic ephemeral volume of the handle's scratch class: a volume made for the pod in its zone and deleted
    with it, so scratch space is not bounded by the node's disk (a spot node has 50 GiB for every pod on it)."""
    claim = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": storage_class,
        "resources": {"requests": {"storage": f"{size_gib}Gi"}},
    }
    return {"name": name, "ephemeral": {"volumeClaimTemplate": {"spec": claim}}}


def small_resources(cpu: str = "50m", cpu_limit: str = "200m", memory: str = "64Mi") -> Obj:
    """Helpers and sidecars (sentinel, proxies, jobs): small fixed shapes."""
    return resources(ResourcesConfig(cpu=cpu, cpu_limit=cpu_limit, memory=memory))


def pod_security(uid: int | None = NONROOT_UID, *, supplemental_groups: list[int] | None = None) -> Obj:
    """Restricted profile. `uid=None` where an operator or the image picks the (non-root) user itself."""
    ids = {"runAsUser": uid, "runAsGroup": uid, "fsGroup": uid} if uid is not None else {}
    groups = {"supplementalGroups": supplemental_groups} if supplemental_groups else {}
    return {"runAsNonRoot": True, **ids, **groups, "seccompProfile": {"type": "RuntimeDefault"}}


def container_security(read_only_root: bool = True) -> Obj:
    """Restricted profile. `read_only_root=False` only where the image writes outside its volumes (said at the call)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tcp_probe(port: int, period: int = 10, failures: int = 3, initial: int = 0) -> Obj:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures, "initialDelaySeconds": initial}


def http_probe(port: int | str, path: str, period: int = 10, failures: int = 3, initial: int | None = None) -> Obj:
    probe = {"httpGet": {"port": port, "path": path}, "periodSeconds": period, "failureThreshold": failures}
    return probe | ({"initialDelaySeconds": initial} if initial is not None else {})


def exec_probe(command: list[str], period: int = 10, failures: int = 3, timeout: int = 5) -> Obj:
    return {"exec": {"command": command}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": timeout}


def slow_start(probe: Obj, minutes: int = 5) -> Obj:
    """A startup probe from a liveness probe: liveness waits until the process has come up once."""
    return {**probe, "periodSeconds": 10, "failureThreshold": minutes * 6}


def pdb_spec(match_labels: dict[str, str]) -> Obj:
    """Voluntary disruptions (drains, upgrades) take one member at a time."""
    return {"maxUnavailable": 1, "selector": {"matchLabels": match_labels}}


def secret_env(name: str, secret: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


# Network policy peers and ports, as apps and platform write their policies.
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def namespace_peer(namespace: str, pod_labels: dict[str, str] | None = None) -> Obj:
    """Pods of `namespace` (those with `pod_labels`, when given)."""
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}} | (
        {"podSelector": {"matchLabels": pod_labels}} if pod_labels else {}
    )


def pods_peer(pod_labels: dict[str, str]) -> Obj:
    """Pods with `pod_labels` in the policy's own namespace."""
    return {"podSelector": {"matchLabels": pod_labels}}


def cidr_peer(cidr: str, *, outside: list[str] | None = None) -> Obj:
    return {"ipBlock": {"cidr": cidr, **({"except": outside} if outside else {})}}


def tcp_ports(*ports: int) -> list[Obj]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def dns_egress() -> Obj:
    """To the cluster DNS (kube-dns in kube-system), over UDP and TCP."""
    return {
        "to": [namespace_peer("kube-system", {"k8s-app": "kube-dns"})],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
