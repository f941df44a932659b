"""What `pulumi up` does with a change, beyond the offline diff: the Kubernetes provider's own replacement rules.

The offline diff (delivery/diff.py) says which properties changed. The real engine then asks the provider,
and pulumi-kubernetes decides by rules that depend on the provider's configuration and on the object:
facts from pulumi/pulumi-kubernetes v4.34.2, read at that tag:

- provider/pkg/provider/diff.go `forceNewProperties`: a ConfigMap's `.data`/`.binaryData` and a Secret's
  `.type`/`.data`/`.stringData` force a replacement unless the provider has `enableConfigMapMutable` /
  `enableSecretMutable`; a Job's `.spec.template`, `.spec.completions`, `.spec.parallelism` and
  `.spec.selector` always do.
- provider/pkg/provider/provider.go `Diff`: a replacement of an object with an explicit `metadata.name` that
  keeps its name and namespace is delete-before-replace (two objects cannot hold one name).
- pulumi/pulumi pkg/resource/deploy/step_generator.go `calculateDependentReplacements`: before a
  delete-before-replace, every resource that takes an input from the deleted one is diffed with that input
  unknown; the pod template's volume or env reference then forces the workload's replacement first.

A workload whose pod template changes rolls its pods (one by one, as its update strategy says).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from offline.recorder import Record

from .diff import PropertyChange, StackDiff, diff_records

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
WORKLOADS = frozenset({"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet"})
# Replaced on change whatever the provider's options (diff.go), where delivery/diff.py does not list them.
JOB_FORCE_NEW = ("spec.template", "spec.completions", "spec.parallelism", "spec.selector")
# Replaced on change unless the provider option (its input name) makes them mutable (diff.go).
MUTABLE_ONLY_WITH: dict[str, tuple[str, tuple[str, ...]]] = {
    "kubernetes:core/v1:ConfigMap": ("enableConfigMapMutable", ("data", "binaryData")),
    "kubernetes:core/v1:Secret": ("enableSecretMutable", ("type", "data", "stringData")),
}

Step = Literal["update", "replace", "delete-before-replace", "add", "remove"]


@dataclass(frozen=True)
class EngineStep:
    urn: str
    type: str
    name: str
    step: Step
    rolls: bool  # a workload whose pods are replaced by its own rollout
    cause: str  # the property path, or "depends on <name>", that decided the step


@dataclass(frozen=True)
class Plan:
    steps: tuple[EngineStep, ...]

    def of(self, *steps: Step) -> list[EngineStep]:
        return [s for s in self.steps if s.step in steps]

    def step_of(self, name: str) -> Step | None:
        return next((s.step for s in self.steps if s.name == name), None)


def _provider_inputs(record: Record, by_urn: dict[str, Record]) -> dict:
    ref = record.provider or record.providers.get("kubernetes", "")
    provider = by_urn.get(ref.rsplit("::", 1)[0])
    return provider.inputs if provider is not None else {}


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in prefixes)


def provider_forces_replacement(record: Record, path: str, provider_inputs: dict) -> bool:
    """True when pulumi-kubernetes replaces `record` for a change at `path`, by the rules the offline diff omits."""
    if record.type == "kubernetes:batch/v1:Job" and _under(path, JOB_FORCE_NEW):
        return True
    option, paths = MUTABLE_ONLY_WITH.get(record.type, ("", ()))
    # Provider options travel as JSON text ("true"). An absent one falls back to an environment variable of
    # whoever runs pulumi: counted as off.
    return bool(paths) and _under(path, paths) and str(provider_inputs.get(option)).lower() != "true"


def _explicitly_named(record: Record) -> bool:
    return record.type.startswith("kubernetes:") and bool(record.inputs.get("metadata", {}).get("name"))


def _rolls(record: Record, properties: Sequence[PropertyChange]) -> bool:
    return record.type in WORKLOADS and any(_under(p.path, ("spec.template",)) for p in properties)


def plan(stack: str, base: Sequence[Record], head: Sequence[Record]) -> Plan:
    """The engine's steps for going from `base` to `head`: the offline diff, refined by the provider's rules."""
    diff: StackDiff = diff_records(stack, base, head)
    by_urn = {r.urn: r for r in head}
    steps: dict[str, EngineStep] = {}
    for change in diff.changes:
        record = by_urn.get(change.urn)
        if record is None or change.action in ("add", "remove"):
            steps[change.urn] = EngineStep(change.urn, change.type, change.name, change.action, False, "")
            continue
        provider = _provider_inputs(record, by_urn)
        forcing = [p.path for p in change.properties if p.replaces or provider_forces_replacement(record, p.path, provider)]
        if not forcing:
            steps[change.urn] = EngineStep(change.urn, change.type, change.name, "update", _rolls(record, change.properties), "")
            continue
        dbr = _explicitly_named(record) or record.delete_before_replace
        steps[change.urn] = EngineStep(
            change.urn, change.type, change.name, "delete-before-replace" if dbr else "replace", False, forcing[0]
        )
    # Dependent replacements: whatever takes an input from a deleted-first resource is replaced before it.
    todo = [s for s in steps.values() if s.step == "delete-before-replace"]
    while todo:
        deleted = todo.pop()
        for record in head:
            current = steps.get(record.urn)
            if deleted.urn not in record.input_dependencies or (current is not None and current.step != "update"):
                continue
            step: Step = "delete-before-replace" if _explicitly_named(record) else "replace"
            steps[record.urn] = EngineStep(record.urn, record.type, record.name, step, False, f"depends on {deleted.name}")
            if step == "delete-before-replace":
                todo.append(steps[record.urn])
    return Plan(tuple(sorted(steps.values(), key=lambda s: s.urn)))
