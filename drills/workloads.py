"""Every pod the stack makes, read from the recorded program: its requests and placement rules.

Built-in workloads come from their pod templates; operator-made pods from the custom resource's size and pod
template (OPERATOR_FACTS: which labels the operator gives its pods and which field holds the size); chart pods
from the chart values plus CHART_FACTS (replicas and requests the chart defaults to, with sources).
"""

import re
from dataclasses import dataclass, field
from typing import Any

from .capacity import Resources

Obj = dict[str, Any]

# Quorum systems: how a majority is counted is the same for all four (floor(n/2) + 1 members).
QUORUM_KINDS = {
    "Elasticsearch": "Elasticsearch",
    "MongoDBCommunity": "MongoDB",
    "RabbitmqCluster": "RabbitMQ",
}
# Redis runs Sentinel as a sidecar of each data node: the StatefulSet of that name is a quorum system.
SENTINEL_STATEFULSET = "redis-node"


@dataclass(frozen=True)
class Spread:
    topology_key: str
    max_skew: int
    hard: bool
    selector: dict[str, str]
    honor_taints: bool = False  # nodeTaintsPolicy: Honor (the default, Ignore, counts tainted nodes as domains)


@dataclass
class Workload:
    """One owner of identical pods: a Deployment, a StatefulSet, an operator's CR or a chart's controller."""

    name: str  # namespace/name
    kind: str
    replicas: int
    requests: Resources
    labels: dict[str, str]
    required_pools: tuple[str, ...] | None  # required node affinity on the pool label; None = any
    preferred_pool: str | None
    tolerates_spot: bool
    spreads: tuple[Spread, ...] = ()
    anti_affinity_hosts: bool = False  # required podAntiAffinity on kubernetes.io/hostname against itself
    priority_class: str | None = None
    priority: int = 0
    volume_gib: int = 0  # ReadWriteOnce volumes per pod: bound to the zone the pod first lands in
    quorum: str | None = None  # the system whose majority these pods hold
    max_surge: int = 0
    max_unavailable: int = 1
    pdb_max_unavailable: int | None = None  # None = no PDB
    serves: bool = True  # False for batch pods (Jobs, CronJobs)


@dataclass
class Extraction:
    workloads: list[Workload] = field(default_factory=list)
    priority_classes: dict[str, int] = field(default_factory=dict)
    expander_priorities: dict[str, int] = field(default_factory=dict)
    unmodelled: list[str] = field(default_factory=list)


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$")
_MI = {None: 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "k": 1000 / 2**20, "M": 10**6 / 2**20, "G": 10**9 / 2**20}


def cpu_m(value: Any) -> int:
    match = _QUANTITY.match(str(value))
    if not match:
        raise ValueError(f"not a CPU quantity: {value!r}")
    number, unit = float(match[1]), match[2]
    return round(number if unit == "m" else number * 1000)


def mem_mi(value: Any) -> int:
    match = _QUANTITY.match(str(value))
    if not match or match[2] == "m":
        raise ValueError(f"not a memory quantity: {value!r}")
    return round(float(match[1]) * _MI[match[2]])


def container_requests(containers: list[Obj]) -> Resources:
    total = Resources(pods=0)
    for c in containers:
        req = c.get("resources", {}).get("requests", {}) or {}
        total = total + Resources(cpu_m(req.get("cpu", 0)), mem_mi(req.get("memory", 0)))
    return total


def pod_requests(spec: Obj, volumes_disk_mi: int = 0) -> Resources:
    """Effective requests: the larger of the containers' sum and any one init container, plus one pod slot."""
    main = container_requests(spec.get("containers", []))
    for init in spec.get("initContainers", []):
        one = container_requests([init])
        main = Resources(max(main.cpu_m, one.cpu_m), max(main.mem_mi, one.mem_mi))
    return main + Resources(pods=1, disk_mi=volumes_disk_mi + empty_dir_mi(spec))


def empty_dir_mi(spec: Obj) -> int:
    """emptyDir volumes with a sizeLimit live on the node's disk (ephemeral storage)."""
    return sum(mem_mi(v["emptyDir"]["sizeLimit"]) for v in spec.get("volumes", []) if (v.get("emptyDir") or {}).get("sizeLimit"))


def pool_rules(spec: Obj, pool_label: str) -> tuple[tuple[str, ...] | None, str | None]:
    affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = None
    for term in (affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms", []):
        for expr in term.get("matchExpressions", []):
            if expr["key"] == pool_label and expr["operator"] == "In":
                required = tuple(expr["values"])
    selector = (spec.get("nodeSelector") or {}).get(pool_label)
    if selector:
        required = (selector,)
    preferred = None
    for pref in affinity.get("preferredDuringSchedulingIgnoredDuringExecution", []):
        for expr in pref["preference"].get("matchExpressions", []):
            if expr["key"] == pool_label and expr["operator"] == "In":
                preferred = expr["values"][0]
    return required, preferred


def tolerates(spec: Obj, taint_key: str) -> bool:
    return any(t.get("operator") == "Exists" and "key" not in t or t.get("key") == taint_key for t in spec.get("tolerations", []) or [])


def spreads(spec: Obj) -> tuple[Spread, ...]:
    return tuple(
        Spread(
            c["topologyKey"],
            int(c["maxSkew"]),
            c["whenUnsatisfiable"] == "DoNotSchedule",
            dict(c["labelSelector"]["matchLabels"]),
            c.get("nodeTaintsPolicy") == "Honor",
        )
        for c in spec.get("topologySpreadConstraints", []) or []
    )


def host_anti_affinity(spec: Obj) -> bool:
    terms = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
    return any(t.get("topologyKey") == "kubernetes.io/hostname" for t in terms)


@dataclass(frozen=True)
class ChartPod:
    """A controller a chart runs: where its size and requests are in the values, and the chart's defaults."""

    name: str
    replicas_key: str | None
    default_replicas: int
    resources_key: str | None
    default_requests: Resources
    node_selector_key: str | None
    source: str
    volume_key: str | None = None
    serves: bool = False  # controllers that only reconcile tolerate a short gap; webhooks and DNS do not


CHART_FACTS: dict[str, tuple[ChartPod, ...]] = {
    "cluster-autoscaler": (
        ChartPod(
            "cluster-autoscaler",
            "replicaCount",
            1,
            "resources",
            Resources(),
            "nodeSelector",
            "kubernetes/autoscaler chart 9.50.1 values.yaml",
        ),
    ),
    "aws-load-balancer-controller": (
        ChartPod(
            "aws-load-balancer-controller",
            "replicaCount",
            2,
            "resources",
            Resources(),
            "nodeSelector",
            "aws/eks-charts 1.13.4 values.yaml",
            serves=True,
        ),
    ),
    "eck-operator": (
        ChartPod(
            "elastic-operator",
            None,
            1,
            "resources",
            Resources(100, 150),
            "nodeSelector",
            "elastic/cloud-on-k8s v3.1.0 eck-operator values.yaml",
        ),
    ),
    "mongodb-kubernetes": (
        ChartPod(
            "mongodb-operator",
            None,
            1,
            "operator.resources",
            Resources(500, 200),
            "operator.nodeSelector",
            "mongodb-kubernetes 1.3.0 values.yaml",
        ),
    ),
    "datadog": (
        ChartPod(
            "datadog-cluster-agent", "clusterAgent.replicas", 1, "clusterAgent.resources", Resources(), None, "datadog 3.130.1 values.yaml"
        ),
    ),
    "kube-prometheus-stack": (
        ChartPod(
            "prometheus",
            "prometheus.prometheusSpec.replicas",
            1,
            "prometheus.prometheusSpec.resources",
            Resources(),
            "prometheus.prometheusSpec.nodeSelector",
            "kube-prometheus-stack 77.6.2 values.yaml",
            "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage",
        ),
        ChartPod(
            "alertmanager",
            "alertmanager.alertmanagerSpec.replicas",
            1,
            "alertmanager.alertmanagerSpec.resources",
            Resources(),
            "alertmanager.alertmanagerSpec.nodeSelector",
            "kube-prometheus-stack 77.6.2 values.yaml",
        ),
        ChartPod(
            "prometheus-operator", None, 1, "prometheusOperator.resources", Resources(), None, "kube-prometheus-stack 77.6.2 values.yaml"
        ),
        ChartPod("kube-state-metrics", None, 1, None, Resources(), None, "kube-prometheus-stack 77.6.2 values.yaml (subchart)"),
        ChartPod("grafana", None, 1, None, Resources(), None, "kube-prometheus-stack 77.6.2 values.yaml (subchart)"),
    ),
}
# Manifests applied whole (ConfigFile), keyed by a piece of their URL.
MANIFEST_FACTS: dict[str, ChartPod] = {
    "rabbitmq/cluster-operator": ChartPod(
        "rabbitmq-cluster-operator",
        None,
        1,
        None,
        Resources(200, 500),
        None,
        "rabbitmq/cluster-operator v2.16.0 config/manager/manager.yaml",
    ),
}
# EKS add-ons that run controllers (not DaemonSets) on the nodes.
ADDON_PODS: dict[str, ChartPod] = {
    "coredns": ChartPod(
        "coredns", None, 2, None, Resources(100, 70), None, "EKS coredns add-on Deployment: 2 replicas, requests 100m/70Mi", serves=True
    ),
    "aws-ebs-csi-driver": ChartPod(
        "ebs-csi-controller",
        None,
        2,
        None,
        Resources(10, 40),
        None,
        "aws-ebs-csi-driver chart values.yaml: controller 2 replicas, 10m/40Mi",
    ),
}
# Labels the operators put on the pods they make, so spread constraints and PDB selectors find them.
OPERATOR_LABELS = {
    "Elasticsearch": lambda name: {"elasticsearch.k8s.elastic.co/cluster-name": name},
    "Kibana": lambda name: {"kibana.k8s.elastic.co/name": name},
    "Logstash": lambda name: {"logstash.k8s.elastic.co/name": name},
    "RabbitmqCluster": lambda name: {"app.kubernetes.io/name": name},
    "MongoDBCommunity": lambda name: {"app": f"{name}-svc"},
}
# RabbitmqCluster without spec.resources: the operator's default (rabbitmq/cluster-operator api/v1beta1 defaults).
RABBITMQ_DEFAULT_REQUESTS = Resources(1000, 2048)


def dig(values: Obj, dotted: str | None) -> Any:
    if dotted is None:
        return None
    node: Any = values
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def claim_gib(claims: list[Obj]) -> int:
    return sum(round(mem_mi(c["spec"]["resources"]["requests"]["storage"]) / 1024) for c in claims)


def _from_pod_spec(name: str, kind: str, replicas: int, spec: Obj, labels: dict[str, str], *, pool_label: str, spot_taint: str) -> Workload:
    required, preferred = pool_rules(spec, pool_label)
    return Workload(
        name=name,
        kind=kind,
        replicas=replicas,
        requests=pod_requests(spec),
        labels=labels,
        required_pools=required,
        preferred_pool=preferred,
        tolerates_spot=tolerates(spec, spot_taint),
        spreads=spreads(spec),
        anti_affinity_hosts=host_anti_affinity(spec),
        priority_class=spec.get("priorityClassName"),
        serves=kind not in ("CronJob", "Job"),
    )


def _chart_workload(chart: ChartPod, namespace: str, values: Obj, pool_label: str) -> Workload:
    replicas = dig(values, chart.replicas_key)
    requests = (dig(values, chart.resources_key) or {}).get("requests") if chart.resources_key else None
    selector = (dig(values, chart.node_selector_key) or {}).get(pool_label) if chart.node_selector_key else None
    volume = dig(values, chart.volume_key)
    return Workload(
        name=f"{namespace}/{chart.name}",
        kind="Chart",
        replicas=int(replicas) if replicas is not None else chart.default_replicas,
        requests=container_requests([{"resources": {"requests": requests}}]) + Resources(pods=1)
        if requests
        else chart.default_requests + Resources(pods=1),
        labels={"app.kubernetes.io/name": chart.name},
        required_pools=(selector,) if selector else None,
        preferred_pool=None,
        tolerates_spot=False,
        volume_gib=round(mem_mi(volume) / 1024) if volume else 0,
        serves=chart.serves,
    )


def _meta(inputs: Obj) -> tuple[str, str]:
    meta = inputs.get("metadata", {})
    return meta.get("namespace", "default"), meta.get("name", "?")


def _operator_workloads(kind: str, inputs: Obj, pool_label: str, spot_taint: str) -> list[Workload]:
    namespace, name = _meta(inputs)
    spec = inputs.get("spec", {})
    labels = OPERATOR_LABELS[kind](name)
    if kind == "Elasticsearch":
        result = []
        for node_set in spec.get("nodeSets", []):
            pod = node_set.get("podTemplate", {}).get("spec", {})
            w = _from_pod_spec(
                f"{namespace}/{name}-es-{node_set['name']}",
                kind,
                int(node_set["count"]),
                pod,
                labels,
                pool_label=pool_label,
                spot_taint=spot_taint,
            )
            w.volume_gib = claim_gib(node_set.get("volumeClaimTemplates", []))
            w.quorum = "Elasticsearch"
            result.append(w)
        return result
    if kind in ("Kibana", "Logstash"):
        pod = spec.get("podTemplate", {}).get("spec", {})
        w = _from_pod_spec(
            f"{namespace}/{name}-{kind.lower()}", kind, int(spec.get("count", 1)), pod, labels, pool_label=pool_label, spot_taint=spot_taint
        )
        w.volume_gib = claim_gib(spec.get("volumeClaimTemplates", []))
        return [w]
    if kind == "RabbitmqCluster":
        override = dig(spec, "override.statefulSet.spec.template.spec") or {}
        requests = (spec.get("resources") or {}).get("requests")
        pod = {**override, "affinity": spec.get("affinity"), "tolerations": spec.get("tolerations", [])}
        pod["containers"] = [{"resources": {"requests": requests}}] if requests else []
        w = _from_pod_spec(
            f"{namespace}/{name}", kind, int(spec.get("replicas", 1)), pod, labels, pool_label=pool_label, spot_taint=spot_taint
        )
        if not requests:
            w.requests = RABBITMQ_DEFAULT_REQUESTS + Resources(pods=1)
        storage = (spec.get("persistence") or {}).get("storage", "10Gi")
        w.volume_gib, w.quorum = round(mem_mi(storage) / 1024), "RabbitMQ"
        return [w]
    # MongoDBCommunity
    statefulset = dig(spec, "statefulSet.spec") or {}
    pod = dig(statefulset, "template.spec") or {}
    w = _from_pod_spec(f"{namespace}/{name}", kind, int(spec.get("members", 1)), pod, labels, pool_label=pool_label, spot_taint=spot_taint)
    w.volume_gib, w.quorum = claim_gib(statefulset.get("volumeClaimTemplates", [])), "MongoDB"
    return [w]


def _built_in_workload(kind: str, inputs: Obj, pool_label: str, spot_taint: str) -> Workload:
    namespace, name = _meta(inputs)
    spec = inputs.get("spec", {})
    template = dig(spec, "jobTemplate.spec.template") if kind == "CronJob" else spec.get("template", {})
    pod = (template or {}).get("spec", {})
    labels = dict((template or {}).get("metadata", {}).get("labels", {}))
    w = _from_pod_spec(f"{namespace}/{name}", kind, int(spec.get("replicas", 1)), pod, labels, pool_label=pool_label, spot_taint=spot_taint)
    if kind == "StatefulSet":
        w.volume_gib = claim_gib(spec.get("volumeClaimTemplates", []))
        w.quorum = "Redis Sentinel" if name == SENTINEL_STATEFULSET else None
    if kind == "Deployment":
        rolling = dig(spec, "strategy.rollingUpdate") or {}
        w.max_surge, w.max_unavailable = (
            _count(rolling.get("maxSurge", "25%"), w.replicas, up=True),
            _count(rolling.get("maxUnavailable", "25%"), w.replicas, up=False),
        )
    return w


def _count(value: Any, replicas: int, up: bool) -> int:
    """An int-or-percent of a rollout: surge rounds up, unavailable rounds down (as the Deployment controller does)."""
    if isinstance(value, str) and value.endswith("%"):
        share = int(value[:-1]) * replicas
        return -(-share // 100) if up else share // 100
    return int(value)


def _pdb_budget(spec: Obj, replicas: int) -> int:
    if "maxUnavailable" in spec:
        return _count(spec["maxUnavailable"], replicas, up=True)
    return replicas - _count(spec.get("minAvailable", 0), replicas, up=True)


def extract(records: list[Any], pool_label: str, spot_taint: str) -> Extraction:
    """Records are offline.recorder.Record (type, name, inputs); only their inputs are read."""
    out = Extraction()
    pdbs: list[Obj] = []
    for record in records:
        kind = record.type.rsplit(":", 1)[-1]
        inputs = record.inputs
        if kind == "CronJob" and inputs.get("spec", {}).get("suspend") is True:
            continue  # a suspended CronJob (a restore run by hand) makes no pods
        if kind in ("Deployment", "StatefulSet", "CronJob"):
            out.workloads.append(_built_in_workload(kind, inputs, pool_label, spot_taint))
        elif kind in OPERATOR_LABELS:
            for w in _operator_workloads(kind, inputs, pool_label, spot_taint):
                if kind == "Elasticsearch" and "podDisruptionBudget" in inputs.get("spec", {}):
                    pdbs.append(inputs["spec"]["podDisruptionBudget"]["spec"])
                out.workloads.append(w)
        elif kind == "PodDisruptionBudget":
            pdbs.append(inputs.get("spec", {}))
        elif kind == "PriorityClass":
            out.priority_classes[inputs["metadata"]["name"]] = int(inputs["value"])
        elif kind == "Chart":
            facts = CHART_FACTS.get(inputs.get("chart", ""))
            values = inputs.get("values", {}) or {}
            if facts is None:
                out.unmodelled.append(f"chart {inputs.get('chart')}")
                continue
            out.workloads.extend(_chart_workload(f, inputs.get("namespace", "default"), values, pool_label) for f in facts)
            priorities = values.get("expanderPriorities")
            if priorities:
                for weight, patterns in priorities.items():
                    for pattern in patterns:
                        out.expander_priorities[pattern.strip(".*")] = int(weight)
        elif kind == "ConfigFile":
            url = str(inputs.get("file", ""))
            fact = next((f for key, f in MANIFEST_FACTS.items() if key in url), None)
            if fact is None:
                out.unmodelled.append(f"manifest {url}")
            else:
                out.workloads.append(_chart_workload(fact, "operators", {}, pool_label))
        elif kind == "Addon" and inputs.get("addonName") in ADDON_PODS:
            out.workloads.append(_chart_workload(ADDON_PODS[inputs["addonName"]], "kube-system", {}, pool_label))
    for w in out.workloads:
        w.priority = out.priority_classes.get(w.priority_class or "", 0)
        for pdb in pdbs:
            selector = (pdb.get("selector") or {}).get("matchLabels", {})
            if selector and selector.items() <= w.labels.items():
                w.pdb_max_unavailable = _pdb_budget(pdb, w.replicas)
    return out
