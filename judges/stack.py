"""What a stack's cluster will run, read from the offline preview's recording: its objects, namespaces,
pods (rendered workloads, custom resources with their operators' containers, charts' and manifests' pods)."""

from dataclasses import dataclass
from typing import Any

from offline.manifests import manifests
from offline.runner import Run
from settings import versions

from .facts import install_rows, operator_rows, pod_of_custom_resource, pod_of_install

Obj = dict[str, Any]

# Where a built-in workload keeps its pod spec.
POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Custom resources that make no pods of their own.
PODLESS_KINDS = frozenset({"ServiceMonitor", "PodMonitor", "PrometheusRule"})
# Release manifests the program applies, by URL: (fact table name, version).
MANIFESTS = {versions.RABBITMQ_OPERATOR_MANIFEST: ("rabbitmq-cluster-operator", versions.RABBITMQ_OPERATOR_VERSION)}


@dataclass(frozen=True)
class Pod:
    origin: str  # where it comes from, for messages
    namespace: str
    spec: Obj
    labels: dict[str, str]


@dataclass(frozen=True)
class Install:
    """A chart or release manifest: opaque offline, its pods come from the fact table."""

    kind: str  # "chart" | "manifest"
    name: str
    version: str
    namespace: str
    values: Obj


def dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def template_specs(obj: Obj, path: str) -> list[Obj]:
    """The pod specs at a fact-table path such as `spec.nodeSets[].podTemplate.spec` (absent parts: empty)."""
    nodes: list[Any] = [obj]
    for step in path.split("."):
        key = step.removesuffix("[]")
        nodes = [n.get(key) if isinstance(n, dict) else None for n in nodes]
        if step.endswith("[]"):
            nodes = [item for n in nodes for item in (n or [])]
    return [n if isinstance(n, dict) else {} for n in nodes]


def installs(run: Run) -> list[Install]:
    found = []
    for r in run.records:
        if r.type == "kubernetes:helm.sh/v4:Chart":
            found.append(
                Install("chart", r.inputs["chart"], r.inputs["version"], r.inputs.get("namespace", "default"), r.inputs.get("values", {}))
            )
        elif r.type == "kubernetes:yaml/v2:ConfigFile":
            name, version = MANIFESTS.get(r.inputs.get("file", ""), (r.inputs.get("file", ""), "?"))
            found.append(Install("manifest", name, version, "", {}))
    return found


def namespaces(objects: list[Obj]) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Namespace"}


def pods(objects: list[Obj], stack_installs: list[Install]) -> tuple[list[Pod], list[str]]:
    """Every pod the stack makes, and what the fact table cannot account for (a judge failure of its own)."""
    found: list[Pod] = []
    unknown: list[str] = []
    for o in objects:
        kind, meta = o["kind"], o.get("metadata", {})
        ns, where = meta.get("namespace", "default"), f"{meta.get('namespace')}/{o['kind']}/{meta.get('name')}"
        builtin = o["apiVersion"] in {"v1", "apps/v1", "batch/v1"}
        if builtin and kind in POD_SPEC_PATHS:
            spec = dig(o, POD_SPEC_PATHS[kind]) or {}
            labels = dig(o, (*POD_SPEC_PATHS[kind][:-1], "metadata", "labels")) or {}
            found.append(Pod(where, ns, spec, labels))
        elif (
            not builtin and "." in o["apiVersion"].split("/")[0] and kind not in PODLESS_KINDS and not o["apiVersion"].endswith("k8s.io/v1")
        ):
            rows = operator_rows(kind)
            if not rows:
                unknown.append(f"{where}: custom resource with no operator rows in judges/facts/pods.yaml")
            for row in rows:
                for template in template_specs(o, row["pod_templates"]):
                    found.append(Pod(where, ns, pod_of_custom_resource(row, template), {}))
    for inst in stack_installs:
        rows = install_rows(inst.kind, inst.name, inst.version)
        if not rows:
            unknown.append(f"{inst.kind} {inst.name} {inst.version}: no rows in judges/facts/pods.yaml")
        for row in rows:
            ns = row.get("namespace", inst.namespace)
            found.append(Pod(f"{inst.kind} {inst.name} {inst.version} {row['pod']}", ns, pod_of_install(row, inst.values), {}))
    return found, unknown


def stack_pods(run: Run) -> tuple[list[Pod], list[str]]:
    return pods(manifests(run), installs(run))
