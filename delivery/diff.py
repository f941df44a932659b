"""What a change does to a stack, from two offline previews: a pure function of two lists of records.

Resources are matched by URN, or as the engine does, by an old URN that a new resource aliases. Inputs are compared property by property (dict key order never matters);
secrets stay masked, and a secret counts as changed only when both previews carry its keyed digest and
the digests differ. A change to a property that the provider cannot update in place is a replacement,
shouted about when the resource is stateful or protected.
"""

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from offline.recorder import MASK, Record, property_path

from .preview_comment import fenced

RULES_FILE = Path(__file__).with_name("replace_rules.yaml")


@dataclass(frozen=True)
class ReplaceRule:
    """A row of replace_rules.yaml: changes at or under `paths` replace a resource of `type`."""

    type: str
    paths: tuple[str, ...]
    mutable_with: str = ""  # a provider option that, set to true, lets these properties update in place
    source: str = ""

    def applies_to(self, type_: str) -> bool:
        return type_ == self.type or (self.type.endswith("*") and type_.startswith(self.type[:-1]))


def load_rules(path: Path = RULES_FILE) -> tuple[ReplaceRule, ...]:
    data = yaml.safe_load(path.read_text())
    return tuple(
        ReplaceRule(row["type"], tuple(row["replace_on_change"]), row.get("mutable_with", ""), row["source"]) for row in data["rules"]
    )


RULES = load_rules()

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
PROVIDER_PREFIX = "pulumi:providers:"


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
    # Resources that take an input from this one (a create-before-delete replacement hands them new outputs).
    dependents: int = 0
    # A replacement that deletes the old resource first (named Kubernetes objects, or the resource option).
    delete_before_replace: bool = False
    # Replaced only because the engine deletes `cascade_from` first and `cascade_inputs` take its outputs.
    cascade_from: str = ""
    cascade_inputs: tuple[str, ...] = ()
    # Of a delete-before-replace: the resources whose inputs take its outputs and that the engine keeps.
    readers: tuple[str, ...] = ()

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
    # Changed types that replace_rules.yaml does not cover: their replacements cannot be told.
    unknown_types: tuple[str, ...] = ()

    def of(self, *actions: Action) -> list[ResourceChange]:
        return [c for c in self.changes if c.action in actions]

    def by_urn(self) -> dict[str, ResourceChange]:
        return {c.urn: c for c in self.changes}

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
        first = sum(1 for c in self.of("replace") if c.delete_before_replace)
        if first:
            parts.append(f"{first} deleted before {'they are' if first > 1 else 'it is'} replaced")
        return ", ".join(parts)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaves by property path; empty dicts and lists are leaves too, so `{}` -> `{"a": 1}` shows."""
    if isinstance(value, dict) and value:
        return {p: v for k, item in value.items() for p, v in flatten(item, property_path(path, k)).items()}
    if isinstance(value, list) and value:
        return {p: v for i, item in enumerate(value) for p, v in flatten(item, property_path(path, i)).items()}
    return {path: value}


def _pattern(prop: str) -> re.Pattern[str]:
    return re.compile(re.escape(prop).replace(r"\[\*\]", r"\[\d+\]") + r"(?:$|[.\[])")


def _under(path: str, props: Iterable[str]) -> bool:
    """`spec.selector.matchLabels.app` is under `spec.selector`; `*` covers everything; `[*]` is any index."""
    return any(p == "*" or _pattern(p).match(path) for p in props)


def _is_true(value: Any) -> bool:
    """Provider options reach the provider as strings ("true") or booleans."""
    return str(value).lower() == "true"


def provider_urn(reference: str) -> str:
    """`<provider URN>::<provider ID>` -> the provider's URN."""
    return reference.rsplit("::", 1)[0] if reference else ""


def replace_paths(record: Record, providers: dict[str, Record], rules: Sequence[ReplaceRule] = RULES) -> tuple[str, ...]:
    """The properties whose change replaces `record`, with the options its recorded provider sets."""
    provider = providers.get(provider_urn(record.provider))
    options = provider.inputs if provider is not None else {}
    immutable = record.inputs.get("immutable") is True
    paths = [
        p
        for rule in rules
        if rule.applies_to(record.type) and not (rule.mutable_with and _is_true(options.get(rule.mutable_with)) and not immutable)
        for p in rule.paths
    ]
    return (*paths, *record.replace_on_changes)


def has_rule(type_: str, rules: Sequence[ReplaceRule] = RULES) -> bool:
    return any(rule.applies_to(type_) for rule in rules)


def _property_changes(base: Record, head: Record, replacing: tuple[str, ...]) -> Iterator[PropertyChange]:
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
        yield PropertyChange(path, old, new, _under(path, replacing))
    for option in ("protect", "retain_on_delete"):
        if getattr(base, option) != getattr(head, option):
            yield PropertyChange(f"(option) {option}", getattr(base, option), getattr(head, option), False)


def _identity(record: Record) -> tuple[Any, Any]:
    metadata = record.inputs.get("metadata") or {}
    return metadata.get("name"), metadata.get("namespace") or "default"


def deletes_first(base: Record, head: Record) -> bool:
    """How the replacement runs: pulumi-kubernetes deletes first when the object is named by the program
    (metadata.name, not generateName) and keeps its name and namespace, as a same-named object cannot exist twice;
    the `deleteBeforeReplace` resource option asks for it on any resource."""
    if head.delete_before_replace:
        return True
    return head.type.startswith("kubernetes:") and _identity(head)[0] is not None and _identity(head) == _identity(base)


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
        providers = {provider_urn(ref) for ref in (r.provider, *r.providers.values()) if ref}
        for dependency in {*r.dependencies, *providers}:
            users.setdefault(dependency, set()).add(r.urn)
    found: set[str] = set()
    todo = [urn]
    while todo:
        for user in users.get(todo.pop(), set()) - found:
            found.add(user)
            todo.append(user)
    return found


def cascade(root: str, head: Sequence[Record], providers: dict[str, Record]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """What the engine replaces along with a delete-before-replace of `root`, and who reads its outputs and stays.

    As pulumi's calculateDependentReplacements: a custom resource is replaced when its provider is, or when its
    provider, given every top-level input that takes an output of a replaced resource as unknown, asks for a
    replacement. An unknown top-level input replaces when a replace-on-change path lies at or above it (Kubernetes:
    the patch holds the unknown at that key only); for other providers also when one lies inside it, as an unknown
    block may change it. Returns {replaced URN: the inputs that made it}, and the readers kept.
    """
    replaced: dict[str, tuple[str, ...]] = {}
    readers: list[str] = []
    done = {root}
    grown = True
    while grown:
        grown = False
        for r in head:
            if r.urn in done or not r.custom:
                continue
            if provider_urn(r.provider) in done:
                replaced[r.urn], grown = ("(provider)",), True
                done.add(r.urn)
                continue
            unknown = [key for key, urns in r.property_dependencies.items() if done.intersection(urns)]
            paths = replace_paths(r, providers)
            inside = not r.type.startswith("kubernetes:")
            forced = tuple(k for k in unknown if _under(k, paths) or (inside and any(p.startswith((f"{k}.", f"{k}[")) for p in paths)))
            if forced:
                replaced[r.urn], grown = forced, True
                done.add(r.urn)
    for r in head:
        if r.urn not in done and root in {u for urns in r.property_dependencies.values() for u in urns}:
            readers.append(r.urn)
    return replaced, tuple(readers)


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


def providers_of(records: Sequence[Record]) -> dict[str, Record]:
    return {r.urn: r for r in records if r.type.startswith(PROVIDER_PREFIX)}


def diff_records(stack: str, base: Sequence[Record], head: Sequence[Record]) -> StackDiff:
    """What `pulumi up` of `head` does to a stack at `base`. The cascade reads the dependencies `head` declares (the
    engine reads those of the state `base` left: the same unless the change rewires them)."""
    moved = aliased_olds(base, head)
    before = {moved.get(r.urn, r.urn): replace(r, inputs=_renamed(r.inputs, moved)) if moved else r for r in base}
    after = {r.urn: r for r in head}
    providers = providers_of(head)
    changes: dict[str, ResourceChange] = {}
    for urn in sorted(before.keys() | after.keys()):
        old, new = before.get(urn), after.get(urn)
        if old is None and new is not None:
            changes[urn] = _change("add", new)
        elif new is None and old is not None:
            changes[urn] = _change("remove", old)
        elif old is not None and new is not None:
            properties = tuple(_property_changes(old, new, replace_paths(new, providers)))
            if not properties:
                continue
            if not any(p.replaces for p in properties):
                changes[urn] = _change("update", old, new, properties=properties)
            elif not deletes_first(old, new):
                changes[urn] = replace(_change("replace", old, new, properties=properties), dependents=len(dependents(head, urn)))
            else:
                changes[urn] = replace(_change("replace", old, new, properties=properties), delete_before_replace=True)
    for root in [c for c in changes.values() if c.delete_before_replace and not c.cascade_from]:
        replaced, readers = cascade(root.urn, head, providers)
        changes[root.urn] = replace(changes[root.urn], readers=readers)
        for urn, inputs in replaced.items():
            own = changes.get(urn) or _change("replace", *(r for r in (before.get(urn), after[urn]) if r is not None))
            changes[urn] = replace(own, action="replace", delete_before_replace=True, cascade_from=root.urn, cascade_inputs=inputs)
    unknown = sorted({c.type for c in changes.values() if c.action in ("update", "replace") and not has_rule(c.type)})
    return StackDiff(stack, tuple(changes[urn] for urn in sorted(changes)), tuple(unknown))


def load_records(path: Path) -> list[Record]:
    """resources.json back into records; fields another revision of the recorder did not know are skipped."""
    known = {f.name for f in fields(Record)}
    return [Record(**{k: v for k, v in item.items() if k in known}) for item in json.loads(path.read_text())]


CELL_WIDTH = 80  # longer or multi-line text is shown whole, line by line, under the table


def _long(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > CELL_WIDTH)


def _cell(value: Any) -> str:
    if value is None:
        return "_absent_"
    if _long(value):
        return "_lines below_"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def line_diff(before: Any, after: Any, context: int = 2) -> str:
    """A unified diff of two texts, line by line, so a changed line deep in a rendered file shows whole."""
    old = before.splitlines() if isinstance(before, str) else []
    new = after.splitlines() if isinstance(after, str) else []
    lines = difflib.unified_diff(old, new, lineterm="", n=context)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _mutable_hint(type_: str, path: str) -> str:
    option = next((r.mutable_with for r in RULES if r.mutable_with and r.applies_to(type_) and _under(path, r.paths)), "")
    return f" (its provider does not set `{option}`, or the object is immutable)" if option else ""


def _verb(c: ResourceChange) -> str:
    if c.action == "update":
        return "update in place"
    if c.cascade_from:
        inputs = ", ".join(f"`{k}`" for k in c.cascade_inputs)
        return (
            f"**delete, then replace**: the engine deletes `{urn_name(c.cascade_from)}` before replacing it, and this"
            f" resource's {inputs} takes its outputs, which its provider cannot update in place"
        )
    if c.delete_before_replace:
        return "**delete, then replace** (it keeps its name, so the old one goes first)"
    return (
        f"**replace** (create, then delete; {c.dependents} resources depend on it)" if c.dependents else "**replace** (create, then delete)"
    )


def _cascade_lines(c: ResourceChange, diff: StackDiff) -> list[str]:
    if not c.delete_before_replace or c.cascade_from:
        return []
    replaced = [urn_name(d.urn) for d in diff.changes if d.cascade_from == c.urn]
    lines = [f"Cascade: replaced with it: {', '.join(f'`{n}`' for n in replaced) or 'none'}."]
    if c.readers:
        kept = ", ".join(f"`{urn_name(u)}`" for u in c.readers)
        lines.append(f"Read its outputs and are kept (their provider updates them in place): {kept}.")
    return [" ".join(lines), ""]


def _changed_body(c: ResourceChange, diff: StackDiff) -> list[str]:
    body = [f"`{c.name}` (`{c.type}`): {_verb(c)}", "", *_cascade_lines(c, diff)]
    if not c.properties:
        return body
    body += ["| property | before | after | |", "|---|---|---|---|"]
    for p in c.properties:
        why = f"forces replacement{_mutable_hint(c.type, p.path)}" if p.replaces else ""
        body.append(f"| `{p.path}` | {_cell(p.before)} | {_cell(p.after)} | {why} |")
    body.append("")
    for p in c.properties:
        if _long(p.before) or _long(p.after):
            body += [f"`{p.path}`:", "", fenced(line_diff(p.before, p.after), "diff"), ""]
    return body


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
        users = f" {c.dependents} resources depend on it and may be updated with its new outputs." if c.dependents else ""
        lines.append(f"> **{why} the {c.risk} resource `{c.name}` (`{c.type}`)**{cause}.{loss}{guard}{users}")
    return ["> [!CAUTION]", *lines] if lines else []


def render_markdown(diff: StackDiff, base_label: str, notes: Sequence[str] = (), sections: Sequence[str] = ()) -> str:
    """The pull request comment; `notes` (Markdown paragraphs, e.g. the release change) go under the summary,
    `sections` (what rolls, the graph of the change) under the warnings."""
    out = [f"### Offline preview diff of stack `{diff.stack}` against `{base_label}`", "", f"**{diff.summary()}**", ""]
    out += [line for note in notes for line in (note, "")]
    if not diff.changes:
        return "\n".join(out)
    warnings = _warnings(diff)
    if warnings:
        out += [*warnings, ""]
    out += [section for section in sections if section]
    if diff.unknown_types:
        listed = ", ".join(f"`{t}`" for t in diff.unknown_types)
        out += [f"Whether a change replaces these types is not in `delivery/replace_rules.yaml` (shown as updates): {listed}.", ""]
    titles: tuple[tuple[str, Action], ...] = (("Added", "add"), ("Removed", "remove"))
    for title, action in titles:
        found = diff.of(action)
        rows = ["| resource | type |", "|---|---|", *(f"| `{c.name}` | `{c.type}` |" for c in found)]
        out += _section(f"{title} ({len(found)})", rows, len(found))
    changed = diff.of("update", "replace")
    body = [line for c in changed for line in _changed_body(c, diff)]
    out += _section(f"Changed ({len(changed)})", body, len(changed))
    return "\n".join(out)


def _section(title: str, lines: list[str], count: int) -> list[str]:
    if count == 0:
        return []
    if count > COLLAPSE_OVER:
        return [f"<details><summary><b>{title}</b></summary>", "", *lines, "", "</details>", ""]
    return [f"#### {title}", "", *lines, ""]
