"""Where the scheduler can put each pod of the onprem stack, on a customer's cluster whose nodes the stack file
names (or not): a tiny scheduler's node filter (nodeSelector, required node affinity, NoSchedule taints), judged
per object over every place its pods' constraints are written (pod templates, operators' specs, chart values)."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.aws.handle import EKS_POOLS
from components.existing import node_placement
from components.handle import NodePlacement
from offline.runner import Run, run_stack
from settings import PROJECT, ConfigError
from tests.conftest import declared, raw_sections

# A plain cluster's node: only the labels the kubelet always sets, and no taints. No zone: on bare metal nothing sets
# topology.kubernetes.io/zone (a cloud's node controller does).
STANDARD_LABELS = {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux"}
ZONED_LABELS = {**STANDARD_LABELS, "topology.kubernetes.io/zone": "zone-a"}
STABLE = {"example.com/pool": "stable"}
PREEMPTIBLE_TAINT = {"key": "example.com/preemptible", "value": "true"}
# Objects whose pods hold data or do not tolerate interruption, whatever the cluster.
DATA_KINDS = {"StatefulSet", "Elasticsearch", "MongoDBCommunity", "RabbitmqCluster", "Logstash"}


@dataclass(frozen=True)
class Node:
    labels: Mapping[str, str]
    taints: tuple[tuple[str, str], ...] = ()  # (key, value), effect NoSchedule


PLAIN = Node(STANDARD_LABELS)


@dataclass
class Constraints:
    """Everything an object says about its pods' nodes; an operator merges its spec's and its template's."""

    selectors: list[Mapping[str, str]] = field(default_factory=list)
    required_terms: list[list[Mapping[str, Any]]] = field(default_factory=list)  # each: terms ORed
    tolerations: list[Mapping[str, Any]] = field(default_factory=list)
    hard_spread_keys: set[str] = field(default_factory=set)  # topology keys of DoNotSchedule spread constraints
    pods: bool = False  # a pod's containers are written here


def constraints(value: Any, found: Constraints | None = None) -> Constraints:
    found = found if found is not None else Constraints()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "nodeSelector" and isinstance(item, Mapping):
                found.selectors.append(item)
            elif key == "nodeAffinity" and isinstance(item, Mapping):
                terms = (item.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
                if terms is not None:
                    found.required_terms.append(terms)
            elif key == "tolerations" and isinstance(item, list):
                found.tolerations.extend(item)
            elif key == "topologySpreadConstraints" and isinstance(item, list):
                found.hard_spread_keys |= {c["topologyKey"] for c in item if c.get("whenUnsatisfiable") == "DoNotSchedule"}
            elif key == "containers":
                found.pods = True
            constraints(item, found)
    elif isinstance(value, list):
        for item in value:
            constraints(item, found)
    return found


def _requirement_holds(req: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = req["key"], req["operator"], req.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"operator {op} not modelled")


def _tolerated(taint: tuple[str, str], tolerations: list[Mapping[str, Any]]) -> bool:
    key, value = taint
    for t in tolerations:
        if t.get("effect") not in (None, "", "NoSchedule"):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, "", key):
            return True
        if t.get("key") == key and t.get("operator", "Equal") == "Equal" and t.get("value", "") == value:
            return True
    return False


def fits(c: Constraints, node: Node) -> bool:
    """The scheduler's NodeAffinity, TaintToleration and PodTopologySpread filters for a pod with these constraints
    (a node without the topology key of a DoNotSchedule constraint is refused: kube-scheduler podtopologyspread,
    ErrReasonNodeLabelNotMatch)."""
    selected = all(node.labels.get(k) == v for selector in c.selectors for k, v in selector.items())
    affine = all(
        any(all(_requirement_holds(r, node.labels) for r in term.get("matchExpressions", [])) for term in terms)
        for terms in c.required_terms
    )
    labelled = all(key in node.labels for key in c.hard_spread_keys)
    return selected and affine and labelled and all(_tolerated(t, c.tolerations) for t in node.taints)


def pod_objects(run: Run) -> Iterator[tuple[str, str, Constraints]]:
    """(kind, name, constraints) of every Kubernetes object that runs pods, and of every chart."""
    for r in run.records:
        if r.type.startswith("kubernetes:") and r.custom:
            kind, found = r.type.rsplit(":", 1)[-1], constraints(r.inputs)
            if found.pods or kind in DATA_KINDS or r.type.startswith("kubernetes:helm.sh/"):
                yield kind, r.name, found


def stranded(run: Run, node: Node = PLAIN) -> list[str]:
    return [f"{kind} {name}" for kind, name, c in pod_objects(run) if not fits(c, node)]


def test_without_stable_nodes_every_pod_fits_a_plain_node() -> None:
    run = declared("onprem")
    assert "stableNodes" not in raw_sections("onprem")["onprem"]
    assert len(list(pod_objects(run))) > 20
    assert stranded(run) == []


def test_the_pool_placement_strands_the_onprem_data_tier_on_a_plain_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted fault: the onprem producer handing out the EKS pools (main's behaviour before the seam had
    placement) leaves the data tier Pending forever on a customer's cluster."""
    monkeypatch.setattr("components.existing.node_placement", lambda onprem: EKS_POOLS)
    lost = stranded(run_stack("onprem"))
    assert any(k.startswith("Elasticsearch") for k in lost) and any(k.startswith("StatefulSet") for k in lost)


def test_hard_zone_spread_strands_the_spread_pods_on_nodes_without_zones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted fault: the onprem stack spreading by zone (as on EKS) on nodes without zone labels leaves every pod
    that may run more than once (the apps: their autoscalers go to 3 and more) Pending forever; with the nodes'
    zones declared, each spread pod requires them."""
    monkeypatch.setattr("components.existing.node_placement", lambda onprem: NodePlacement(zones=True))
    lost = stranded(run_stack("onprem"))
    assert any(k.startswith("Deployment") for k in lost), lost
    assert stranded(with_nodes(zoneLabels=True), Node(ZONED_LABELS)) == []


def with_nodes(**onprem: Any) -> Run:
    sections = raw_sections("onprem")
    return run_stack("onprem", overrides={f"{PROJECT}:onprem": {**sections["onprem"], **onprem}})


def test_named_nodes_take_the_pods_the_eks_pools_take() -> None:
    """Named stable and interruptible nodes play the reserved and spot pools' parts: an object whose pods require the
    reserved pool on EKS (the test stack) requires the stable nodes on-prem, one tolerating spot tolerates the
    customer's interruptible nodes, and no data pod goes there."""
    onprem = with_nodes(
        stableNodes={"matchLabels": STABLE},
        interruptibleNodes={"matchLabels": {"example.com/pool": "preemptible"}, "taint": PREEMPTIBLE_TAINT},
    )
    stable_node = Node({**STANDARD_LABELS, **STABLE})
    preemptible = Node({**STANDARD_LABELS, "example.com/pool": "preemptible"}, (("example.com/preemptible", "true"),))
    spot = Node({**ZONED_LABELS, "insight.io/pool": "spot"}, (("insight.io/spot", "true"),))
    zoned = Node(ZONED_LABELS)  # EKS nodes carry their zone
    aws = {(k, n): c for k, n, c in pod_objects(declared("test"))}
    here = {(k, n): c for k, n, c in pod_objects(onprem)}
    both = aws.keys() & here.keys()
    reserved_on_aws = {o for o in both if not fits(aws[o], zoned)}
    assert ("Elasticsearch", "platform-logging-elasticsearch") in reserved_on_aws and len(both) > 20

    assert [o for o, c in here.items() if not fits(c, stable_node)] == []  # every pod fits the stable nodes
    assert {o for o in both if not fits(here[o], PLAIN)} == reserved_on_aws  # exactly those pods require them
    assert {o for o in both if fits(here[o], preemptible)} == {o for o in both if fits(aws[o], spot)}
    assert not any(fits(c, preemptible) for (kind, _), c in here.items() if kind in DATA_KINDS)


def test_interruptible_nodes_without_a_taint_or_stable_nodes_are_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        with_nodes(interruptibleNodes={"matchLabels": {"example.com/pool": "preemptible"}})
    [problem] = err.value.problems
    assert "interruptibleNodes without a taint needs stableNodes" in err.value.render()
    assert problem.line(err.value.source, PROJECT).startswith("Pulumi.onprem.yaml: insight:onprem.interruptibleNodes = ")


@pytest.mark.parametrize(
    ("nodes", "wanted"),
    [
        ({"matchLabels": {"bad key!": "x"}}, "'bad key!' is not a node label key"),
        ({"matchLabels": {"example.com/pool": "has space"}}, "is not a label value"),
        ({"matchLabels": {}}, "matchLabels"),
    ],
)
def test_bad_stable_nodes_are_refused_by_key_and_value(nodes: dict, wanted: str) -> None:
    with pytest.raises(ConfigError) as err:
        with_nodes(stableNodes=nodes)
    message = err.value.render()
    assert "stableNodes" in message and wanted in message and "Traceback" not in message


def test_the_onprem_producer_tolerates_no_taint_it_was_not_told_of() -> None:
    run = declared("onprem")
    assert node_placement(run.settings.onprem).interruptible_taint is None  # type: ignore[union-attr]
    assert all(not c.tolerations or c.tolerations == [{"operator": "Exists"}] for _, _, c in pod_objects(run))


def test_the_kubernetes_layer_places_by_the_handle_never_by_the_eks_pools_names() -> None:
    found = [
        f"{path}: {name}"
        for path in sorted((Path(__file__).resolve().parent.parent / "components/k8s").rglob("*.py"))
        for name in ("POOL_LABEL", "SPOT_TAINT_KEY", "insight.io/pool", "insight.io/spot")
        if name in path.read_text()
    ]
    assert found == []
