"""Intents of the rules in policy/rules/kubernetes.py (see tests/intents/__init__.py).

Each variant below carries its meaning beside it (does this selector select the pods, does this policy isolate
Ingress, is this image pinned), stated from what the apiserver, the controllers and the operators do with it; the
oracles combine those meanings and never call the rules.
"""

import ipaddress
import math
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from ..test_policy_rules import CONTAINER, LB_SERVICE, LIMITS, NAMESPACE, PROBE, QUOTA, k8s, res
from . import Case, Intents

# Every generated pod carries these labels.
POD_LABELS = {"app": "search", "tier": "web"}
ZONE = "topology.kubernetes.io/zone"
POOL = "insight.io/pool"
SPOT = "insight.io/spot"
DIGEST = "sha256:" + "ab" * 32

# -- label selectors: (selector part, does it hold for POD_LABELS). A selector selects when every part holds.
MATCH_LABELS = st.sampled_from(
    [
        ({"app": "search"}, True),
        ({"app": "search", "tier": "web"}, True),
        ({"app": "Search"}, False),  # label values are case-sensitive
        ({"tier": "db"}, False),
        ({}, True),
    ]
)
EXPRESSIONS = st.sampled_from(
    [
        ({"key": "app", "operator": "In", "values": ["search", "x"]}, True),
        ({"key": "app", "operator": "In", "values": ["other"]}, False),
        ({"key": "tier", "operator": "NotIn", "values": ["db"]}, True),
        ({"key": "tier", "operator": "NotIn", "values": ["web"]}, False),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, True),  # NotIn holds where the label is absent
        ({"key": "app", "operator": "Exists"}, True),
        ({"key": "zone", "operator": "Exists"}, False),
        ({"key": "zone", "operator": "DoesNotExist"}, True),
        ({"key": "app", "operator": "DoesNotExist"}, False),
        # The apiserver refuses these selectors, so they select nothing: In without values, a lower-case operator,
        # Exists with values.
        ({"key": "app", "operator": "In", "values": []}, False),
        ({"key": "app", "operator": "in", "values": ["search"]}, False),
        ({"key": "app", "operator": "Exists", "values": ["search"]}, False),
    ]
)


@st.composite
def label_selectors(draw: st.DrawFn) -> tuple[dict[str, Any], bool, bool]:
    """(LabelSelector, selects POD_LABELS, is empty). An empty LabelSelector selects everything."""
    labels, labels_hold = draw(MATCH_LABELS)
    expressions = draw(st.lists(EXPRESSIONS, max_size=2))
    selector: dict[str, Any] = {}
    if labels or draw(st.booleans()):
        selector["matchLabels"] = labels
    if expressions or draw(st.booleans()):
        selector["matchExpressions"] = [e for e, _ in expressions]
    return selector, labels_hold and all(holds for _, holds in expressions), not labels and not expressions


# -- where each kind keeps its pod template (the operators' custom resources included).
BUILTIN = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}
OPERATED = {
    "Elasticsearch": ("elasticsearch.k8s.elastic.co/v1", "logging"),
    "Kibana": ("kibana.k8s.elastic.co/v1", "logging"),
    "Logstash": ("logstash.k8s.elastic.co/v1alpha1", "logging"),
    "RabbitmqCluster": ("rabbitmq.com/v1beta1", "messaging"),
    "MongoDBCommunity": ("mongodbcommunity.mongodb.com/v1", "data"),
}
# The label each operator puts on its pods (ECK: cluster-name / name; RabbitMQ operator: app.kubernetes.io/name;
# MongoDB community operator: app=<name>-svc), for a resource named "db".
OPERATOR_LABELS = {
    "Elasticsearch": {"elasticsearch.k8s.elastic.co/cluster-name": "db"},
    "RabbitmqCluster": {"app.kubernetes.io/name": "db"},
    "MongoDBCommunity": {"app": "db-svc"},
}


def workload(kind: str, pod: dict[str, Any], members: int | None = 3, **spec: Any):
    """A resource of `kind` running `pod`, at the place its controller or operator reads the pod template."""
    if kind in BUILTIN:
        template = {"metadata": {"labels": POD_LABELS}, "spec": pod}
        body: dict[str, Any] = {"selector": {"matchLabels": {"app": "search"}}, "template": template}
        if kind in ("Deployment", "StatefulSet") and members is not None:
            body["replicas"] = members
        if kind == "Job":
            body = {"template": {"spec": pod}}
        if kind == "CronJob":
            body = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}}
        return k8s(kind, BUILTIN[kind], {**body, **spec}, "search")
    api, namespace = OPERATED[kind]
    if kind == "Elasticsearch":
        body = {"version": "9.1.0", "nodeSets": [{"name": "default", "count": members or 0, "podTemplate": {"spec": pod}}]}
    elif kind == "RabbitmqCluster":
        body = {"override": {"statefulSet": {"spec": {"template": {"spec": pod}}}}}
        if members is not None:
            body["replicas"] = members
    elif kind == "MongoDBCommunity":
        body = {"members": members, "statefulSet": {"spec": {"template": {"spec": pod}}}}
    else:
        body = {"version": "9.1.0", "count": 1, "podTemplate": {"spec": pod}}
    return k8s(kind, api, {**body, **spec}, "db", namespace)


def container(**changes: Any) -> dict[str, Any]:
    return {**CONTAINER, **changes}


def mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """One of `good` four times in five, else one of `bad`: cases stay near the intent and break it one way at a time."""
    return st.integers(0, 4).flatmap(lambda i: st.sampled_from(bad if i == 0 else good))


def in_tier(case: Case, tier: str) -> Case:
    """The same resources in a stack of `tier` (the rules read the tier each resource carries)."""
    return Case([replace(r, tier=tier) for r in case.resources], case.violates, tier)


# -- k8s-replicas: the replicas that always run. spec.replicas defaults to 1; an HPA targeting the workload (same kind,
# name and namespace) owns the count and scales it down to its minReplicas (default 1).

DECLARED = st.sampled_from([None, "absent", 0, 1, 2, 3])
HPA_TARGETS = st.sampled_from(["it", "other-kind", "other-name", "other-namespace"])


def replicas_cases() -> st.SearchStrategy[Case]:
    def case(kind: str, declared: Any, hpa: tuple[str, Any] | None) -> Case:
        spec: dict[str, Any] = {"selector": {"matchLabels": POD_LABELS}, "template": {"metadata": {"labels": POD_LABELS}}}
        if declared != "absent":
            spec["replicas"] = declared
        resources = [k8s(kind, "apps/v1", spec, "search")]
        running = 1 if declared in (None, "absent") else declared
        if hpa is not None:
            target, minimum = hpa
            ref = {"apiVersion": "apps/v1", "kind": kind, "name": "search"}
            if target == "other-kind":
                ref["kind"] = "StatefulSet" if kind == "Deployment" else "Deployment"
            if target == "other-name":
                ref["name"] = "web"
            hpa_spec = {"scaleTargetRef": ref, "maxReplicas": 10} | ({} if minimum == "absent" else {"minReplicas": minimum})
            resources.append(
                k8s("HorizontalPodAutoscaler", "autoscaling/v2", hpa_spec, "hpa", "data" if target == "other-namespace" else "apps")
            )
            if target == "it":
                running = 1 if minimum == "absent" else minimum
        return Case(resources, violates=running < 2)

    hpas = st.none() | st.tuples(HPA_TARGETS, st.sampled_from(["absent", 1, 2, 3]))
    return st.builds(case, st.sampled_from(["Deployment", "StatefulSet"]), DECLARED, hpas)


# -- k8s-quorum: an odd number of at least 3 voting members in prod (any count elsewhere). Elasticsearch votes among
# master-eligible nodes: a node set without node.roles has every role; node.roles may be flat or nested YAML.

# (node set config, are its nodes master-eligible)
ROLES = st.sampled_from(
    [
        ({}, True),  # node.roles unset: every role
        ({"node.roles": ["master"]}, True),
        ({"node.roles": ["master", "data"]}, True),
        ({"node": {"roles": ["master"]}}, True),  # the same setting as nested YAML
        ({"node.roles": ["data"]}, False),
        ({"node.roles": ["data", "ingest"]}, False),
        ({"node": {"roles": ["data"]}}, False),
        ({"node.roles": []}, False),  # coordinating only
    ]
)


def quorum_cases() -> st.SearchStrategy[Case]:
    def es(sets: list[tuple[int, tuple[dict[str, Any], bool]]], tier: str) -> Case:
        node_sets = [{"name": f"set{i}", "count": count, "config": config} for i, (count, (config, _)) in enumerate(sets)]
        voters = sum(count for count, (_, eligible) in sets if eligible)
        cluster = k8s("Elasticsearch", OPERATED["Elasticsearch"][0], {"nodeSets": node_sets}, "logs", "logging")
        return in_tier(Case([cluster], violates=tier == "prod" and (voters < 3 or voters % 2 == 0)), tier)

    def counted(kind: str, count: int | None, tier: str) -> Case:
        field = "members" if kind == "MongoDBCommunity" else "replicas"
        spec = {} if count is None else {field: count}
        # Unset: a RabbitmqCluster's CRD defaults replicas to 1; MongoDBCommunity members has no default (an int's 0).
        members = count if count is not None else 1 if kind == "RabbitmqCluster" else 0
        cluster = k8s(kind, OPERATED[kind][0], spec, "db", OPERATED[kind][1])
        return in_tier(Case([cluster], violates=tier == "prod" and (members < 3 or members % 2 == 0)), tier)

    tiers = st.sampled_from(["prod", "prod", "staging"])
    return st.one_of(
        st.builds(es, st.lists(st.tuples(st.integers(0, 4), ROLES), min_size=1, max_size=3), tiers),
        st.builds(counted, st.just("RabbitmqCluster"), st.none() | st.integers(1, 6), tiers),
        st.builds(counted, st.just("MongoDBCommunity"), st.none() | st.integers(1, 6), tiers),
    )


# -- k8s-pdb: each budget is judged by the disruptions the controller allows. The apiserver refuses a budget with both
# fields, a negative int, or a string other than "N%" up to 100% (a refused budget fails the deploy and protects
# nothing). The controller scales percentages of the expected pods rounding UP, for both fields. A pod that two budgets
# select cannot be evicted at all. policy/v1: an empty selector selects every pod of the namespace, a null one none.

BUDGET_VALUES = st.one_of(
    st.integers(0, 40),
    st.integers(0, 100).map(lambda p: f"{p}%"),
    st.sampled_from([-1, "101%", "150%", " 50%", "50.5%", "1", "", "half"]),  # refused
)


def refused(value: Any) -> bool:
    if isinstance(value, int):
        return value < 0
    digits = value[:-1]
    return not (value.endswith("%") and digits.isascii() and digits.isdigit() and int(digits) <= 100)


def disruptions(count: int, field: str, value: Any) -> int:
    """The disruption controller: percentages of the expected pods, rounded up, for both fields."""
    scaled = math.ceil(int(value[:-1]) * count / 100) if isinstance(value, str) else value
    return min(scaled, count) if field == "maxUnavailable" else count - scaled


@st.composite
def budgets(draw: st.DrawFn, index: int) -> tuple[Any, bool, dict[str, Any]]:
    """(budget, does it select the workload's pods, its minAvailable/maxUnavailable)."""
    fields = draw(st.sampled_from([("maxUnavailable",), ("minAvailable",), ("minAvailable", "maxUnavailable"), ()]))
    values = {f: draw(BUDGET_VALUES) for f in fields}
    selector, matches, _ = draw(label_selectors())
    null_selector = draw(mostly([False], [True]))
    namespace = draw(st.sampled_from(["apps", "apps", "data"]))
    spec: dict[str, Any] = {**values, "unhealthyPodEvictionPolicy": draw(st.sampled_from(["AlwaysAllow", "IfHealthyBudget"]))}
    if not null_selector:
        spec["selector"] = selector
    budget = k8s("PodDisruptionBudget", "policy/v1", spec, f"pdb{index}", namespace)
    selects = namespace == "apps" and not null_selector and matches
    return budget, selects, values


def pdb_cases() -> st.SearchStrategy[Case]:
    def case(count: int, drawn: list[tuple[Any, bool, dict[str, Any]]]) -> Case:
        deployment = workload("Deployment", {"containers": [CONTAINER]}, count)
        mine = [values for _, selects, values in drawn if selects]

        def lets_a_node_drain(values: dict[str, Any]) -> bool:
            if len(values) == 2 or any(refused(v) for v in values.values()):
                return False
            return all(disruptions(count, f, v) >= 1 for f, v in values.items())  # neither field set: no limit

        violates = count >= 2 and (len(mine) != 1 or not lets_a_node_drain(mine[0]))
        return Case([deployment, *(b for b, _, _ in drawn)], violates)

    drawn = st.lists(st.integers(0, 9), min_size=0, max_size=2, unique=True).flatmap(lambda ids: st.tuples(*(budgets(i) for i in ids)))
    issue = st.just(
        Case(  # the issue's example: 99% of 3 rounds up to 3, nothing may go
            [
                workload("Deployment", {"containers": [CONTAINER]}, 3),
                k8s("PodDisruptionBudget", "policy/v1", {"minAvailable": "99%", "selector": {"matchLabels": POD_LABELS}}),
            ],
            violates=True,
        )
    )
    return st.builds(case, st.integers(1, 30), drawn.map(list)) | issue


# -- k8s-zone-spread: a workload that may run 2+ pods (replicas default 1; an HPA may scale it to maxReplicas) needs a
# hard spread over zones: a topologySpreadConstraint on the zone key that is DoNotSchedule (the default; ScheduleAnyway
# only scores nodes) or a required anti-affinity on zones, either counting the pods' own labels (a null labelSelector
# counts no pods, so it constrains nothing).

TOPOLOGY_KEYS = st.sampled_from([(ZONE, True), ("kubernetes.io/hostname", False), ("topology.kubernetes.io/Zone", False)])
WHEN = st.sampled_from([(None, True), ("DoNotSchedule", True), ("ScheduleAnyway", False)])


@st.composite
def zone_terms(draw: st.DrawFn, own: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """(a spread constraint's or an anti-affinity term's topology and selector, does it count these pods over zones)."""
    key, zone = draw(TOPOLOGY_KEYS)
    selects = draw(st.sampled_from(["own", "other", "null"]))
    term: dict[str, Any] = {"topologyKey": key}
    if selects != "null":
        term["labelSelector"] = {"matchLabels": own if selects == "own" else {"app": "other"}}
    return term, zone and selects == "own"


def zone_spread_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        kind = draw(st.sampled_from(["Deployment", "StatefulSet", "Elasticsearch", "RabbitmqCluster", "MongoDBCommunity"]))
        own = OPERATOR_LABELS.get(kind, POD_LABELS)
        constraints = draw(st.lists(st.tuples(zone_terms(own), WHEN), max_size=2))
        anti, anti_terms = draw(st.sampled_from(["none", "required", "preferred"])), draw(st.lists(zone_terms(own), min_size=1, max_size=2))
        pod: dict[str, Any] = {"containers": [CONTAINER]}
        if constraints:
            pod["topologySpreadConstraints"] = [
                {**term, "maxSkew": 1} | ({} if when is None else {"whenUnsatisfiable": when}) for (term, _), (when, _) in constraints
            ]
        if anti == "required":
            pod["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [t for t, _ in anti_terms]}}
        if anti == "preferred":  # a preference, not a guarantee
            weighted = [{"weight": 100, "podAffinityTerm": t} for t, _ in anti_terms]
            pod["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": weighted}}
        spread = any(counts and binding for (_, counts), (_, binding) in constraints)
        spread = spread or (anti == "required" and any(counts for _, counts in anti_terms))
        declared = draw(st.sampled_from([None, 1, 2, 3]))
        resources = [workload(kind, pod, declared)]
        pods = declared or 1
        if kind in ("Deployment", "StatefulSet") and draw(st.booleans()):
            most = draw(st.integers(1, 4))
            ref = {"apiVersion": "apps/v1", "kind": kind, "name": "search"}
            resources.append(
                k8s("HorizontalPodAutoscaler", "autoscaling/v2", {"scaleTargetRef": ref, "minReplicas": 1, "maxReplicas": most}, "hpa")
            )
            pods = max(pods, most)
        return Case(resources, violates=pods >= 2 and not spread)

    return case()


# -- k8s-probes: every long-running container (the containers, and sidecars: init containers that restart Always) has
# a readiness and a liveness probe. The apiserver takes a probe with exactly one handler; a named port resolves in the
# probing container's own ports only, and "8080" as a string is a (malformed) name, not a number.

PORTS = [{"name": "http", "containerPort": 8080}]
PROBES = mostly(
    [
        (PROBE, "ok"),  # httpGet on the declared name
        ({"httpGet": {"path": "/", "port": 8080}}, "ok"),
        ({"tcpSocket": {"port": "http"}}, "ok"),
        ({"grpc": {"port": 8080}}, "ok"),
        ({"exec": {"command": ["true"]}}, "ok"),
    ],
    [
        (None, "absent"),
        ({"httpGet": {"path": "/", "port": "metrics"}}, "bad"),  # no such port on this container
        ({"tcpSocket": {"port": 9999}}, "bad"),
        ({"httpGet": {"path": "/", "port": "8080"}}, "bad"),
        ({}, "bad"),  # no handler: refused
        ({"initialDelaySeconds": 5}, "bad"),
        ({"exec": {"command": ["true"]}, "tcpSocket": {"port": 8080}}, "bad"),  # two handlers: refused
    ],
)


@st.composite
def probed_container(draw: st.DrawFn, name: str) -> tuple[dict[str, Any], bool]:
    """(container, are its probes right)."""
    c: dict[str, Any] = {"name": name, "image": "search:1.0", "ports": draw(mostly([PORTS], [[]]))}
    right = True
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe, verdict = draw(PROBES)
        if probe is not None:
            c[kind] = probe
            if any(handler in probe for handler in ("httpGet", "tcpSocket", "grpc")) and not c["ports"]:
                verdict = "bad"  # the container declares no port at all
        right = right and (verdict == "ok" or (kind == "startupProbe" and verdict == "absent"))  # a startup probe is optional
    return c, right


def probes_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        containers = draw(
            st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True).flatmap(
                lambda ids: st.tuples(*(probed_container(f"c{i}") for i in ids))
            )
        )
        pod: dict[str, Any] = {"containers": [c for c, _ in containers]}
        right = all(ok for _, ok in containers)
        init = draw(st.sampled_from(["none", "plain", "sidecar"]))
        if init == "plain":  # runs to completion before the others: no probes
            pod["initContainers"] = [{"name": "migrate", "image": "search:1.0"}]
        if init == "sidecar":
            sidecar, ok = draw(probed_container("proxy"))
            pod["initContainers"] = [{**sidecar, "restartPolicy": "Always"}]
            right = right and ok
        kind = draw(st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"]))
        return Case([workload(kind, pod)], violates=not right)

    return case()


# -- k8s-startup-probe: a long-running container whose liveness waits more than 30s to start has a startup probe.

DELAYS = st.sampled_from([None, 0, 10, 30, 31, 120])


@st.composite
def starting_container(draw: st.DrawFn, name: str) -> tuple[dict[str, Any], bool]:
    """(container, is it a slow starter without a startup probe)."""
    delay = draw(DELAYS)
    liveness = dict(PROBE) | ({} if delay is None else {"initialDelaySeconds": delay})
    startup = draw(st.sampled_from([None, PROBE]))
    c = container(name=name, livenessProbe=liveness) | ({} if startup is None else {"startupProbe": startup})
    return c, delay is not None and delay > 30 and startup is None


def startup_probe_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        main, slow = draw(starting_container("app"))
        pod: dict[str, Any] = {"containers": [main]}
        init = draw(st.sampled_from(["none", "plain", "sidecar", "sidecar"]))
        if init != "none":
            other, other_slow = draw(starting_container("proxy"))
            if init == "sidecar":
                pod["initContainers"], slow = [{**other, "restartPolicy": "Always"}], slow or other_slow
            else:  # runs once before the others: a liveness probe there is not a long-running container's
                pod["initContainers"] = [{k: v for k, v in other.items() if k not in ("livenessProbe", "readinessProbe", "startupProbe")}]
        kind = draw(st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"]))
        return Case([workload(kind, pod)], violates=slow)

    return case()


# -- k8s-selector-matches: apps/v1 refuses a workload whose selector is empty or does not select its template's labels.


def selector_matches_cases() -> st.SearchStrategy[Case]:
    def case(kind: str, drawn: tuple[dict[str, Any], bool, bool], null: bool) -> Case:
        selector, matches, empty = drawn
        r = workload(kind, {"containers": [CONTAINER]}, selector=None if null else selector)
        return Case([r], violates=null or empty or not matches)

    return st.builds(case, st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"]), label_selectors(), st.booleans())


# -- k8s-selectors-resolve: a Service's selector (a map, every pair required) and a budget's LabelSelector select pods
# of a workload or an operator's cluster in their namespace. A Service with no or an empty selector, or of type
# ExternalName, has no endpoints managed from pods: nothing to resolve.

SERVICE_SELECTORS = st.sampled_from(
    [
        ({"app": "search"}, "search"),
        ({"app": "search", "tier": "web"}, "search"),
        ({"app": "search", "tier": "db"}, None),
        ({"app.kubernetes.io/name": "db"}, "rabbit"),
        ({"app": "db-svc"}, "mongo"),
        ({"elasticsearch.k8s.elastic.co/cluster-name": "db"}, "es"),
        ({"app": "Search"}, None),
        ({}, "unmanaged"),
        (None, "unmanaged"),
    ]
)


def selectors_resolve_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        present = draw(st.sets(st.sampled_from(["search", "rabbit", "mongo", "es"])))
        kinds = {"rabbit": "RabbitmqCluster", "mongo": "MongoDBCommunity", "es": "Elasticsearch"}
        resources = [workload("Deployment", {"containers": [CONTAINER]})] if "search" in present else []
        resources += [workload(kinds[p], {"containers": [CONTAINER]}) for p in sorted(present - {"search"})]
        namespace_of = {"search": "apps", "rabbit": "messaging", "mongo": "data", "es": "logging"}
        resolves = True
        if draw(st.booleans()):
            selector, target = draw(SERVICE_SELECTORS)
            namespace = draw(st.sampled_from(["apps", "messaging", "data", "logging"]))
            kind = draw(st.sampled_from(["ClusterIP", "ClusterIP", "ExternalName"]))
            resources.append(
                k8s(
                    "Service",
                    "v1",
                    {"type": kind, "ports": [{"port": 80}]} | ({} if selector is None else {"selector": selector}),
                    "svc",
                    namespace,
                )
            )
            unmanaged = target == "unmanaged" or kind == "ExternalName"
            resolves = unmanaged or (target in present and namespace_of[target] == namespace)
        if draw(st.booleans()):
            selector, matches, _ = draw(label_selectors())
            namespace = draw(st.sampled_from(["apps", "apps", "web"]))  # "web" runs no pods
            resources.append(k8s("PodDisruptionBudget", "policy/v1", {"maxUnavailable": 1, "selector": selector}, "pdb", namespace))
            any_pod = "search" in present and namespace == "apps"
            empty = not selector.get("matchLabels") and not selector.get("matchExpressions")
            resolves = resolves and any_pod and (empty or matches)  # an empty LabelSelector selects every pod
        return Case(resources, violates=not resolves)

    return case()


# -- k8s-rolling-update: updates roll pod by pod. Deployments: RollingUpdate (the default), unless maxUnavailable
# covers every replica (a percentage rounds down) so all go at once; Recreate, or a type the apiserver refuses, is no
# rolling update. StatefulSets and DaemonSets: RollingUpdate (the default), never OnDelete; a DaemonSet with
# maxUnavailable 100% replaces every node's pod at once.

STRATEGY_TYPES = st.sampled_from([None, "RollingUpdate", "Recreate", "OnDelete", "recreate"])
MAX_UNAVAILABLE = st.sampled_from([None, 0, 1, 2, 3, 5, "0%", "25%", "50%", "99%", "100%"])


def rolling_update_cases() -> st.SearchStrategy[Case]:
    def case(kind: str, type_: str | None, max_unavailable: Any, replicas: int | None, partition: int | None) -> Case:
        strategy: dict[str, Any] = {} if type_ is None else {"type": type_}
        if max_unavailable is not None and kind != "StatefulSet":
            strategy["rollingUpdate"] = {"maxUnavailable": max_unavailable, "maxSurge": 1}
        if partition is not None and kind == "StatefulSet":
            strategy["rollingUpdate"] = {"partition": partition}
        field = "strategy" if kind == "Deployment" else "updateStrategy"
        r = workload(kind, {"containers": [CONTAINER]}, replicas, **{field: strategy})
        rolling = type_ in (None, "RollingUpdate")
        if kind == "Deployment" and max_unavailable is not None:
            count = replicas or 1
            at_once = math.floor(int(max_unavailable[:-1]) * count / 100) if isinstance(max_unavailable, str) else max_unavailable
            rolling = rolling and at_once < count
        if kind == "DaemonSet":
            rolling = rolling and max_unavailable != "100%"
        return Case([r], violates=not rolling)

    return st.builds(
        case,
        st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"]),
        STRATEGY_TYPES,
        MAX_UNAVAILABLE,
        st.sampled_from([None, 1, 2, 3, 4]),
        st.none() | st.integers(0, 3),
    )


# -- k8s-priority-class: every pod template of the data tier names a PriorityClass ("" is none) that exists (the
# Priority admission refuses pods naming another; the system-* classes always exist and outrank every other) and that
# ranks highest among the stack's classes, so its pods are evicted last.

STACK_CLASSES = st.lists(st.sampled_from([("data", 1000000), ("data", 1000), ("platform", 100000), ("apps", 0)]), unique_by=lambda c: c[0])
CLASS_NAMES = st.sampled_from(["data", "data", "platform", "system-cluster-critical", "", None, "absent", "Data"])


def priority_class_cases() -> st.SearchStrategy[Case]:
    def case(kind: str, classes: list[tuple[str, int]], names: list[str | None]) -> Case:
        pods = [{"containers": [CONTAINER]} | ({} if name == "absent" else {"priorityClassName": name}) for name in names]
        r = workload(kind, pods[0])
        if kind == "Elasticsearch":  # every node set is a pod template of its own
            node_sets = [{"name": f"s{i}", "count": 1, "podTemplate": {"spec": pod}} for i, pod in enumerate(pods)]
            r = k8s(kind, OPERATED[kind][0], {"nodeSets": node_sets}, "db", "logging")
        else:
            names = names[:1]
        declared = dict(classes)
        highest = max(declared.values(), default=0)

        def ranks_highest(name: str | None) -> bool:
            return name in ("system-cluster-critical", "system-node-critical") or (name in declared and declared[name] >= highest)

        stack = [res("kubernetes:scheduling.k8s.io/v1:PriorityClass", {"metadata": {"name": n}, "value": v}, n) for n, v in classes]
        return Case([*stack, r], violates=not all(ranks_highest(name) for name in names))

    kinds = st.sampled_from(["StatefulSet", "Elasticsearch", "RabbitmqCluster", "MongoDBCommunity"])
    return st.builds(case, kinds, STACK_CLASSES, st.lists(CLASS_NAMES, min_size=1, max_size=3))


# -- k8s-stateful-reserved: data pods can land only on reserved nodes (a nodeSelector, or required node affinity
# whose every term (terms are ORed) requires pool In [reserved] only), and do not tolerate the spot taint (its key with
# NoSchedule or no effect, or an Exists toleration without a key, which tolerates every taint).
# On the onprem tier the nodes are the customer's: no pool label to require, and the interruptible nodes' taint is
# named only in the stack file, so a data pod must tolerate no NoSchedule taint of any key; where it runs is free.

NODE_SELECTORS = st.sampled_from([(None, False), ({POOL: "reserved"}, True), ({POOL: "Reserved"}, False), ({POOL: "spot"}, False)])
REQUIREMENTS_ON_POOL = st.sampled_from(
    [
        ({"key": POOL, "operator": "In", "values": ["reserved"]}, True),
        ({"key": POOL, "operator": "In", "values": ["reserved", "reserved"]}, True),
        ({"key": POOL, "operator": "In", "values": ["reserved", "spot"]}, False),
        ({"key": POOL, "operator": "NotIn", "values": ["spot"]}, False),  # also nodes without the label
        ({"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}, False),
    ]
)
# (toleration, tolerates the spot taint, tolerates some NoSchedule taint)
TOLERATIONS = st.sampled_from(
    [
        ({"key": SPOT, "operator": "Exists"}, True, True),
        ({"key": SPOT, "operator": "Equal", "value": "true", "effect": "NoSchedule"}, True, True),
        ({"key": SPOT, "operator": "Exists", "effect": "NoExecute"}, False, False),  # another effect than the taint's
        ({"operator": "Exists"}, True, True),
        ({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}, False, False),
        ({"key": "example.com/preemptible", "operator": "Exists"}, False, True),  # a customer's interruptible nodes
        ({"key": "example.com/preemptible", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, False, True),
        ({"key": "example.com/preemptible", "operator": "Exists", "effect": "PreferNoSchedule"}, False, False),  # only a preference
    ]
)


def stateful_reserved_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        node_selector, by_selector = draw(NODE_SELECTORS)
        terms = draw(st.lists(st.lists(REQUIREMENTS_ON_POOL, min_size=1, max_size=2), max_size=2))
        tolerations = draw(st.lists(TOLERATIONS, max_size=2))
        pod: dict[str, Any] = {"containers": [CONTAINER], "tolerations": [t for t, _, _ in tolerations]}
        if node_selector is not None:
            pod["nodeSelector"] = node_selector
        if terms:
            node_terms = [{"matchExpressions": [e for e, _ in term]} for term in terms]
            pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": node_terms}}}
        by_affinity = bool(terms) and all(any(reserved for _, reserved in term) for term in terms)
        kind = draw(st.sampled_from(["StatefulSet", "Elasticsearch", "MongoDBCommunity", "RabbitmqCluster"]))
        if kind == "RabbitmqCluster" and draw(st.booleans()):  # the operator also takes affinity and tolerations at the top
            r = k8s(
                kind,
                OPERATED[kind][0],
                {"replicas": 3, **{k: v for k, v in pod.items() if k in ("affinity", "tolerations")}},
                "db",
                "messaging",
            )
            by_selector = False
        else:
            r = workload(kind, pod)
        if draw(st.sampled_from(["prod", "onprem"])) == "onprem":
            return in_tier(Case([r], any(no_schedule for _, _, no_schedule in tolerations)), "onprem")
        violates = not (by_selector or by_affinity) or any(spot for _, spot, _ in tolerations)
        return Case([r], violates)

    return case()


# -- k8s-pod-security and k8s-pod-security-privileged: Pod Security admission enforces the level of the enforce label
# (warn and audit only report). It refuses to create a namespace whose pod-security labels name an unknown level or
# version (levels are lower-case; versions are "latest" or "v1.N"). Without an enforce label the cluster default
# applies, which on EKS is privileged. Label keys are case-sensitive: another spelling is another label.

LEVELS = ("privileged", "baseline", "restricted")
ENFORCED = mostly(["restricted", "baseline", "privileged"], ["absent", "Restricted", "", "strict"])
REPORTED = mostly(["absent", "restricted", "baseline"], ["Restricted", "", "strict"])  # warn and audit
VERSION_VALUES = mostly(["absent", "latest", "v1.33"], ["1.33", "V1.33", "v1.033"])


@st.composite
def psa_namespaces(draw: st.DrawFn) -> tuple[Any, str | None, bool]:
    """(namespace, its enforce label, does admission refuse it)."""
    labels: dict[str, str] = {"team": draw(st.sampled_from(["search", "restricted"]))}
    if draw(st.booleans()):
        labels["Pod-Security.kubernetes.io/enforce"] = "restricted"  # not the admission's key
    refused = False
    for mode in ("enforce", "warn", "audit"):
        level = draw(ENFORCED if mode == "enforce" else REPORTED)
        version = draw(VERSION_VALUES) if mode == "enforce" else "absent"
        if level != "absent":
            labels[f"pod-security.kubernetes.io/{mode}"] = level
            refused = refused or level not in LEVELS
        if version != "absent":
            labels[f"pod-security.kubernetes.io/{mode}-version"] = version
            refused = refused or version not in ("latest", "v1.33")
    ns = res("kubernetes:core/v1:Namespace", {"metadata": {"name": "apps", "labels": labels}}, "apps")
    return ns, labels.get("pod-security.kubernetes.io/enforce"), refused


def pod_security_cases() -> st.SearchStrategy[Case]:
    return psa_namespaces().map(lambda d: Case([d[0]], violates=d[1] not in LEVELS or d[2]))


def pod_security_privileged_cases() -> st.SearchStrategy[Case]:
    return psa_namespaces().map(lambda d: Case([d[0]], violates=d[1] in (None, "privileged") and not d[2]))


# -- k8s-default-deny (port of the former property tests): NetworkPolicies add up. A direction is denied by default
# once a policy selecting every pod (an empty podSelector, however spelled) isolates it: policyTypes lists it, or, when
# policyTypes is unset, Ingress always and Egress if the policy has egress rules. Pods must reach DNS: an egress rule
# with no ports, or a UDP port entry (the protocol defaults to TCP) on 53, a range holding 53, or no port. Ingress
# rules count only in a policy isolating Ingress; one with no ports and no peers, every pod of every namespace, or
# ranges that together are the whole internet, admits everything.


def halves(prefix: int) -> list[str]:
    return [str(n) for n in ipaddress.ip_network("0.0.0.0/0").subnets(new_prefix=prefix)]


EVERY_POD = st.sampled_from(
    [({}, True), ({"matchLabels": {}}, True), ({"matchExpressions": []}, True), ("absent", True), ({"matchLabels": POD_LABELS}, False)]
)
POLICY_TYPES = st.sampled_from([["Ingress", "Egress"], ["Egress", "Ingress"], ["Ingress"], ["Egress"], None])
EGRESS = st.sampled_from(
    [
        ([], False),
        ([{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}], True),
        ([{"ports": [{"port": 53}]}], False),  # TCP only
        ([{"ports": [{"port": 53, "protocol": "TCP"}]}], False),
        ([{"ports": [{"protocol": "UDP"}]}], True),
        ([{"ports": [{"port": 50, "endPort": 60, "protocol": "UDP"}]}], True),
        ([{"ports": [{"port": 54, "endPort": 60, "protocol": "UDP"}]}], False),
        ([{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]}], True),
        ([{"ports": [{"port": 443}]}], False),
    ]
)
INGRESS = st.one_of(
    st.sampled_from(
        [
            ([], False),
            ([{}], True),
            ([{"from": []}], True),
            ([{"from": [{"namespaceSelector": {}}]}], True),  # every pod of the cluster
            ([{"from": [{"namespaceSelector": {}, "podSelector": {}}]}], True),
            ([{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "gateway"}}}]}], False),
            ([{"from": [{"podSelector": {}}]}], False),  # this namespace only
            ([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}], False),
            ([{"ports": [{"port": 443}]}], False),
            ([{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}], False),
        ]
    ),
    st.integers(0, 3).map(lambda p: ([{"from": [{"ipBlock": {"cidr": c}} for c in halves(p)]}], True)),
    st.integers(0, 3).map(lambda missing: ([{"from": [{"ipBlock": {"cidr": c}} for i, c in enumerate(halves(2)) if i != missing]}], False)),
)


@st.composite
def network_policies(draw: st.DrawFn, index: int) -> tuple[Any, dict[str, bool]]:
    """(policy, what it does: isolates each direction for every pod, lets every pod reach DNS, admits all ingress)."""
    selector, every_pod = draw(EVERY_POD)
    types, (egress, dns), (ingress, admits_all) = draw(POLICY_TYPES), draw(EGRESS), draw(INGRESS)
    spec: dict[str, Any] = {} if selector == "absent" else {"podSelector": selector}
    if types is not None:
        spec["policyTypes"] = types
    if egress:
        spec["egress"] = egress
    if ingress:
        spec["ingress"] = ingress
    effective = set(types) if types is not None else {"Ingress"} | ({"Egress"} if egress else set())
    namespace = draw(st.sampled_from(["apps", "apps", "apps", "data"]))
    here = namespace == "apps"
    meaning = {
        "Ingress": here and every_pod and "Ingress" in effective,
        "Egress": here and every_pod and "Egress" in effective,
        "dns": here and every_pod and "Egress" in effective and dns,
        "open": here and "Ingress" in effective and admits_all,
    }
    return k8s("NetworkPolicy", "networking.k8s.io/v1", spec, f"np{index}", namespace), meaning


UDP_DNS = {"ports": [{"port": 53, "protocol": "UDP"}]}
# Sets of policies that together deny by default and let DNS out, however split up (each isolates what its comment says).
DENYING = [
    [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [UDP_DNS]}],
    [{"podSelector": {}, "policyTypes": ["Ingress"]}, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [UDP_DNS]}],
    [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [UDP_DNS]}],
    [{"podSelector": {}, "egress": [UDP_DNS]}],  # unset policyTypes: Ingress, and Egress as it has egress rules
]


def default_deny_cases() -> st.SearchStrategy[Case]:
    def case(denying: list[dict[str, Any]] | None, drawn: tuple[tuple[Any, dict[str, bool]], ...]) -> Case:
        did = [meaning for _, meaning in drawn]
        base = [k8s("NetworkPolicy", "networking.k8s.io/v1", spec, f"base{i}") for i, spec in enumerate(denying or [])]
        denies = denying is not None or all(any(m[k] for m in did) for k in ("Ingress", "Egress", "dns"))
        return Case([NAMESPACE, QUOTA, LIMITS, *base, *(p for p, _ in drawn)], violates=not denies or any(m["open"] for m in did))

    policies = st.lists(st.integers(0, 9), max_size=3, unique=True).flatmap(lambda ids: st.tuples(*(network_policies(i) for i in ids)))
    return st.builds(case, st.none() | st.sampled_from(DENYING), policies)


# -- k8s-quotas: each namespace has a ResourceQuota with `hard` entries and a LimitRange with limits in it (an empty
# one bounds nothing); those of another namespace do not count.


def quotas_cases() -> st.SearchStrategy[Case]:
    def case(quota: tuple[str, str], limits: tuple[str, str]) -> Case:
        resources = [NAMESPACE]
        (quota_ns, quota_kind), (limits_ns, limits_kind) = quota, limits  # (namespace, full | empty | none)
        if quota_kind != "none":
            hard = QUOTA.inputs["spec"] if quota_kind == "full" else {"hard": {}}
            resources.append(k8s("ResourceQuota", "v1", hard, "q", quota_ns))
        if limits_kind != "none":
            spec = LIMITS.inputs["spec"] if limits_kind == "full" else {"limits": []}
            resources.append(k8s("LimitRange", "v1", spec, "l", limits_ns))
        bounded = quota == ("apps", "full") and limits == ("apps", "full")
        return Case(resources, violates=not bounded)

    placed = mostly([("apps", "full")], [("data", "full"), ("apps", "empty"), ("apps", "none")])
    return st.builds(case, placed, placed)


# -- k8s-no-secret-env: a literal env value that is a secret: under a secret-like name (an empty value is none), the
# masked placeholder, or a value shaped like a credential whatever the name. secretKeyRef is the way.

SECRET_NAMES = st.sampled_from(["DB_PASSWORD", "api_key", "ApiKey", "SENTRY_DSN", "AUTH_TOKEN", "CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY"])
PLAIN_NAMES = st.sampled_from(["MODE", "LOG_LEVEL", "UPSTREAM", "CONFIG"])
TOKEN_SHAPED = st.sampled_from(
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2" * 9,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "postgres://app:hunter2@db:5432/app",
        "-----BEGIN RSA PRIVATE KEY-----",
        "[secret]",
    ]
)
PLAIN_VALUES = st.sampled_from(["prod", "info", "https://sentry.io/1", "8080", "redis://redis:6379"])


@st.composite
def env_entries(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """(env entry, is it a secret in plain text)."""
    secret_name = draw(st.booleans())
    name = draw(SECRET_NAMES if secret_name else PLAIN_NAMES)
    value = draw(st.sampled_from(["ref", "empty", "plain", "token"]))
    if value == "ref":
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": "app", "key": name.lower()}}}, False
    if value == "empty":
        return {"name": name, "value": ""}, False
    if value == "plain":
        return {"name": name, "value": draw(PLAIN_VALUES)}, secret_name
    return {"name": name, "value": draw(TOKEN_SHAPED)}, True


def no_secret_env_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        entries = draw(st.lists(env_entries(), max_size=3))
        place = draw(st.sampled_from(["containers", "initContainers"]))
        pod = {"containers": [container(env=[])], place: [container(name="x", env=[e for e, _ in entries])]}
        kind = draw(st.sampled_from([*BUILTIN, *OPERATED]))
        return Case([workload(kind, pod)], violates=any(leaks for _, leaks in entries))

    return case()


# -- k8s-no-latest: an image without a digest runs its tag, and no tag is latest; any spelling of latest moves. A digest
# pins the image even beside a tag. A registry port is not a tag.

IMAGES = st.sampled_from(
    [
        ("1.dkr.ecr/search:1.3.2", True),
        ("search", False),
        ("search:latest", False),
        ("search:LATEST", False),
        ("search:Latest", False),
        (f"search@{DIGEST}", True),
        (f"search:latest@{DIGEST}", True),
        ("registry:5000/search", False),
        ("registry:5000/search:1.2", True),
        ("1.dkr.ecr/search:latest", False),
    ]
)


def no_latest_cases() -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: st.DrawFn) -> Case:
        (main, main_ok), (init, init_ok) = draw(IMAGES), draw(IMAGES)
        pod: dict[str, Any] = {"containers": [container(image=main)]}
        pinned = main_ok
        if draw(st.booleans()):
            pod["initContainers"] = [container(name="init", image=init)]
            pinned = pinned and init_ok
        kind = draw(st.sampled_from([*BUILTIN, *OPERATED]))
        r = workload(kind, pod)
        if kind in OPERATED and draw(st.booleans()):  # the operator runs spec.image in its pods
            image, ok = draw(IMAGES)
            r = k8s(kind, OPERATED[kind][0], {**r.inputs["spec"], "image": image}, "db", OPERATED[kind][1])
            pinned = pinned and ok
        return Case([r], violates=not pinned)

    return case()


# -- lb-service: a LoadBalancer Service of the AWS Load Balancer Controller (no class, or its class) listens on 443
# only, with TLS on it (a certificate; ssl-ports unset means every port, else it lists 443 by number or name: "*" names
# no port, leaving 443 plain TCP), cross-zone and access logs on, deletion protection in prod, and is internet-facing
# only in the apps namespace. The controller reads the attributes annotation as comma-separated key=value pairs, the
# last of a repeated key winning (aws-load-balancer-controller, pkg/annotations/parser.go and
# pkg/service/model_build_listener.go). Another class's load balancer is judged on its ports only.

ATTRIBUTE_KEYS = ["load_balancing.cross_zone.enabled", "access_logs.s3.enabled", "deletion_protection.enabled"]


@st.composite
def lb_services(draw: st.DrawFn) -> Case:
    tier = draw(st.sampled_from(["prod", "prod", "staging"]))
    ports = draw(mostly([[443]], [[443, 80], [80], [8443]]))
    lb_class = draw(mostly([None, "service.k8s.aws/nlb"], ["example.com/metallb"]))
    namespace = draw(st.sampled_from(["apps", "data"]))
    pairs = [(k, "true") for k in ATTRIBUTE_KEYS] if draw(mostly([True], [False])) else []
    pairs = draw(st.permutations(pairs)) + draw(
        mostly(
            [[]],
            [[(k, v)] for k in ATTRIBUTE_KEYS for v in ("false", "true")] + [[(ATTRIBUTE_KEYS[0], "false"), (ATTRIBUTE_KEYS[0], "true")]],
        )
    )
    attributes = dict(pairs)  # the last value of a key wins, as in the controller
    separator = draw(st.sampled_from([",", ", "]))
    annotations = {"service.beta.kubernetes.io/aws-load-balancer-attributes": separator.join(f"{k}={v}" for k, v in pairs)}
    certificate = draw(mostly([True], [False]))
    if certificate:
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = "arn:aws:acm:x"
    ssl_ports = draw(mostly([None, "443", "https", " 443 "], ["8443", "http", "*"]))
    if ssl_ports is not None:
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = ssl_ports
    scheme = draw(st.sampled_from([None, "internal", "internet-facing"]))
    if scheme is not None:
        annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] = scheme
    kind = draw(st.sampled_from(["LoadBalancer", "LoadBalancer", "LoadBalancer", "ClusterIP"]))
    spec: dict[str, Any] = {
        **LB_SERVICE.inputs["spec"],
        "type": kind,
        "ports": [{"name": "https" if p == 443 else f"p{p}", "port": p} for p in ports],
    }
    if lb_class is not None:
        spec["loadBalancerClass"] = lb_class
    svc = k8s("Service", "v1", spec, "search", namespace, annotations=annotations)

    wrong = ports != [443]
    if lb_class != "example.com/metallb":
        tls_on_443 = ssl_ports in (None, "443", "https", " 443 ")
        wanted = ATTRIBUTE_KEYS if tier == "prod" else ATTRIBUTE_KEYS[:2]
        wrong = wrong or not certificate or not tls_on_443 or any(attributes.get(k) != "true" for k in wanted)
        wrong = wrong or (scheme == "internet-facing" and namespace != "apps")
    return in_tier(Case([svc], violates=kind == "LoadBalancer" and wrong), tier)


INTENTS: Intents = {
    "k8s-replicas": replicas_cases(),
    "k8s-quorum": quorum_cases(),
    "k8s-pdb": pdb_cases(),
    "k8s-zone-spread": zone_spread_cases(),
    "k8s-probes": probes_cases(),
    "k8s-startup-probe": startup_probe_cases(),
    "k8s-selector-matches": selector_matches_cases(),
    "k8s-selectors-resolve": selectors_resolve_cases(),
    "k8s-rolling-update": rolling_update_cases(),
    "k8s-priority-class": priority_class_cases(),
    "k8s-stateful-reserved": stateful_reserved_cases(),
    "k8s-pod-security": pod_security_cases(),
    "k8s-pod-security-privileged": pod_security_privileged_cases(),
    "k8s-default-deny": default_deny_cases(),
    "k8s-quotas": quotas_cases(),
    "k8s-no-secret-env": no_secret_env_cases(),
    "k8s-no-latest": no_latest_cases(),
    "lb-service": lb_services(),
}
