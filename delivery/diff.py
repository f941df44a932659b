"""What a change does to a stack, from two offline previews: a pure function of two lists of records.

Resources are matched by URN, or as the engine does, by an old URN that a new resource aliases. Inputs are compared property by property (dict key order never matters);
secrets stay masked, and a secret counts as changed only when both previews carry its keyed digest and
the digests differ. A change to a property that the provider cannot update in place is a replacement,
shouted about when the resource is stateful or protected.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from offline.recorder import MASK, Record, property_path

# Properties whose change makes the provider delete and recreate the resource (per its schema's
# forceNew, or the Kubernetes API's immutable fields). One table, by resource type.
REPLACED_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # A provider in another region is another provider: everything it manages is replaced with it.
    "pulumi:providers:aws": ("region",),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "instanceTenancy"),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "availabilityZoneId", "vpcId"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "vpcId", "description"),
    "aws:ec2/flowLog:FlowLog": ("vpcId", "logDestination", "logDestinationType", "trafficType", "iamRoleArn"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:eks/cluster:Cluster": ("name", "vpcConfig.subnetIds", "roleArn", "kubernetesNetworkConfig", "encryptionConfig"),
    "eks:index:Cluster": ("name", "subnetIds", "privateSubnetIds", "publicSubnetIds", "vpcId", "kubernetesServiceIpAddressRange"),
    "aws:eks/nodeGroup:NodeGroup": ("nodeGroupName", "instanceTypes", "capacityType", "subnetIds", "amiType", "diskSize", "nodeRoleArn"),
    "eks:index:ManagedNodeGroup": ("nodeGroupName", "instanceTypes", "capacityType", "subnetIds", "amiType", "diskSize", "nodeRoleArn"),
    "aws:eks/addon:Addon": ("addonName", "clusterName"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
    "aws:ecr/repository:Repository": ("name",),
    "aws:route53/zone:Zone": ("name",),
    "aws:route53/record:Record": ("name", "type", "zoneId"),
    "aws:acm/certificate:Certificate": ("domainName", "subjectAlternativeNames", "validationMethod", "keyAlgorithm"),
    "kubernetes:apps/v1:StatefulSet": (
        "metadata.name",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.podManagementPolicy",
    ),
    "kubernetes:apps/v1:Deployment": ("metadata.name", "spec.selector"),
    "kubernetes:core/v1:PersistentVolumeClaim": ("metadata.name", "spec.storageClassName", "spec.accessModes", "spec.volumeName"),
    "kubernetes:core/v1:Service": ("metadata.name", "spec.clusterIP"),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("metadata.name", "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"),
}

# Replacing or removing these loses data (or the cluster that holds it), whatever `protect` says.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "eks:index:Cluster",
        "aws:eks/cluster:Cluster",
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:ecr/repository:Repository",
        "aws:route53/zone:Zone",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch",
        "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster",
        "kubernetes:mongodbcommunity.mongodb.com/v1:MongoDBCommunity",
    }
)

Action = Literal["add", "remove", "update", "replace"]
COLLAPSE_OVER = 10  # longer sections fold away in the pull request comment
SECRET_CHANGED = f"{MASK} (changed)"


@dataclass(frozen=True)
class PropertyChange:
    path: str
    before: Any  # None: absent
    after: Any
    replaces: bool


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    action: Action
    properties: tuple[PropertyChange, ...]
    protected: bool
    stateful: bool
    # Resources that take an input from this one: a replacement hands them new IDs, which the mocks cannot show.
    dependents: int = 0

    @property
    def dangerous(self) -> bool:
        """A replacement or removal of something that holds data or is protected."""
        return self.action in ("replace", "remove") and (self.protected or self.stateful)

    @property
    def risk(self) -> str:
        return "stateful" if self.stateful else "protected"


@dataclass(frozen=True)
class StackDiff:
    stack: str
    changes: tuple[ResourceChange, ...]

    def of(self, *actions: Action) -> list[ResourceChange]:
        return [c for c in self.changes if c.action in actions]

    def summary(self) -> str:
        """`+3 ~5 -0, 1 replacement of a stateful resource`, or `no changes`."""
        if not self.changes:
            return "no changes"
        parts = [f"+{len(self.of('add'))} ~{len(self.of('update', 'replace'))} -{len(self.of('remove'))}"]
        nouns: tuple[tuple[Action, str], ...] = (("replace", "replacement"), ("remove", "removal"))
        for action, noun in nouns:
            found = self.of(action)
            risky = Counter(c.risk for c in found if c.dangerous)
            plain_count = len(found) - sum(risky.values())
            if plain_count:
                parts.append(f"{plain_count} {noun}{'s' if plain_count > 1 else ''}")
            for risk, n in sorted(risky.items(), reverse=True):
                parts.append(f"{n} {noun}s of {risk} resources" if n > 1 else f"1 {noun} of a {risk} resource")
        return ", ".join(parts)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaves by property path; empty dicts and lists are leaves too, so `{}` -> `{"a": 1}` shows."""
    if isinstance(value, dict) and value:
        return {p: v for k, item in value.items() for p, v in flatten(item, property_path(path, k)).items()}
    if isinstance(value, list) and value:
        return {p: v for i, item in enumerate(value) for p, v in flatten(item, property_path(path, i)).items()}
    return {path: value}


def _under(path: str, props: Iterable[str]) -> bool:
    """`spec.selector.matchLabels.app` is under `spec.selector`; `*` covers everything."""
    return any(p in ("*", path) or path.startswith((f"{p}.", f"{p}[")) for p in props)


def forces_replacement(record: Record, path: str) -> bool:
    return _under(path, (*REPLACED_ON_CHANGE.get(record.type, ()), *record.replace_on_changes))


def _property_changes(base: Record, head: Record) -> Iterator[PropertyChange]:
    before, after = flatten(base.inputs), flatten(head.inputs)
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if _under(path, head.ignore_changes):
            continue  # `pulumi up` leaves these as they are
        if old == MASK and new == MASK:
            old_digest, new_digest = base.secret_digests.get(path), head.secret_digests.get(path)
            if old_digest is None or new_digest is None or old_digest == new_digest:
                continue
            new = SECRET_CHANGED
        elif old == new:
            continue
        yield PropertyChange(path, old, new, forces_replacement(head, path))
    for option in ("protect", "retain_on_delete"):
        if getattr(base, option) != getattr(head, option):
            yield PropertyChange(f"(option) {option}", getattr(base, option), getattr(head, option), False)


def _change(action: Action, *versions: Record, properties: tuple[PropertyChange, ...] = ()) -> ResourceChange:
    record = versions[-1]
    return ResourceChange(
        record.urn,
        record.type,
        record.name,
        action,
        properties,
        protected=any(r.protect or r.retain_on_delete for r in versions),
        stateful=record.type in STATEFUL_TYPES,
    )


def dependents(records: Sequence[Record], urn: str) -> set[str]:
    """Every resource that depends on `urn` or is managed by it (a provider), directly or through others."""
    users: dict[str, set[str]] = {}
    for r in records:
        providers = {ref.rsplit("::", 1)[0] for ref in (r.provider, *r.providers.values()) if ref}
        for dependency in {*r.dependencies, *providers}:
            users.setdefault(dependency, set()).add(r.urn)
    found: set[str] = set()
    todo = [urn]
    while todo:
        for user in users.get(todo.pop(), set()) - found:
            found.add(user)
            todo.append(user)
    return found


def aliased_olds(base: Sequence[Record], head: Sequence[Record]) -> dict[str, str]:
    """Old URN -> the new URN the engine moves it to: the first alias of a new resource that only the base has."""
    olds, news = {r.urn for r in base}, {r.urn for r in head}
    moved: dict[str, str] = {}
    for r in head:
        if r.urn not in olds:
            alias = next((a for a in r.aliases if a in olds and a not in news and a not in moved), None)
            if alias is not None:
                moved[alias] = r.urn
    return moved


def _renamed(value: Any, moved: dict[str, str]) -> Any:
    """References to moved resources under their new URNs, as the engine rewrites them in its state."""
    if isinstance(value, dict):
        return {k: _renamed(v, moved) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, moved) for v in value]
    return moved.get(value, value) if isinstance(value, str) else value


def diff_records(stack: str, base: Sequence[Record], head: Sequence[Record]) -> StackDiff:
    moved = aliased_olds(base, head)
    before = {moved.get(r.urn, r.urn): replace(r, inputs=_renamed(r.inputs, moved)) if moved else r for r in base}
    after = {r.urn: r for r in head}
    changes: list[ResourceChange] = []
    for urn in sorted(before.keys() | after.keys()):
        old, new = before.get(urn), after.get(urn)
        if old is None and new is not None:
            changes.append(_change("add", new))
        elif new is None and old is not None:
            changes.append(_change("remove", old))
        elif old is not None and new is not None:
            properties = tuple(_property_changes(old, new))
            if properties:
                action: Action = "replace" if any(p.replaces for p in properties) else "update"
                change = _change(action, old, new, properties=properties)
                if action == "replace":
                    change = replace(change, dependents=len(dependents(head, urn)))
                changes.append(change)
    return StackDiff(stack, tuple(changes))


def load_records(path: Path) -> list[Record]:
    """resources.json back into records; fields another revision of the recorder did not know are skipped."""
    known = {f.name for f in fields(Record)}
    return [Record(**{k: v for k, v in item.items() if k in known}) for item in json.loads(path.read_text())]


def _cell(value: Any) -> str:
    if value is None:
        return "_absent_"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text if len(text) <= 80 else text[:77] + "..."
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _warnings(diff: StackDiff) -> list[str]:
    lines: list[str] = []
    for c in diff.changes:
        if not c.dangerous:
            continue
        why = "REMOVES" if c.action == "remove" else "REPLACES"
        props = ", ".join(f"`{p.path}`" for p in c.properties if p.replaces)
        cause = f" because {props} changed" if props else ""
        loss = " Its data goes with it." if c.stateful else ""
        guard = " It is protected: `pulumi up` stops at it until it is unprotected on purpose." if c.protected else ""
        users = f" {c.dependents} resources depend on it and may be replaced or updated too." if c.dependents else ""
        lines.append(f"> **{why} the {c.risk} resource `{c.name}` (`{c.type}`)**{cause}.{loss}{guard}{users}")
    return ["> [!CAUTION]", *lines] if lines else []


def render_markdown(diff: StackDiff, base_label: str, notes: Sequence[str] = ()) -> str:
    """The pull request comment; `notes` (Markdown paragraphs, e.g. the release change) go under the summary."""
    out = [f"### Offline preview diff of stack `{diff.stack}` against `{base_label}`", "", f"**{diff.summary()}**", ""]
    out += [line for note in notes for line in (note, "")]
    if not diff.changes:
        return "\n".join(out)
    warnings = _warnings(diff)
    if warnings:
        out += [*warnings, ""]
    titles: tuple[tuple[str, Action], ...] = (("Added", "add"), ("Removed", "remove"))
    for title, action in titles:
        found = diff.of(action)
        rows = ["| resource | type |", "|---|---|", *(f"| `{c.name}` | `{c.type}` |" for c in found)]
        out += _section(f"{title} ({len(found)})", rows, len(found))
    changed = diff.of("update", "replace")
    body: list[str] = []
    for c in changed:
        verb = "update in place"
        if c.action == "replace":
            verb = f"**replace** ({c.dependents} resources depend on it)" if c.dependents else "**replace**"
        body += [f"`{c.name}` (`{c.type}`): {verb}", "", "| property | before | after | |", "|---|---|---|---|"]
        body += [
            f"| `{p.path}` | {_cell(p.before)} | {_cell(p.after)} | {'forces replacement' if p.replaces else ''} |" for p in c.properties
        ]
        body.append("")
    out += _section(f"Changed ({len(changed)})", body, len(changed))
    return "\n".join(out)


def _section(title: str, lines: list[str], count: int) -> list[str]:
    if count == 0:
        return []
    if count > COLLAPSE_OVER:
        return [f"<details><summary><b>{title}</b></summary>", "", *lines, "", "</details>", ""]
    return [f"#### {title}", "", *lines, ""]
