"""One pod vocabulary for the Kubernetes layer (components/k8s/pods.py), and pyright checking all of components/."""

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from catalog import ServiceSpec, load_catalog
from components.aws.handle import EKS_POOLS
from components.handle import NodePlacement, StorageClasses
from components.k8s import pods
from components.k8s.apps import workload
from offline.manifests import manifests
from offline.runner import Run
from settings.scheduling import HOST_KEY, ZONE_KEY

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
# A file-wide pyright comment: `# pyright: reportX=false`, `# pyright: basic` and the like.
FILE_SWITCH = re.compile(r"^\s*#\s*pyright\s*:", re.MULTILINE)


def pyright_switches(source: str) -> list[str]:
    return [m.group(0).strip() for m in FILE_SWITCH.finditer(source)]


def test_a_file_wide_pyright_switch_is_found():
    planted = '"""Doc."""\n\n# pyright: reportArgumentType=false\nimport pulumi\n'
    assert pyright_switches(planted) == ["# pyright:"]
    assert pyright_switches("x = 1  # a comment about pyright, not a switch\n") == []


def test_no_pyright_switch_remains_in_components():
    files = sorted(COMPONENTS.rglob("*.py"))
    assert len(files) > 20, "components/ was not found"
    switched = {str(f.relative_to(ROOT)): s for f in files if (s := pyright_switches(f.read_text()))}
    assert switched == {}, "pyright checks are switched off file-wide; hand manifests over with pods.as_input instead"


# Keys whose value is a pod piece: it must come from a call (a pods.py builder), never a literal written on the spot.
PIECE_KEYS = frozenset(
    {
        "securityContext",
        "podSecurityContext",
        "containerSecurityContext",
        "topologySpreadConstraints",
        "tolerations",
        "affinity",
        "nodeSelector",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
    }
)
# Keys only a pod piece has: a dict literal with one of them is a piece built outside pods.py.
PIECE_ONLY_KEYS = frozenset(
    {
        "runAsNonRoot",
        "runAsUser",
        "allowPrivilegeEscalation",
        "readOnlyRootFilesystem",
        "privileged",
        "seccompProfile",
        "capabilities",
        "maxSkew",
        "topologyKey",
        "nodeAffinity",
        "podAntiAffinity",
        "nodeSelectorTerms",
    }
)
# The typed copies of the same pieces (the apps' old vocabulary) and their snake_case keyword arguments.
PIECE_ARGS = frozenset(
    {"SecurityContextArgs", "PodSecurityContextArgs", "TopologySpreadConstraintArgs", "TolerationArgs", "AffinityArgs", "ProbeArgs"}
)
PIECE_KEYWORDS = frozenset(
    {"security_context", "topology_spread_constraints", "tolerations", "affinity", "liveness_probe", "readiness_probe"}
)
LITERALS = (ast.Dict, ast.List, ast.DictComp, ast.ListComp)


def pod_pieces_built_here(source: str) -> list[str]:
    """Where `source` writes a pod piece itself instead of taking it from components/k8s/pods.py (line: what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                if key.value in PIECE_ONLY_KEYS or (key.value in PIECE_KEYS and isinstance(value, LITERALS)):
                    found.append(f"{key.lineno}: {key.value}")
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in PIECE_ARGS:
                found.append(f"{node.lineno}: {name}")
        elif isinstance(node, ast.keyword) and node.arg in PIECE_KEYWORDS:
            found.append(f"{node.value.lineno}: {node.arg}=")
    return found


def test_a_pod_piece_built_outside_the_pods_module_is_found():
    assert pod_pieces_built_here('spec = {"securityContext": {"runAsNonRoot": True}}') == ["1: securityContext", "1: runAsNonRoot"]
    assert pod_pieces_built_here('spec = {"tolerations": [t for t in taints]}') == ["1: tolerations"]
    assert pod_pieces_built_here("c = ContainerArgs(security_context=SecurityContextArgs(privileged=False))") == [
        "1: security_context=",
        "1: SecurityContextArgs",
    ]
    assert pod_pieces_built_here('spec = {"securityContext": pods.pod_security(), "tolerations": pods.every_node_tolerations()}') == []


def test_apps_and_platform_take_every_pod_piece_from_the_pods_module():
    layer = COMPONENTS / "k8s"
    shared = layer / "pods.py"
    files = sorted(f for f in layer.rglob("*.py") if f != shared)
    assert shared.exists() and len(files) > 15, "the Kubernetes layer's modules were not found"
    built = {str(f.relative_to(ROOT)): b for f in files if (b := pod_pieces_built_here(f.read_text()))}
    assert built == {}, "pod pieces are written outside components/k8s/pods.py"
    assert pod_pieces_built_here(shared.read_text()), "the pods module builds no piece: the check looks at the wrong thing"


def test_the_spread_rule_counts_the_pods_a_workload_may_run():
    selector = {"app.kubernetes.io/name": "x"}
    assert pods.zone_spread(selector, 1, EKS_POOLS) == []
    zone, host = pods.zone_spread(selector, 2, EKS_POOLS)
    assert (zone["topologyKey"], zone["whenUnsatisfiable"]) == (ZONE_KEY, "DoNotSchedule")
    assert (host["topologyKey"], host["whenUnsatisfiable"]) == (HOST_KEY, "ScheduleAnyway")
    assert zone["labelSelector"] == host["labelSelector"] == {"matchLabels": selector}
    # Nodes without zones: across nodes only, and never a hard constraint the scheduler cannot meet.
    assert pods.zone_spread(selector, 2, NodePlacement(zones=False)) == [host]


def app_pod(spec: ServiceSpec) -> dict[str, Any]:
    storage = StorageClasses(data="data", scratch="scratch", provisioner=None)
    template = workload.pod_template(
        spec, "1.0.0", "image", service_account="sa", metrics_backend="prometheus", storage=storage, nodes=EKS_POOLS
    )
    return template["spec"]


def test_apps_and_platform_spread_by_the_one_rule(monkeypatch: pytest.MonkeyPatch):
    spec = load_catalog("test").services[0]
    assert spec.deploy.autoscaling.max_replicas > 1 and app_pod(spec)["topologySpreadConstraints"]
    # A planted fault in the one rule reaches apps and platform alike: neither has a copy of its own.
    monkeypatch.setattr(pods, "spreads", lambda max_pods: False)
    assert app_pod(spec)["topologySpreadConstraints"] == []
    assert pods.zone_spread({"app.kubernetes.io/name": "redis"}, 3, EKS_POOLS) == []


def spread_mismatches(objects: list[dict[str, Any]]) -> list[str]:
    """Deployments and StatefulSets whose zone spread disagrees with the rule: spread exactly when they may run more
    than one pod (their autoscaler's maximum, else their replicas)."""
    ceilings = {
        (o["metadata"]["namespace"], o["spec"]["scaleTargetRef"]["name"]): o["spec"]["maxReplicas"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    mismatches = []
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        meta = o["metadata"]
        max_pods = ceilings.get((meta["namespace"], meta["name"]), o["spec"].get("replicas", 1))
        constraints = o["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
        spread = any(c["topologyKey"] == ZONE_KEY for c in constraints)
        if spread != (max_pods > 1):
            mismatches.append(f"{meta['namespace']}/{meta['name']}: up to {max_pods} pods, {'' if spread else 'not '}spread")
    return mismatches


def workload_object(name: str, replicas: int, spread: bool) -> dict[str, Any]:
    constraints = pods.zone_spread({"n": name}, 2, EKS_POOLS) if spread else []
    template = {"spec": {"topologySpreadConstraints": constraints}}
    return {"kind": "Deployment", "metadata": {"namespace": "ns", "name": name}, "spec": {"replicas": replicas, "template": template}}


def test_a_workload_spread_against_the_rule_is_found():
    autoscaler = {"kind": "HorizontalPodAutoscaler", "metadata": {"namespace": "ns"}}
    autoscaler["spec"] = {"scaleTargetRef": {"name": "scaled"}, "maxReplicas": 3}
    objects = [workload_object("single", 1, spread=True), workload_object("scaled", 1, spread=False), autoscaler]
    objects.append(workload_object("pair", 2, spread=True))
    assert spread_mismatches(objects) == ["ns/single: up to 1 pods, spread", "ns/scaled: up to 3 pods, not spread"]


def test_every_workload_of_every_stack_spreads_by_the_rule(run: Run):
    objects = manifests(run)
    assert sum(o["kind"] in ("Deployment", "StatefulSet") for o in objects) > 5
    assert spread_mismatches(objects) == []
