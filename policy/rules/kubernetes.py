"""Kubernetes: HA (replicas, PDBs, zone spread), probes, placement, isolation, and no secrets or moving tags in specs."""

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from .base import Registry, Resource, as_list, covers_everything, dig, of_type
from .data import ELASTICSEARCH, MONGODB, RABBITMQ, STATEFUL_SET
from .program import APPS_NAMESPACE, POOL_LABEL, SPOT_TAINT_KEY

rules = Registry()

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
REPLICATED = (DEPLOYMENT, STATEFUL_SET)
WORKLOADS = (*REPLICATED, DAEMON_SET, JOB, CRON_JOB)
QUORUM_SYSTEMS = (ELASTICSEARCH, RABBITMQ, MONGODB)
DATA_TIER = (STATEFUL_SET, *QUORUM_SYSTEMS)
KIBANA = "kubernetes:kibana.k8s.elastic.co/v1:Kibana"
LOGSTASH = "kubernetes:logstash.k8s.elastic.co/v1alpha1:Logstash"
OPERATOR_POD_LABELS: dict[str, tuple[str, str]] = {
    ELASTICSEARCH: ("elasticsearch.k8s.elastic.co/cluster-name", "{name}"),
    KIBANA: ("kibana.k8s.elastic.co/name", "{name}"),
    LOGSTASH: ("logstash.k8s.elastic.co/name", "{name}"),
    RABBITMQ: ("app.kubernetes.io/name", "{name}"),
    MONGODB: ("app", "{name}-svc"),
}
ZONE_KEY = "topology.kubernetes.io/zone"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
# A liveness probe waiting this long marks a slow starter: it needs a startup probe instead.
SLOW_START_SECONDS = 30
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|DSN|CREDENTIAL)", re.IGNORECASE)
MASKED_SECRET = "[secret]"
TLS_PORT = 443
LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"
AWS_NLB_CLASS = "service.k8s.aws/nlb"  # the annotations above mean something only to the AWS Load Balancer Controller


def namespace_of(r: Resource) -> str:
    return r.get("metadata", "namespace", default="default")


def pod_specs(r: Resource) -> list[tuple[str, dict[str, Any]]]:
    """(where, pod spec) for built-in workloads and the operators' custom resources."""
    if r.type == CRON_JOB:
        return [("spec.jobTemplate.spec.template.spec", r.get("spec", "jobTemplate", "spec", "template", "spec", default={}))]
    if r.type in WORKLOADS:
        return [("spec.template.spec", r.get("spec", "template", "spec", default={}))]
    if r.type == ELASTICSEARCH:
        return [
            (f"spec.nodeSets[{i}].podTemplate.spec", dig(n, "podTemplate", "spec", default={}))
            for i, n in enumerate(as_list(r.get("spec", "nodeSets")))
        ]
    if r.type == RABBITMQ:
        override = r.get("spec", "override", "statefulSet", "spec", "template", "spec", default={})
        return [("spec", {"affinity": r.get("spec", "affinity"), "tolerations": r.get("spec", "tolerations"), **override})]
    if r.type == MONGODB:
        return [("spec.statefulSet.spec.template.spec", r.get("spec", "statefulSet", "spec", "template", "spec", default={}))]
    return []


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in as_list(pod.get("initContainers")) + as_list(pod.get("containers")) if isinstance(c, dict)]


def replicas(r: Resource, resources: Sequence[Resource] = ()) -> int:
    """Declared replicas; an HPA's minimum when the HPA owns the count."""
    if r.type == ELASTICSEARCH:
        return sum(int(dig(n, "count", default=0)) for n in as_list(r.get("spec", "nodeSets")))
    if r.type == MONGODB:
        return int(r.get("spec", "members", default=1))
    declared = r.get("spec", "replicas")
    if declared is not None:
        return int(declared)
    name = r.get("metadata", "name")
    hpas = [h for h in of_type(resources, HPA) if h.get("spec", "scaleTargetRef", "name") == name and namespace_of(h) == namespace_of(r)]
    return min((int(h.get("spec", "minReplicas", default=1)) for h in hpas), default=1)


def pod_labels(r: Resource) -> dict[str, Any]:
    return r.get("spec", "template", "metadata", "labels", default={})


def selects(selector: Any, labels: dict[str, Any]) -> bool:
    match = dig(selector, "matchLabels", default={}) if isinstance(selector, dict) and "matchLabels" in selector else selector or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


@rules.stack("k8s-replicas", "Every Deployment and StatefulSet runs at least 2 replicas in prod, so one pod can go.", severity="production")
def min_replicas(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for r in of_type(resources, *REPLICATED):
        if replicas(r, resources) < 2:
            yield r, f"runs {replicas(r, resources)} replica(s)"


@rules.resource("k8s-quorum", "Quorum systems run an odd 3+ members in prod so they survive a zone.", QUORUM_SYSTEMS, severity="production")
def quorum(r: Resource) -> Iterator[str]:
    count = replicas(r)
    minimum = r.policy.quorum_replicas
    if minimum > 1 and (count < minimum or count % 2 == 0):
        yield f"has {count} member(s); {r.policy.name} needs an odd number >= {minimum}"


def _scaled(value: Any, count: int) -> int | None:
    """An IntOrString as the disruption controller reads it: a percentage of `count`, rounded up."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%") and text[:-1].isdigit():
        return math.ceil(int(text[:-1]) * count / 100)
    return int(text) if text.isdigit() else None


def disruptions_allowed(spec: dict[str, Any], count: int) -> int | None:
    """How many of `count` healthy pods the budget lets go at once (None when unreadable)."""
    if spec.get("maxUnavailable") is not None:
        return _scaled(spec["maxUnavailable"], count)
    if spec.get("minAvailable") is not None:
        required = _scaled(spec["minAvailable"], count)
        return None if required is None else count - required
    return count


@rules.stack("k8s-pdb", "Every multi-replica workload has a PodDisruptionBudget that still lets a node drain.")
def pdb(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    budgets = of_type(resources, PDB)
    for r in of_type(resources, *REPLICATED):
        count = replicas(r, resources)
        if count < 2:
            continue
        mine = [b for b in budgets if namespace_of(b) == namespace_of(r) and selects(b.get("spec", "selector"), pod_labels(r))]
        if not mine:
            yield r, "no PodDisruptionBudget selects its pods"
        for b in mine:
            allowed = disruptions_allowed(b.get("spec", default={}), count)
            if allowed is None:
                yield r, f"PodDisruptionBudget {b.name} has an unreadable minAvailable/maxUnavailable"
            elif allowed < 1:
                yield r, f"PodDisruptionBudget {b.name} allows no disruption of its {count} pods"


@rules.resource(
    "k8s-zone-spread",
    "Replicas spread across zones, so a zone outage takes at most a share.",
    [*REPLICATED, *QUORUM_SYSTEMS],
    severity="production",
)
def zone_spread(r: Resource) -> Iterator[str]:
    if r.type in REPLICATED and int(r.get("spec", "replicas", default=2)) < 2:
        return
    for where, pod in pod_specs(r):
        spread = any(dig(c, "topologyKey") == ZONE_KEY for c in as_list(pod.get("topologySpreadConstraints")))
        anti = any(
            dig(t, "topologyKey") == ZONE_KEY
            for t in as_list(dig(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"))
        )
        if not (spread or anti):
            yield f"{where} has no topologySpreadConstraints or anti-affinity on {ZONE_KEY}"


def _probe_port(probe: dict[str, Any]) -> Any:
    return next((dig(probe, kind, "port") for kind in ("httpGet", "tcpSocket", "grpc") if dig(probe, kind)), None)


@rules.resource(
    "k8s-probes", "Every long-running container has readiness and liveness probes on a port it declares.", [*REPLICATED, DAEMON_SET]
)
def probes(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        for c in as_list(pod.get("containers")):
            declared = {p.get("containerPort") for p in as_list(c.get("ports"))} | {p.get("name") for p in as_list(c.get("ports"))}
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = c.get(kind)
                if probe is None:
                    if kind != "startupProbe":
                        yield f"{where} container {c.get('name')} has no {kind}"
                    continue
                port = _probe_port(probe)
                if port is not None and port not in declared:
                    yield f"{where} container {c.get('name')} {kind} targets undeclared port {port!r}"


@rules.resource("k8s-startup-probe", "Slow starters get a startup probe rather than a long liveness delay.", [*REPLICATED, DAEMON_SET])
def startup_probe(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        for c in as_list(pod.get("containers")):
            delay = dig(c, "livenessProbe", "initialDelaySeconds", default=0)
            if delay > SLOW_START_SECONDS and not c.get("startupProbe"):
                yield f"{where} container {c.get('name')} delays liveness {delay}s without a startupProbe"


@rules.resource("k8s-selector-matches", "A workload's selector matches its own pod template.", REPLICATED + (DAEMON_SET,))
def selector_matches(r: Resource) -> Iterator[str]:
    if not selects(r.get("spec", "selector"), pod_labels(r)):
        yield f"spec.selector {r.get('spec', 'selector')} does not match template labels {pod_labels(r)}"


def operator_pod_labels(r: Resource) -> dict[str, Any]:
    """The labels each operator puts on the pods of its custom resource (from the operators' docs)."""
    name = r.get("metadata", "name")
    label = OPERATOR_POD_LABELS.get(r.type)
    return {label[0]: label[1].format(name=name)} if label else {}


def _pod_label_sets(resources: Sequence[Resource]) -> list[tuple[str, dict[str, Any]]]:
    builtin = [(namespace_of(w), pod_labels(w)) for w in of_type(resources, *REPLICATED, DAEMON_SET)]
    operated = [(namespace_of(r), operator_pod_labels(r)) for r in of_type(resources, *OPERATOR_POD_LABELS)]
    return builtin + operated


@rules.stack("k8s-selectors-resolve", "Services and PodDisruptionBudgets select pods that exist.")
def selectors_resolve(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    label_sets = _pod_label_sets(resources)
    for r in of_type(resources, SERVICE, PDB):
        selector = r.get("spec", "selector")
        if r.type == SERVICE and (selector is None or r.get("spec", "type") == "ExternalName"):
            continue
        if not any(ns == namespace_of(r) and selects(selector, labels) for ns, labels in label_sets):
            yield r, f"selector {selector} matches no workload in namespace {namespace_of(r)}"


@rules.resource("k8s-rolling-update", "Updates roll pod by pod instead of recreating everything at once.", [*REPLICATED, DAEMON_SET])
def rolling_update(r: Resource) -> Iterator[str]:
    strategy = r.get("spec", "strategy", "type") if r.type == DEPLOYMENT else r.get("spec", "updateStrategy", "type")
    if strategy in ("Recreate", "OnDelete"):
        yield f"update strategy {strategy}"


@rules.resource("k8s-priority-class", "The data tier has a PriorityClass, so it is evicted last.", DATA_TIER)
def priority_class(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        if not pod.get("priorityClassName"):
            yield f"{where}.priorityClassName is not set"


def _requires_reserved(pod: dict[str, Any]) -> bool:
    if dig(pod, "nodeSelector", POOL_LABEL) == "reserved":
        return True
    terms = as_list(dig(pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
    return bool(terms) and all(
        any(
            e.get("key") == POOL_LABEL and e.get("operator") == "In" and e.get("values") == ["reserved"]
            for e in as_list(t.get("matchExpressions"))
        )
        for t in terms
    )


@rules.resource("k8s-stateful-reserved", "Stateful pods run only on the reserved pool and never tolerate spot.", DATA_TIER)
def stateful_reserved(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        if not _requires_reserved(pod):
            yield f"{where} does not require {POOL_LABEL}=reserved"
        if any(
            dig(t, "key") == SPOT_TAINT_KEY or (dig(t, "operator") == "Exists" and not dig(t, "key"))
            for t in as_list(pod.get("tolerations"))
        ):
            yield f"{where} tolerates the spot taint"


@rules.resource("k8s-pod-security", "Namespaces enforce a Pod Security level.", [NAMESPACE])
def pod_security(ns: Resource) -> Iterator[str]:
    level = ns.get("metadata", "labels", PSA_ENFORCE)
    if level not in ("restricted", "baseline", "privileged"):
        yield f"label {PSA_ENFORCE} is {level!r}; needs restricted, baseline or privileged"


@rules.resource(
    "k8s-pod-security-privileged",
    "A privileged namespace (host agents) is listed for review in every preview.",
    [NAMESPACE],
    severity="review",
)
def pod_security_privileged(ns: Resource) -> Iterator[str]:
    if ns.get("metadata", "labels", PSA_ENFORCE) == "privileged":
        yield "enforces privileged: pods here may use the host's network, PIDs and paths"


def _is_default_deny(policy: Resource) -> bool:
    spec = policy.get("spec", default={})
    return (
        (spec.get("podSelector") in ({}, None) or spec.get("podSelector") == {"matchLabels": {}})
        and {"Ingress", "Egress"} <= set(as_list(spec.get("policyTypes")))
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def _allows_dns(policy: Resource) -> bool:
    return any(dig(p, "port") == 53 for rule in as_list(policy.get("spec", "egress")) for p in as_list(dig(rule, "ports")))


def _allows_all(rule: Any, peers_key: str) -> bool:
    """A rule admitting every peer on every port: no peers (or the whole internet) and no ports."""
    if not isinstance(rule, dict) or rule.get("ports"):
        return False
    peers = as_list(rule.get(peers_key))
    blocks = [dig(p, "ipBlock", "cidr") for p in peers if not dig(p, "ipBlock", "except")]
    return not peers or covers_everything(b for b in blocks if b)


@rules.stack(
    "k8s-default-deny",
    "Each namespace denies all traffic by default, allows DNS explicitly, and admits no ingress from everywhere on every port.",
)
def default_deny(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for ns in of_type(resources, NAMESPACE):
        name = ns.get("metadata", "name")
        policies = [p for p in of_type(resources, NETWORK_POLICY) if namespace_of(p) == name]
        if not any(_is_default_deny(p) for p in policies):
            yield ns, "no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)"
        for p in policies:
            # Policies add up: one allow-all beside the default-deny undoes it for the pods it selects.
            # (Egress is not judged: the monitoring collectors reach every pod and their vendor by design.)
            if any(_allows_all(rule, "from") for rule in as_list(p.get("spec", "ingress"))):
                yield ns, f"NetworkPolicy {p.get('metadata', 'name')} admits all ingress on all ports"


@rules.stack("k8s-quotas", "Each namespace has a ResourceQuota and a LimitRange, so one team cannot starve the rest.")
def quotas(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for ns in of_type(resources, NAMESPACE):
        name = ns.get("metadata", "name")
        for type_, what in ((RESOURCE_QUOTA, "ResourceQuota"), (LIMIT_RANGE, "LimitRange")):
            if not any(namespace_of(r) == name for r in of_type(resources, type_)):
                yield ns, f"no {what}"


@rules.resource(
    "k8s-no-secret-env", "Secrets reach pods through Secret references, never as literal env values.", [*WORKLOADS, *QUORUM_SYSTEMS]
)
def no_secret_env(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        for c in containers(pod):
            for env in as_list(c.get("env")):
                value = env.get("value")
                if value is None:
                    continue
                if value == MASKED_SECRET or (SECRET_NAME.search(str(env.get("name"))) and value):
                    yield f"{where} container {c.get('name')} sets {env.get('name')} as a literal"


def _pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest"


@rules.resource("k8s-no-latest", "Images are pinned to a version or digest, never latest.", [*WORKLOADS, *QUORUM_SYSTEMS])
def no_latest(r: Resource) -> Iterator[str]:
    images = [(where, c.get("image")) for where, pod in pod_specs(r) for c in containers(pod)]
    if r.type in QUORUM_SYSTEMS and r.get("spec", "image"):
        images.append(("spec", r.get("spec", "image")))
    for where, image in images:
        if image and not _pinned(str(image)):
            yield f"{where} image {image} is not pinned"


@rules.resource(
    "lb-service",
    "Load balancer Services: TLS on 443 only, access logs, cross-zone, deletion protection in prod, public only for edge services.",
    [SERVICE],
)
def lb_service(svc: Resource) -> Iterator[str]:
    if svc.get("spec", "type") != "LoadBalancer":
        return
    annotations = svc.get("metadata", "annotations", default={})
    ports = [p.get("port") for p in as_list(svc.get("spec", "ports"))]
    if ports != [TLS_PORT]:
        yield f"exposes ports {ports}; only {TLS_PORT}"
    if svc.get("spec", "loadBalancerClass") not in (None, AWS_NLB_CLASS):
        return  # another cluster's load balancer (onprem): its TLS and logs are its owner's, not AWS annotations
    if not annotations.get(LB_ANNOTATION + "ssl-cert"):
        yield "no TLS certificate (ssl-cert annotation)"
    attributes = str(annotations.get(LB_ANNOTATION + "attributes", ""))
    wanted = ["load_balancing.cross_zone.enabled=true", "access_logs.s3.enabled=true"]
    if svc.policy.lb_deletion_protection:
        wanted.append("deletion_protection.enabled=true")
    for attribute in wanted:
        if attribute not in attributes:
            yield f"attributes annotation lacks {attribute}"
    if annotations.get(LB_ANNOTATION + "scheme") == "internet-facing" and namespace_of(svc) != APPS_NAMESPACE:
        yield f"internet-facing outside the {APPS_NAMESPACE} namespace: only edge services are exposed"
