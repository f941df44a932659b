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
PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
SYSTEM_PRIORITY_CLASSES = ("system-cluster-critical", "system-node-critical")
REPLICATED = (DEPLOYMENT, STATEFUL_SET)
WORKLOADS = (*REPLICATED, DAEMON_SET, JOB, CRON_JOB)
QUORUM_SYSTEMS = (ELASTICSEARCH, RABBITMQ, MONGODB)
DATA_TIER = (STATEFUL_SET, *QUORUM_SYSTEMS)
KIBANA = "kubernetes:kibana.k8s.elastic.co/v1:Kibana"
LOGSTASH = "kubernetes:logstash.k8s.elastic.co/v1alpha1:Logstash"
OPERATED = (*QUORUM_SYSTEMS, KIBANA, LOGSTASH)
OPERATOR_POD_LABELS: dict[str, tuple[str, str]] = {
    ELASTICSEARCH: ("elasticsearch.k8s.elastic.co/cluster-name", "{name}"),
    KIBANA: ("kibana.k8s.elastic.co/name", "{name}"),
    LOGSTASH: ("logstash.k8s.elastic.co/name", "{name}"),
    RABBITMQ: ("app.kubernetes.io/name", "{name}"),
    MONGODB: ("app", "{name}-svc"),
}
ZONE_KEY = "topology.kubernetes.io/zone"
PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_ENFORCE = PSA_PREFIX + "enforce"
# A liveness probe waiting this long marks a slow starter: it needs a startup probe instead.
SLOW_START_SECONDS = 30
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|DSN|CREDENTIAL)", re.IGNORECASE)
MASKED_SECRET = "[secret]"
# Values shaped like credentials whatever the variable is called: AWS access keys, GitHub and Slack tokens, JWTs,
# PEM private keys, and URLs carrying a user or password.
SECRET_VALUE = re.compile(
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-|eyJ[\w-]+\.eyJ[\w-]+\.|-----BEGIN [A-Z ]*PRIVATE KEY|[a-z][a-z0-9+.-]*://[^/\s@]+@"
)
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
    if r.type in (KIBANA, LOGSTASH):
        return [("spec.podTemplate.spec", r.get("spec", "podTemplate", "spec", default={}))]
    if r.type == RABBITMQ:
        override = r.get("spec", "override", "statefulSet", "spec", "template", "spec", default={})
        return [("spec", {"affinity": r.get("spec", "affinity"), "tolerations": r.get("spec", "tolerations"), **override})]
    if r.type == MONGODB:
        return [("spec.statefulSet.spec.template.spec", r.get("spec", "statefulSet", "spec", "template", "spec", default={}))]
    return []


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Init and regular containers (the apiserver refuses ephemeral containers in a pod template)."""
    return [c for c in as_list(pod.get("initContainers")) + as_list(pod.get("containers")) if isinstance(c, dict)]


def replicas(r: Resource, resources: Sequence[Resource] = ()) -> int:
    """The replicas that always run: an HPA targeting the workload owns the count (it scales down to its
    minReplicas, default 1, whatever spec.replicas says); else spec.replicas, which defaults to 1 (for a
    RabbitmqCluster too: its CRD's default)."""
    if r.type == ELASTICSEARCH:
        return sum(int(dig(n, "count", default=0)) for n in as_list(r.get("spec", "nodeSets")))
    if r.type == MONGODB:  # members has no default: unset is an int's zero
        return int(r.get("spec", "members", default=0))
    hpas = [h for h in of_type(resources, HPA) if _targets(h, r)]
    if hpas:
        return min(int(h.get("spec", "minReplicas", default=1)) for h in hpas)
    return int(r.get("spec", "replicas", default=1))


def _targets(hpa: Resource, r: Resource) -> bool:
    target = (hpa.get("spec", "scaleTargetRef", "kind"), hpa.get("spec", "scaleTargetRef", "name"), namespace_of(hpa))
    return target == (r.type.rsplit(":", 1)[-1], r.get("metadata", "name"), namespace_of(r))


def master_eligible(r: Resource) -> int:
    """Elasticsearch votes among master-eligible nodes only: node.roles absent means every role, master included."""
    total = 0
    for node_set in as_list(r.get("spec", "nodeSets")):
        config = dig(node_set, "config", default={})
        roles = config.get("node.roles", dig(config, "node", "roles")) if isinstance(config, dict) else None
        if roles is None or "master" in as_list(roles):
            total += int(dig(node_set, "count", default=0))
    return total


def pod_labels(r: Resource) -> dict[str, Any]:
    """The labels a workload's pods carry: its template's, and for an operator's resource the label the operator adds."""
    return {**r.get("spec", "template", "metadata", "labels", default={}), **operator_pod_labels(r)}


def _requirement_holds(expression: Any, labels: dict[str, Any]) -> bool:
    key, operator, values = dig(expression, "key"), dig(expression, "operator"), as_list(dig(expression, "values"))
    if operator == "In" and values:
        return key in labels and labels[key] in values
    if operator == "NotIn" and values:
        return labels.get(key) not in values
    if operator == "Exists" and not values:
        return key in labels
    if operator == "DoesNotExist" and not values:
        return key not in labels
    return False  # the apiserver refuses such a selector (unknown operator, values where none or none where some)


def label_selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    """A LabelSelector as the apiserver reads it: every matchLabels pair AND every matchExpression; `{}` selects
    everything, null nothing."""
    if not isinstance(selector, dict):
        return False
    pairs = dig(selector, "matchLabels", default={})
    return all(labels.get(k) == v for k, v in pairs.items()) and all(
        _requirement_holds(e, labels) for e in as_list(selector.get("matchExpressions"))
    )


def _is_empty_selector(selector: Any) -> bool:
    return not dig(selector, "matchLabels") and not dig(selector, "matchExpressions")


@rules.stack("k8s-replicas", "Every Deployment and StatefulSet runs at least 2 replicas in prod, so one pod can go.", severity="production")
def min_replicas(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for r in of_type(resources, *REPLICATED):
        if replicas(r, resources) < 2:
            yield r, f"runs {replicas(r, resources)} replica(s)"


@rules.resource("k8s-quorum", "Quorum systems run an odd 3+ members in prod so they survive a zone.", QUORUM_SYSTEMS, severity="production")
def quorum(r: Resource) -> Iterator[str]:
    count = master_eligible(r) if r.type == ELASTICSEARCH else replicas(r)
    minimum = r.policy.quorum_replicas
    if minimum > 1 and (count < minimum or count % 2 == 0):
        yield f"has {count} voting member(s); {r.policy.name} needs an odd number >= {minimum}"


PERCENT = re.compile(r"[0-9]+%")


def _scaled(value: Any, count: int) -> int | None:
    """An IntOrString as the apiserver admits it for a budget (an int >= 0 or "N%" up to 100%) and as the disruption
    controller reads it: a percentage of `count`, rounded up for both fields. None: the apiserver refuses it.
    (kubernetes pkg/apis/policy/validation ValidatePodDisruptionBudgetSpec; pkg/controller/disruption getExpectedPodCount)"""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and PERCENT.fullmatch(value) and int(value[:-1]) <= 100:
        return math.ceil(int(value[:-1]) * count / 100)
    return None


def disruptions_allowed(spec: dict[str, Any], count: int) -> int | None:
    """How many of `count` healthy pods the budget lets go at once (None: the apiserver refuses the budget)."""
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        return None
    if max_unavailable is not None:
        allowed = _scaled(max_unavailable, count)
        return None if allowed is None else min(allowed, count)
    if min_available is not None:
        required = _scaled(min_available, count)
        return None if required is None else count - required
    return count


def budget_selects(budget: Resource, workload: Resource) -> bool:
    """policy/v1: an empty selector selects every pod of the namespace, a null one none."""
    return namespace_of(budget) == namespace_of(workload) and label_selector_matches(budget.get("spec", "selector"), pod_labels(workload))


@rules.stack("k8s-pdb", "Every multi-replica workload has a PodDisruptionBudget that still lets a node drain.")
def pdb(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    budgets = of_type(resources, PDB)
    for r in of_type(resources, *REPLICATED):
        count = replicas(r, resources)
        if count < 2:
            continue
        mine = [b for b in budgets if budget_selects(b, r)]
        if not mine:
            yield r, "no PodDisruptionBudget selects its pods"
        elif len(mine) > 1:
            # The eviction API refuses (500) a pod that more than one budget selects: no drain gets past it
            # (kubernetes pkg/registry/core/pod/storage/eviction.go).
            yield r, f"{len(mine)} PodDisruptionBudgets select its pods ({', '.join(b.name for b in mine)}); eviction refuses such pods"
        for b in mine:
            allowed = disruptions_allowed(b.get("spec", default={}), count)
            if allowed is None:
                yield r, f"PodDisruptionBudget {b.name} is refused by the apiserver (minAvailable/maxUnavailable)"
            elif allowed < 1:
                yield r, f"PodDisruptionBudget {b.name} allows no disruption of its {count} pods"


def most_replicas(r: Resource, resources: Sequence[Resource]) -> int:
    """The most pods a workload may run: an HPA targeting it may scale it up to its maxReplicas."""
    scaled = [int(h.get("spec", "maxReplicas", default=1)) for h in of_type(resources, HPA) if _targets(h, r)]
    return max([replicas(r), *scaled])


def _spreads_own_pods(term: Any, labels: dict[str, Any]) -> bool:
    """A constraint or anti-affinity term on zones counts only pods its labelSelector selects (null: none)."""
    return dig(term, "topologyKey") == ZONE_KEY and label_selector_matches(dig(term, "labelSelector"), labels)


@rules.stack(
    "k8s-zone-spread",
    "Replicas spread across zones, so a zone outage takes at most a share.",
    severity="production",
)
def zone_spread(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for r in of_type(resources, *REPLICATED, *QUORUM_SYSTEMS):
        if most_replicas(r, resources) < 2:
            continue
        labels = pod_labels(r)
        for where, pod in pod_specs(r):
            # ScheduleAnyway only scores nodes: a full zone still takes every pod. DoNotSchedule (the default) holds.
            spread = any(
                _spreads_own_pods(c, labels) and dig(c, "whenUnsatisfiable", default="DoNotSchedule") == "DoNotSchedule"
                for c in as_list(pod.get("topologySpreadConstraints"))
            )
            anti = any(
                _spreads_own_pods(t, labels)
                for t in as_list(dig(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"))
            )
            if not (spread or anti):
                yield r, f"{where} has no hard topologySpreadConstraint or anti-affinity on {ZONE_KEY} selecting its own pods"


PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _probe_port(probe: dict[str, Any]) -> Any:
    return next((dig(probe, kind, "port") for kind in PROBE_HANDLERS[1:] if dig(probe, kind)), None)


def long_running(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers that run for the pod's life: its containers and its sidecars (init containers that restart Always)."""
    sidecars = [c for c in as_list(pod.get("initContainers")) if isinstance(c, dict) and c.get("restartPolicy") == "Always"]
    return sidecars + [c for c in as_list(pod.get("containers")) if isinstance(c, dict)]


@rules.resource(
    "k8s-probes", "Every long-running container has readiness and liveness probes on a port it declares.", [*REPLICATED, DAEMON_SET]
)
def probes(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        for c in long_running(pod):
            ports = as_list(c.get("ports"))
            declared = {p.get("containerPort") for p in ports} | {p.get("name") for p in ports}
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = c.get(kind)
                if probe is None:
                    if kind != "startupProbe":
                        yield f"{where} container {c.get('name')} has no {kind}"
                    continue
                # The apiserver takes a probe with exactly one handler; a named port resolves in this container only.
                if sum(1 for h in PROBE_HANDLERS if isinstance(probe, dict) and probe.get(h) is not None) != 1:
                    yield f"{where} container {c.get('name')} {kind} needs exactly one of {', '.join(PROBE_HANDLERS)}"
                    continue
                port = _probe_port(probe)
                if port is not None and port not in declared:
                    yield f"{where} container {c.get('name')} {kind} targets undeclared port {port!r}"


@rules.resource("k8s-startup-probe", "Slow starters get a startup probe rather than a long liveness delay.", [*REPLICATED, DAEMON_SET])
def startup_probe(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        for c in long_running(pod):
            delay = dig(c, "livenessProbe", "initialDelaySeconds", default=0)
            if delay > SLOW_START_SECONDS and not c.get("startupProbe"):
                yield f"{where} container {c.get('name')} delays liveness {delay}s without a startupProbe"


@rules.resource("k8s-selector-matches", "A workload's selector matches its own pod template.", REPLICATED + (DAEMON_SET,))
def selector_matches(r: Resource) -> Iterator[str]:
    selector = r.get("spec", "selector")
    # apps/v1 refuses an empty selector, and one that does not select the template's labels.
    if _is_empty_selector(selector) or not label_selector_matches(selector, pod_labels(r)):
        yield f"spec.selector {selector} does not match template labels {pod_labels(r)}"


def operator_pod_labels(r: Resource) -> dict[str, Any]:
    """The labels each operator puts on the pods of its custom resource (from the operators' docs)."""
    name = r.get("metadata", "name")
    label = OPERATOR_POD_LABELS.get(r.type)
    return {label[0]: label[1].format(name=name)} if label else {}


def _selects_pods(selector_owner: Resource, labels: dict[str, Any]) -> bool:
    selector = selector_owner.get("spec", "selector")
    if selector_owner.type == SERVICE:  # a plain map of labels, every one required
        return all(labels.get(k) == v for k, v in selector.items())
    return label_selector_matches(selector, labels)


@rules.stack("k8s-selectors-resolve", "Services and PodDisruptionBudgets select pods that exist.")
def selectors_resolve(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    pods = [(namespace_of(w), pod_labels(w)) for w in of_type(resources, *REPLICATED, DAEMON_SET, *OPERATOR_POD_LABELS)]
    for r in of_type(resources, SERVICE, PDB):
        selector = r.get("spec", "selector")
        # A Service with no (or an empty) selector has its endpoints managed by someone else.
        if r.type == SERVICE and (not selector or r.get("spec", "type") == "ExternalName"):
            continue
        if not any(ns == namespace_of(r) and _selects_pods(r, labels) for ns, labels in pods):
            yield r, f"selector {selector} matches no workload in namespace {namespace_of(r)}"


def _all_at_once(max_unavailable: Any, count: int | None) -> bool:
    """A rolling update whose maxUnavailable (a percentage rounds down) covers every pod replaces them all at once."""
    if isinstance(max_unavailable, str) and PERCENT.fullmatch(max_unavailable):
        percent = int(max_unavailable[:-1])
        return percent >= 100 if count is None else percent * count // 100 >= count
    return isinstance(max_unavailable, int) and count is not None and max_unavailable >= count


@rules.resource("k8s-rolling-update", "Updates roll pod by pod instead of recreating everything at once.", [*REPLICATED, DAEMON_SET])
def rolling_update(r: Resource) -> Iterator[str]:
    strategy = r.get("spec", "strategy") if r.type == DEPLOYMENT else r.get("spec", "updateStrategy")
    kind = dig(strategy, "type", default="RollingUpdate")
    if kind != "RollingUpdate":
        yield f"update strategy {kind}"
    # A DaemonSet's pods are one per node: how many nodes there are is not known here, only "100%" is all of them.
    count = None if r.type == DAEMON_SET else int(r.get("spec", "replicas", default=1))
    if r.type != STATEFUL_SET and _all_at_once(dig(strategy, "rollingUpdate", "maxUnavailable"), count):
        yield f"rollingUpdate.maxUnavailable {dig(strategy, 'rollingUpdate', 'maxUnavailable')!r} replaces every pod at once"


@rules.stack("k8s-priority-class", "The data tier has a PriorityClass, so it is evicted last.")
def priority_class(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    # The Priority admission refuses a pod naming a class that does not exist (the system-* classes always do).
    values = {c.get("metadata", "name"): c.get("value", default=0) for c in of_type(resources, PRIORITY_CLASS)}
    highest = max(values.values(), default=0)
    for r in of_type(resources, *DATA_TIER):
        for where, pod in pod_specs(r):
            name = pod.get("priorityClassName")
            if not name:
                yield r, f"{where}.priorityClassName is not set"
            elif name not in values and name not in SYSTEM_PRIORITY_CLASSES:
                yield r, f"{where}.priorityClassName {name!r} is no PriorityClass of the stack: its pods are refused"
            elif values.get(name, highest) < highest:
                yield r, f"PriorityClass {name!r} ranks below another class of the stack: its pods are not evicted last"


def _requires_reserved(pod: dict[str, Any]) -> bool:
    if dig(pod, "nodeSelector", POOL_LABEL) == "reserved":
        return True
    terms = as_list(dig(pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
    return bool(terms) and all(
        any(
            e.get("key") == POOL_LABEL and e.get("operator") == "In" and set(as_list(e.get("values"))) == {"reserved"}
            for e in as_list(t.get("matchExpressions"))
        )
        for t in terms
    )


def _tolerates_no_schedule(toleration: Any, key: str | None) -> bool:
    """A NoSchedule taint of `key` (None: of any key) is tolerated by a toleration of its key (or of every key:
    Exists without a key) with that effect or none."""
    tolerated_key = dig(toleration, "key")
    key_matches = (dig(toleration, "operator") == "Exists" and not tolerated_key) or key is None or tolerated_key == key
    return key_matches and dig(toleration, "effect") in (None, "", "NoSchedule")


@rules.resource(
    "k8s-stateful-reserved",
    "Stateful pods run only on stable capacity (the reserved pool on AWS) and never tolerate interruptible nodes.",
    DATA_TIER,
)
def stateful_reserved(r: Resource) -> Iterator[str]:
    # On a customer's cluster (a tier without the AWS layer) the pools are the customer's: the stack file names the
    # stable nodes, if any (the rendered stack is tested for them), and the interruptible nodes' taint, which the
    # pack cannot read; so there a data pod tolerates no NoSchedule taint at all.
    aws = r.policy.aws
    for where, pod in pod_specs(r):
        if aws and not _requires_reserved(pod):
            yield f"{where} does not require {POOL_LABEL}=reserved"
        if any(_tolerates_no_schedule(t, SPOT_TAINT_KEY if aws else None) for t in as_list(pod.get("tolerations"))):
            yield (
                f"{where} tolerates the spot taint" if aws else f"{where} tolerates a NoSchedule taint: it may be the interruptible nodes'"
            )


PSA_LEVELS = ("privileged", "baseline", "restricted")
PSA_VERSION = re.compile(r"latest|v1\.(0|[1-9][0-9]*)")


def _invalid_psa_labels(ns: Resource) -> list[str]:
    """Pod Security admission refuses a namespace whose pod-security labels name an unknown level or version
    (kubernetes staging/src/k8s.io/pod-security-admission: api/helpers.go PolicyToEvaluate, admission ValidateNamespace)."""
    labels = ns.get("metadata", "labels", default={})
    bad = []
    for mode in ("enforce", "audit", "warn"):
        level, version = labels.get(f"{PSA_PREFIX}{mode}"), labels.get(f"{PSA_PREFIX}{mode}-version")
        if level is not None and level not in PSA_LEVELS:
            bad.append(f"{PSA_PREFIX}{mode}={level!r}")
        if version is not None and not PSA_VERSION.fullmatch(str(version)):
            bad.append(f"{PSA_PREFIX}{mode}-version={version!r}")
    return bad


@rules.resource("k8s-pod-security", "Namespaces enforce a Pod Security level.", [NAMESPACE])
def pod_security(ns: Resource) -> Iterator[str]:
    level = ns.get("metadata", "labels", PSA_ENFORCE)
    if level not in PSA_LEVELS:
        yield f"label {PSA_ENFORCE} is {level!r}; needs restricted, baseline or privileged"
    for label in _invalid_psa_labels(ns):
        yield f"{label} is invalid: Pod Security admission refuses the namespace (levels {', '.join(PSA_LEVELS)}; versions latest or v1.N)"


@rules.resource(
    "k8s-pod-security-privileged",
    "A privileged namespace (host agents) is listed for review in every preview.",
    [NAMESPACE],
    severity="review",
)
def pod_security_privileged(ns: Resource) -> Iterator[str]:
    # Without an enforce label the cluster's default applies, and EKS's default is privileged.
    if ns.get("metadata", "labels", PSA_ENFORCE, default="privileged") == "privileged" and not _invalid_psa_labels(ns):
        yield "enforces privileged: pods here may use the host's network, PIDs and paths"


def _policy_types(policy: Resource) -> set[str]:
    """The directions a NetworkPolicy isolates; unset: Ingress, plus Egress when it has egress rules."""
    spec = policy.get("spec", default={})
    declared = as_list(spec.get("policyTypes"))
    return set(declared) if declared else {"Ingress"} | ({"Egress"} if spec.get("egress") else set())


def _for_every_pod(policy: Resource, direction: str) -> bool:
    return _is_empty_selector(policy.get("spec", "podSelector")) and direction in _policy_types(policy)


def _lets_dns_out(port: Any) -> bool:
    """A port entry admitting DNS over UDP (the protocol defaults to TCP; no port is every port)."""
    number, end = dig(port, "port"), dig(port, "endPort")
    on_53 = number is None or number == 53 or (isinstance(number, int) and isinstance(end, int) and number <= 53 <= end)
    return dig(port, "protocol", default="TCP") == "UDP" and on_53


def _allows_dns(policy: Resource) -> bool:
    return _for_every_pod(policy, "Egress") and any(
        not dig(rule, "ports") or any(_lets_dns_out(p) for p in as_list(dig(rule, "ports")))
        for rule in as_list(policy.get("spec", "egress"))
    )


def _every_peer(peer: Any) -> bool:
    """Every pod of every namespace: an empty namespaceSelector with no (or an empty) podSelector."""
    return (
        isinstance(peer, dict)
        and "namespaceSelector" in peer
        and _is_empty_selector(peer["namespaceSelector"])
        and _is_empty_selector(peer.get("podSelector"))
    )


def _allows_all(rule: Any, peers_key: str) -> bool:
    """A rule admitting every peer on every port: no peers, every pod of the cluster, or the whole internet; no ports."""
    if not isinstance(rule, dict) or rule.get("ports"):
        return False
    peers = as_list(rule.get(peers_key))
    blocks = [dig(p, "ipBlock", "cidr") for p in peers if not dig(p, "ipBlock", "except")]
    return not peers or any(_every_peer(p) for p in peers) or covers_everything(b for b in blocks if b)


@rules.stack(
    "k8s-default-deny",
    "Each namespace denies all traffic by default, allows DNS explicitly, and admits no ingress from everywhere on every port.",
)
def default_deny(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for ns in of_type(resources, NAMESPACE):
        name = ns.get("metadata", "name")
        policies = [p for p in of_type(resources, NETWORK_POLICY) if namespace_of(p) == name]
        # Policies add up: a direction is denied by default once any policy selecting every pod isolates it.
        for direction in ("Ingress", "Egress"):
            if not any(_for_every_pod(p, direction) for p in policies):
                yield ns, f"no default-deny NetworkPolicy for {direction} (an empty podSelector with {direction} in policyTypes)"
        if not any(_allows_dns(p) for p in policies):
            yield ns, "no NetworkPolicy lets every pod reach DNS (egress to port 53 over UDP)"
        for p in policies:
            # One allow-all beside the default-deny undoes it for the pods it selects; ingress rules count only where
            # the policy isolates Ingress. (Egress is not judged: the monitoring collectors reach every pod and their
            # vendor by design.)
            if "Ingress" in _policy_types(p) and any(_allows_all(rule, "from") for rule in as_list(p.get("spec", "ingress"))):
                yield ns, f"NetworkPolicy {p.get('metadata', 'name')} admits all ingress on all ports"


@rules.stack("k8s-quotas", "Each namespace has a ResourceQuota and a LimitRange, so one team cannot starve the rest.")
def quotas(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for ns in of_type(resources, NAMESPACE):
        name = ns.get("metadata", "name")
        # A quota with no `hard` entries, or a LimitRange with no limits, bounds nothing.
        for type_, what, bounds in ((RESOURCE_QUOTA, "ResourceQuota", "hard"), (LIMIT_RANGE, "LimitRange", "limits")):
            if not any(namespace_of(r) == name and r.get("spec", bounds) for r in of_type(resources, type_)):
                yield ns, f"no {what} with {bounds}"


@rules.resource("k8s-no-secret-env", "Secrets reach pods through Secret references, never as literal env values.", [*WORKLOADS, *OPERATED])
def no_secret_env(r: Resource) -> Iterator[str]:
    for where, pod in pod_specs(r):
        for c in containers(pod):
            for env in as_list(c.get("env")):
                value = env.get("value")
                if value is None:
                    continue
                if value == MASKED_SECRET or SECRET_VALUE.search(str(value)) or (SECRET_NAME.search(str(env.get("name"))) and value):
                    yield f"{where} container {c.get('name')} sets {env.get('name')} as a literal"


def _pinned(image: str) -> bool:
    """A digest pins the image (a tag beside it is ignored); else the tag, which defaults to latest, must not be latest."""
    if "@" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag.lower() != "latest"


@rules.resource("k8s-no-latest", "Images are pinned to a version or digest, never latest.", [*WORKLOADS, *OPERATED])
def no_latest(r: Resource) -> Iterator[str]:
    images = [(where, c.get("image")) for where, pod in pod_specs(r) for c in containers(pod)]
    if r.type in OPERATED and r.get("spec", "image"):
        images.append(("spec", r.get("spec", "image")))
    for where, image in images:
        if image and not _pinned(str(image)):
            yield f"{where} image {image} is not pinned"


def lb_attributes(text: Any) -> dict[str, str]:
    """The attributes annotation as the AWS Load Balancer Controller reads it: comma-separated key=value pairs, the
    last of a repeated key winning (aws-load-balancer-controller pkg/annotations/parser.go ParseStringMapAnnotation)."""
    pairs = (part.strip().split("=", 1) for part in str(text or "").split(","))
    return {kv[0].strip(): kv[1].strip() for kv in pairs if len(kv) == 2}


def _tls_on(annotations: dict[str, Any], ports: list[dict[str, Any]]) -> bool:
    """The controller terminates TLS on every port when ssl-ports is unset, else on the ports it lists by number or
    name ("*" is no port; aws-load-balancer-controller pkg/service/model_build_listener.go)."""
    listed = {p.strip() for p in str(annotations.get(LB_ANNOTATION + "ssl-ports", "")).split(",")} - {""}
    return not listed or all(str(p.get("port")) in listed or p.get("name") in listed for p in ports)


@rules.resource(
    "lb-service",
    "Load balancer Services: TLS on 443 only, access logs, cross-zone, deletion protection in prod, public only for edge services.",
    [SERVICE],
)
def lb_service(svc: Resource) -> Iterator[str]:
    if svc.get("spec", "type") != "LoadBalancer":
        return
    annotations = svc.get("metadata", "annotations", default={})
    ports = [p for p in as_list(svc.get("spec", "ports")) if isinstance(p, dict)]
    if [p.get("port") for p in ports] != [TLS_PORT]:
        yield f"exposes ports {[p.get('port') for p in ports]}; only {TLS_PORT}"
    if svc.get("spec", "loadBalancerClass") not in (None, AWS_NLB_CLASS):
        return  # another cluster's load balancer (onprem): its TLS and logs are its owner's, not AWS annotations
    if not annotations.get(LB_ANNOTATION + "ssl-cert"):
        yield "no TLS certificate (ssl-cert annotation)"
    elif not _tls_on(annotations, ports):
        yield f"ssl-ports {annotations.get(LB_ANNOTATION + 'ssl-ports')!r} leaves port {TLS_PORT} without TLS"
    attributes = lb_attributes(annotations.get(LB_ANNOTATION + "attributes"))
    wanted = ["load_balancing.cross_zone.enabled", "access_logs.s3.enabled"]
    if svc.policy.lb_deletion_protection:
        wanted.append("deletion_protection.enabled")
    for attribute in wanted:
        if attributes.get(attribute) != "true":
            yield f"attributes annotation lacks {attribute}=true"
    if annotations.get(LB_ANNOTATION + "scheme") == "internet-facing" and namespace_of(svc) != APPS_NAMESPACE:
        yield f"internet-facing outside the {APPS_NAMESPACE} namespace: only edge services are exposed"
