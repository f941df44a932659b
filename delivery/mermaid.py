"""The component graph as a Mermaid flowchart for summary.md: it renders in pull requests as a picture.

Each of our components (type `insight:*`) is a box holding its key resources by name (cluster, node groups, VPC, NAT
gateways, keys, ...) and its other main resources counted by type; top to bottom so it reads at normal width; top-level
components sit in the AWS layer or the Kubernetes layer by what most of their resources are; an arrow
A --> B says something in B takes an input or dependency from something in A.
"""

from collections import Counter, defaultdict

from offline.recorder import Record
from offline.runner import Run

from .diff import ResourceChange, StackDiff

COMPONENT_PREFIX = "insight:"
LAYERS = {"aws": "AWS layer", "k8s": "Kubernetes layer"}
TYPES_PER_BOX = 4  # the most numerous other types; the rest are counted in one line
# Named in their box whatever their number: what a reviewer looks for first.
KEY_TYPES = (
    "eks:index:Cluster",
    "eks:index:ManagedNodeGroup",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/natGateway:NatGateway",
    "aws:kms/key:Key",
    "aws:route53/zone:Zone",
    "aws:cloudfront/distribution:Distribution",
    "aws:s3/bucket:Bucket",
    "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch",
    "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster",
    "kubernetes:mongodbcommunity.mongodb.com/v1:MongoDBCommunity",
)


def _is_component(record: Record) -> bool:
    return record.type.startswith(COMPONENT_PREFIX)


def _is_provider(record: Record) -> bool:
    return record.type.startswith("pulumi:providers:")


def _short(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def owners(run: Run) -> dict[str, str]:
    """Resource URN -> URN of the nearest enclosing component of ours (resources outside any are left out)."""
    by_urn = run.by_urn()
    found: dict[str, str] = {}
    for record in run.records:
        parent = by_urn.get(record.parent)
        while parent is not None and not _is_component(parent):
            parent = by_urn.get(parent.parent)
        if parent is not None and not _is_component(record):
            found[record.urn] = parent.urn
    return found


def component_graph(run: Run) -> str:
    by_urn = run.by_urn()
    components = sorted((r for r in run.records if _is_component(r)), key=lambda r: r.urn)
    ids = {c.urn: f"c{i}" for i, c in enumerate(components)}
    owner = owners(run)
    children: dict[str, list[Record]] = defaultdict(list)
    for c in components:
        children[c.parent].append(c)
    resources: dict[str, Counter[str]] = defaultdict(Counter)
    keys: dict[str, list[Record]] = defaultdict(list)
    for urn, component in sorted(owner.items()):
        record = by_urn[urn]
        if record.type in KEY_TYPES:
            keys[component].append(record)
        elif not _is_provider(record):
            resources[component][_short(record.type)] += 1

    def descendants_layer(component: Record) -> str:
        kinds: Counter[str] = Counter()
        for urn, c in owner.items():
            if c == component.urn or _within(by_urn, c, component.urn):
                kinds["k8s" if by_urn[urn].type.startswith("kubernetes:") else "aws"] += 1
        return "k8s" if kinds["k8s"] > kinds["aws"] else "aws"

    def box(component: Record, depth: int) -> list[str]:
        pad = "    " * depth
        cid = ids[component.urn]
        lines = [f"{pad}subgraph {cid}[{_label(f'{component.name}: {_short(component.type)}')}]"]
        for i, record in enumerate(keys[component.urn]):
            lines.append(f"{pad}    {cid}k{i}[{_label(f'{_short(record.type)} {record.name}')}]")
        counted = sorted(resources[component.urn].items(), key=lambda kv: (-kv[1], kv[0]))
        for i, (type_, n) in enumerate(counted[:TYPES_PER_BOX]):
            lines.append(f"{pad}    {cid}r{i}[{_label(type_ if n == 1 else f'{n} x {type_}')}]")
        rest = sum(n for _, n in counted[TYPES_PER_BOX:])
        if rest:
            lines.append(f"{pad}    {cid}more[{_label(f'... {rest} more')}]")
        for child in children[component.urn]:
            lines += box(child, depth + 1)
        return [*lines, f"{pad}end"]

    top = [c for c in components if c.parent not in ids]
    out = ["## Component graph", "", "```mermaid", "flowchart TB"]
    for layer, title in LAYERS.items():
        members = [c for c in top if descendants_layer(c) == layer]
        if members:
            out.append(f"    subgraph {layer}[{_label(title)}]")
            out += [line for c in members for line in box(c, 2)]
            out.append("    end")
    out += [f"    {ids[a]} --> {ids[b]}" for a, b in sorted(_edges(run, owner, by_urn), key=lambda e: (ids[e[0]], ids[e[1]]))]
    out += ["```", ""]
    return "\n".join(out)


def _within(by_urn: dict[str, Record], urn: str, ancestor: str) -> bool:
    record = by_urn.get(urn)
    while record is not None:
        if record.parent == ancestor:
            return True
        record = by_urn.get(record.parent)
    return False


def _edges(run: Run, owner: dict[str, str], by_urn: dict[str, Record]) -> set[tuple[str, str]]:
    """(from, to) component pairs: a resource owned by `to` depends on one owned by `from` (or on `from` itself),
    or uses a provider built there. Pairs where one box holds the other are left out: the nesting says it."""
    edges: set[tuple[str, str]] = set()
    for record in run.records:
        to = owner.get(record.urn)
        providers = {ref.rsplit("::", 1)[0] for ref in (record.provider, *record.providers.values()) if ref}
        for dependency in {*record.dependencies, *providers}:
            source = owner.get(dependency) or (dependency if dependency in by_urn and _is_component(by_urn[dependency]) else None)
            if to and source and source != to and not _within(by_urn, to, source) and not _within(by_urn, source, to):
                edges.add((source, to))
    return edges


# The pull request's picture: the changed resources and their direct neighbours, not the whole stack.
CHANGE_STYLES = {
    "add": "fill:#dafbe1,stroke:#1a7f37",
    "update": "fill:#fff8c5,stroke:#9a6700",
    "replace": "fill:#ffebe9,stroke:#cf222e",
    "remove": "fill:#eeeeee,stroke:#57606a,stroke-dasharray:4",
    "neighbour": "fill:#ffffff,stroke:#8c959f",
}
MAX_NEIGHBOURS = 24


def _action_word(change: ResourceChange) -> str:
    if change.action == "replace":
        return "delete, then replace" if change.delete_before_replace else "replace"
    return change.action


def change_graph(diff: StackDiff, base: list[Record], head: list[Record]) -> str:
    """Mermaid of what changes: each changed resource styled by what happens to it, with the resources it takes
    inputs from or gives inputs to (providers and components left out: every object has them)."""
    if not diff.changes:
        return ""
    records = {r.urn: r for r in (*base, *head)}
    changed = diff.by_urn()

    def plain(urn: str) -> bool:
        record = records.get(urn)
        return record is not None and not _is_component(record) and not _is_provider(record)

    edges = {(d, r.urn) for r in head for d in r.dependencies if (d in changed or r.urn in changed) and plain(d) and plain(r.urn)}
    edges |= {(d, urn) for urn in changed if urn in records for d in records[urn].dependencies if plain(d)}
    neighbours = sorted({u for edge in edges for u in edge} - changed.keys())
    shown = [*sorted(u for u in changed if plain(u)), *neighbours[:MAX_NEIGHBOURS]]
    ids = {urn: f"n{i}" for i, urn in enumerate(shown)}
    out = ["#### The change, as a graph", "", "```mermaid", "flowchart LR"]
    for urn in shown:
        record = records[urn]
        word = _action_word(changed[urn]) if urn in changed else ""
        text = f"{record.name}<br/>{_short(record.type)}" + (f"<br/><b>{word}</b>" if word else "")
        style = changed[urn].action if urn in changed else "neighbour"
        out.append(f"    {ids[urn]}[{_label(text)}]:::{style}")
    out += [f"    {ids[a]} --> {ids[b]}" for a, b in sorted(edges) if a in ids and b in ids]
    out += [f"    classDef {name} {style}" for name, style in CHANGE_STYLES.items()]
    out.append("```")
    hidden = len(neighbours) - MAX_NEIGHBOURS
    if hidden > 0:
        out.append(f"{hidden} more neighbours are not drawn.")
    return "\n".join(out) + "\n"
