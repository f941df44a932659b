"""A MockMonitor that keeps every registration whole: inputs (secrets masked), parent, dependencies, options."""

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import alias_pb2
from pulumi.runtime.settings import get_project, get_stack

# Signatures the Pulumi wire format uses for special values.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
SIG_RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASK = "[secret]"
# When set (the preview diff sets a fresh random key per comparison and never writes it down), each secret
# also gets a keyed digest, so two previews show that a secret changed without either holding its value.
DIGEST_KEY_ENV = "INSIGHT_SECRET_DIGEST_KEY"


@dataclass
class Record:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    remote: bool
    provider: str
    providers: dict[str, str]
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    # The dependencies that inputs carry (the rest of `dependencies` came from explicit depends_on).
    input_dependencies: list[str] = field(default_factory=list)
    # The same by top-level input ("spec" -> URNs): the engine cascades a delete-before-replace through these.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    # Property path ("data.password") -> keyed digest of the masked secret there (see DIGEST_KEY_ENV).
    secret_digests: dict[str, str] = field(default_factory=dict)
    # Earlier URNs the engine would match this resource to (its `aliases`, and those its parents' aliases imply).
    aliases: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mask(value: Any) -> Any:
    """A secret map keeps its keys (a Secret's `stringData` stays an object); every value is masked."""
    if isinstance(value, dict) and value.get(SIG_KEY) is None:
        return {k: _mask(v) for k, v in value.items()}
    return MASK


def plain(value: Any) -> Any:
    """Wire value -> JSON-able value: secrets masked, resource references by URN, whole floats as ints."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SIG_SECRET:
            return _mask(value.get("value"))
        if sig == SIG_RESOURCE_REF:
            return {"$ref": value.get("urn", "")}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return "[unknown]"
    return value


def property_path(parent: str, key: str | int) -> str:
    """`spec.template.metadata.labels["insight.io/pool"]`, `subnetIds[0]`: the one path format of records and diffs."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if key.replace("_", "").replace("-", "").isalnum():
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


def secret_digests(value: Any, key: str, path: str = "") -> dict[str, str]:
    """Keyed digests of every secret in a wire value, by property path; none without a key."""
    if not key:
        return {}
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SIG_SECRET:
            text = json.dumps(value.get("value"), sort_keys=True)
            return {path: hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()[:16]}
        return {p: d for k, v in value.items() for p, d in secret_digests(v, key, property_path(path, k)).items()}
    if isinstance(value, list):
        return {p: d for i, v in enumerate(value) for p, d in secret_digests(v, key, property_path(path, i)).items()}
    return {}


def _decode_json_text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _provider_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Providers receive structured settings JSON-encoded; record them as the structures they are."""
    return {key: _decode_json_text(value) for key, value in inputs.items()}


def _has_resource_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get(SIG_KEY) == SIG_RESOURCE_REF or any(_has_resource_ref(v) for v in value.values())
    return isinstance(value, list) and any(_has_resource_ref(v) for v in value)


def _ref_urns(value: Any) -> list[str]:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SIG_RESOURCE_REF:
            return [value.get("urn", "")]
        return [u for v in value.values() for u in _ref_urns(v)]
    if isinstance(value, list):
        return [u for v in value for u in _ref_urns(v)]
    return []


def _refs_as_urns(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SIG_RESOURCE_REF:
            return value.get("urn", "")
        return {k: _refs_as_urns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_refs_as_urns(v) for v in value]
    return value


# URNs and aliases as the engine makes them, not as the SDK's mock monitor does. Facts, from pulumi/pulumi
# (tag v3.259.0, the newest in the stored snapshot; v3.272.0 is not in it, and these files are unchanged
# from v3.259.0 to the snapshot's head of 2026-08-21):
# - sdk/go/common/resource/urn.go `NewURN`: the type part is `<parent's qualified type>$<type>`, or just
#   `<type>` when there is no parent or the parent's type is the root stack type (`pulumi:pulumi:Stack`,
#   sdk/go/common/tokens/stack_type.go); pkg/resource/deploy/deployment.go `generateURN` passes the parent
#   URN's whole `QualifiedType()`. The root stack is `pulumi:pulumi:Stack::<project>-<stack>` (resource/stack.go).
# - pulumi 3.272.0's Python mocks (pulumi/runtime/mocks.py `MockMonitor.make_urn`) keep only the parent's
#   last type and keep `pulumi:pulumi:Stack$` for top-level resources: not what the engine assigns.
# - pkg/resource/deploy/step_generator.go `generateAliases`, `collapseAliasToUrn`, `inheritedChildAlias` and
#   resource/alias.go `CreateURN`: an alias spec defaults to the resource's own name, type and parent (the
#   root stack counts as no parent); a child inherits an alias from its parent's alias, with the parent's name
#   prefix of its own name swapped for the old one. The engine multiplies out the one parent alias that matched
#   old state; without old state here, every candidate is kept (the diff then matches the first one present).
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
_NAME_DELIMITER = "::"


def _qualified_type(urn: str) -> str:
    return urn.split(_NAME_DELIMITER)[2]


def _urn_name(urn: str) -> str:
    return urn.split(_NAME_DELIMITER, 3)[3]


def engine_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    qualified = type_
    if parent and _qualified_type(parent) != ROOT_STACK_TYPE:
        qualified = f"{_qualified_type(parent)}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _inherited_alias(type_: str, name: str, *, parent: str, parent_alias: str, stack: str, project: str) -> str:
    """A child of an aliased parent is also known under that alias (renamed along if it took the parent's name)."""
    parent_name = _urn_name(parent)
    if name.startswith(parent_name):
        name = _urn_name(parent_alias) + name[len(parent_name) :]
    return engine_urn(stack, project, parent_alias, type_, name)


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.records: list[Record] = []
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""
        self._aliases: dict[str, list[str]] = {}  # URN -> its alias URNs, for its children to inherit

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN; the stock monitor also hands it back to the SDK (parents, dependencies, provider refs)."""
        return engine_urn(get_stack(), get_project(), parent, type_, name)

    def _alias_urns(self, request) -> list[str]:
        stack, project, parent = get_stack(), get_project(), request.parent
        own: list[str] = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                own.append(alias.urn)
                continue
            own.extend(self._spec_urns(alias.spec, request, stack, project))
        inherited = [
            _inherited_alias(type_, name, parent=parent, parent_alias=parent_alias, stack=stack, project=project)
            for parent_alias in self._aliases.get(parent, [])
            for type_, name in [(request.type, request.name), *((_qualified_type(a).split("$")[-1], _urn_name(a)) for a in own)]
        ]
        return list(dict.fromkeys([*own, *inherited]))

    def _spec_urns(self, spec: alias_pb2.Alias.Spec, request, stack: str, project: str) -> list[str]:
        name, type_ = spec.name or request.name, spec.type or request.type
        stack, project = spec.stack or stack, spec.project or project
        if spec.noParent:
            parents = [""]
        elif spec.parentUrn:
            # An old parent that moved itself is found under its own aliases.
            parents = [spec.parentUrn, *self._aliases.get(spec.parentUrn, [])]
        else:
            parents = [request.parent]
        return [engine_urn(stack, project, parent, type_, name) for parent in parents]

    def RegisterResource(self, request):
        raw = json_format.MessageToDict(request.object)
        if _has_resource_ref(raw):
            # The stock monitor would rebuild referenced resources on its own thread's event loop and
            # stall the run; the mocks only need the URN, so hand it on as text.
            request = type(request).FromString(request.SerializeToString())
            request.object.Clear()
            request.object.update(_refs_as_urns(raw))
        response = super().RegisterResource(request)
        aliases = self._aliases[response.urn] = self._alias_urns(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
        # A resource passed as an input is a dependency too, as the engine counts it.
        property_deps = {
            key: sorted(
                {*_ref_urns(raw.get(key)), *(request.propertyDependencies[key].urns if key in request.propertyDependencies else ())}
            )
            for key in {*raw, *request.propertyDependencies}
        }
        input_deps = {u for deps in property_deps.values() for u in deps}
        self.records.append(
            Record(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                remote=request.remote,
                provider=request.provider,
                providers=dict(request.providers),
                inputs=_provider_inputs(plain(raw)) if request.type.startswith("pulumi:providers:") else plain(raw),
                dependencies=sorted({*request.dependencies, *input_deps}),
                input_dependencies=sorted(input_deps),
                property_dependencies={key: urns for key, urns in sorted(property_deps.items()) if urns},
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=request.deleteBeforeReplace,
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                secret_digests=secret_digests(raw, os.environ.get(DIGEST_KEY_ENV, "")),
                aliases=aliases,
            )
        )
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn == self.stack_urn:
            self.stack_outputs = plain(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)
