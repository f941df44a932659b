"""The greenfield deploy's critical path through the recorded dependency graph, and avoidable serialisation.

Edges, each with why a resource waits:
- `input`: an input carries another resource's output (or the resource itself);
- `depends_on`: an explicit dependency that no input carries;
- `provider`: the provider it is created through (a Kubernetes provider waits for its cluster);
- `child`: a component is done when its children are;
- `nodes` / `volumes`: pods cannot turn Ready before a node group exists, nor claim EBS volumes
  before the EBS CSI driver runs. No input says so, yet `pulumi up` waits for it all the same.

A custom resource (Elasticsearch, RabbitmqCluster, ...) is created in seconds unless it carries
`pulumi.com/waitFor`; a Job that depends on it still runs until the operator has made it ready.
"""

from dataclasses import dataclass
from fnmatch import fnmatch
from graphlib import TopologicalSorter

from offline.recorder import Record

from .durations import DURATIONS, NOT_AWAITED, duration_of, ordered_ready_replicas, readiness_after_creation, seconds_for
from .model import volume_gib

NODE_GROUPS = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
EBS_CSI_ADDON = "aws-ebs-csi-driver"
CHARTS = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release", "kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml/v2:ConfigFile")
POD_MAKERS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    *CHARTS,
)
# A Job runs to completion only once the services it waits for answer; a workload whose readiness probe asks a
# service it depends on (Zipkin asks Elasticsearch) turns Ready, and is awaited, only once that service is ready.
WAIT_FOR_READY = ("kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
# An explicit dependency that delays a resource by less than this is not worth a warning.
WARN_AFTER_SECONDS = 30

REGISTERED_DOMAIN = "aws:route53domains/registeredDomain:RegisteredDomain"
CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
# Explicit dependencies that a real need justifies although no input carries it: (dependent, dependency, why).
KNOWN_NEEDS: tuple[tuple[str, str, str], ...] = (
    ("aws:eks/addon:Addon", "eks:index:ManagedNodeGroup", "an add-on's pods need nodes before it turns ACTIVE"),
    ("aws:eks/addon:Addon", "eks:index:Cluster", "the add-on names its cluster by plain name"),
    ("pulumi:providers:kubernetes", "eks:index:ManagedNodeGroup", "the Kubernetes layer's awaits start once nodes exist"),
    ("eks:index:ManagedNodeGroup", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "nodes join only once their role has its policies"),
    ("aws:ec2/natGateway:NatGateway", "aws:ec2/internetGateway:InternetGateway", "a public NAT gateway needs the internet gateway"),
    (CERTIFICATE_VALIDATION, REGISTERED_DOMAIN, "ACM sees the validation records once the registrar points at the zone"),
    (CERTIFICATE_VALIDATION, "aws:route53/record:Record", "ACM sees the validation records once the parent zone delegates ours"),
    ("kubernetes:*", "kubernetes:core/v1:Namespace", "namespaced objects need their namespace"),
    ("kubernetes:*", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "custom resources need their CRD"),
)


def is_known_need(dependent: str, dependency: str) -> bool:
    if dependent not in CHARTS and dependency in CHARTS and dependent.startswith("kubernetes:"):
        return True  # an object needs the CRDs or the controller (load balancers, webhooks) a chart installs
    return any(fnmatch(dependent, a) and fnmatch(dependency, b) for a, b, _ in KNOWN_NEEDS)


@dataclass(frozen=True)
class Step:
    urn: str
    name: str
    type: str
    seconds: int  # what it adds to the path: its own time, plus any wait for a service to become ready
    finish: int
    why: str
    via: str  # the edge by which it waited for the step before it


@dataclass(frozen=True)
class SerialisationWarning:
    urn: str
    seconds: int  # how much later the resource can start because of it
    message: str


@dataclass(frozen=True)
class DeployEstimate:
    total: int
    path: tuple[Step, ...]
    warnings: tuple[SerialisationWarning, ...]


def _provider_urn(reference: str) -> str:
    return reference.rsplit("::", 1)[0] if reference else ""


def edges(records: list[Record]) -> dict[str, dict[str, str]]:
    """For each URN: the URNs it waits for, each with the kind of edge (see the module docstring)."""
    by_urn = {r.urn: r for r in records}
    waits: dict[str, dict[str, str]] = {r.urn: {} for r in records}
    for r in records:
        own = waits[r.urn]
        for urn in r.dependencies:
            own[urn] = "input" if urn in r.input_dependencies else "depends_on"
        provider = _provider_urn(r.provider)
        if provider in by_urn:
            own.setdefault(provider, "provider")
        if r.parent in by_urn and not by_urn[r.parent].custom:  # a custom parent is done on its own
            waits[r.parent][r.urn] = "child"
    # Waiting for oneself or for an enclosing component (done only when this is) would be a cycle: the engine ignores it.
    waits = {urn: {d: kind for d, kind in deps.items() if d in waits and d not in _lineage(urn, by_urn)} for urn, deps in waits.items()}
    implicit = (
        ("nodes", [r for r in records if r.type in NODE_GROUPS], lambda r: r.type in POD_MAKERS),
        ("volumes", [r for r in records if r.type == "aws:eks/addon:Addon" and r.inputs.get("addonName") == EBS_CSI_ADDON], volume_gib),
    )
    for kind, targets, needs in implicit:
        for target in targets:
            upstream = _upstream(target.urn, waits)  # never make the target wait, through others, for what waits for it
            for r in records:
                if r.type.startswith("kubernetes:") and needs(r) and r.urn not in upstream:
                    waits[r.urn].setdefault(target.urn, kind)
    return waits


def _upstream(urn: str, waits: dict[str, dict[str, str]]) -> set[str]:
    """The resource and everything it waits for, directly or not."""
    found = {urn}
    stack = [urn]
    while stack:
        for d in waits[stack.pop()]:
            if d not in found:
                found.add(d)
                stack.append(d)
    return found


def _lineage(urn: str, by_urn: dict[str, Record]) -> set[str]:
    """The resource and the components that wait for it (up to the first custom parent, which does not)."""
    found = {urn}
    while (parent := by_urn[urn].parent) in by_urn and not by_urn[parent].custom and parent not in found:
        found.add(parent)
        urn = parent
    return found


@dataclass(frozen=True)
class Timeline:
    start: dict[str, int]
    finish: dict[str, int]
    latest: dict[str, str]  # the dependency that let each resource start last
    waited_ready: dict[str, int]  # seconds a Job ran on, waiting for that dependency to become ready

    def arrival(self, record: Record, dependency: str, ready_after: dict[str, int]) -> int:
        """When `record` may go on after `dependency`: an awaited Job also runs until the service it waits for is ready."""
        awaited = duration_of(record.type, record.inputs, record.custom, record.remote) is not NOT_AWAITED
        return self.finish[dependency] + (ready_after.get(dependency, 0) if record.type in WAIT_FOR_READY and awaited else 0)


def timeline(records: list[Record], waits: dict[str, dict[str, str]]) -> Timeline:
    """Earliest start and finish of every resource when everything runs as soon as what it waits for is done."""
    by_urn = {r.urn: r for r in records}
    ready_after = {r.urn: d.seconds for r in records if (d := readiness_after_creation(r.type, r.inputs))}
    t = Timeline({}, {}, {}, {})
    for urn in TopologicalSorter({u: set(d) for u, d in waits.items()}).static_order():
        r = by_urn[urn]
        arrivals = {d: t.arrival(r, d, ready_after) for d in waits[urn]}
        t.latest[urn] = max(arrivals, key=lambda d: arrivals[d], default="")
        t.start[urn] = arrivals.get(t.latest[urn], 0)
        if t.latest[urn] and t.start[urn] > t.finish[t.latest[urn]]:
            t.waited_ready[urn] = t.start[urn] - t.finish[t.latest[urn]]
        t.finish[urn] = t.start[urn] + seconds_for(r.type, r.inputs, r.custom, r.remote)
    return t


def critical_path(records: list[Record], t: Timeline, waits: dict[str, dict[str, str]]) -> tuple[Step, ...]:
    """From the last resource to finish back to the first, keeping the steps that add time."""
    by_urn = {r.urn: r for r in records}
    urn = max(t.finish, key=lambda u: t.finish[u], default="")
    chain: list[Step] = []
    while urn:
        r = by_urn[urn]
        before = t.latest[urn]
        added = t.finish[urn] - (t.finish[before] if before else 0)
        if added:
            why = duration_of(r.type, r.inputs, r.custom, r.remote).why
            replicas = ordered_ready_replicas(r.type, r.inputs)
            if replicas > 1:
                why += f"; {replicas} replicas one after another"
            if urn in t.waited_ready:
                ready = readiness_after_creation(by_urn[before].type, by_urn[before].inputs)
                why += f"; first runs {t.waited_ready[urn]} s until {by_urn[before].name} is ready ({ready.why if ready else ''})"
            chain.append(Step(urn, r.name, r.type, added, t.finish[urn], why, waits[urn].get(before, "")))
        urn = before
    return tuple(reversed(chain))


def serialisation_warnings(records: list[Record], t: Timeline, waits: dict[str, dict[str, str]]) -> list[SerialisationWarning]:
    by_urn = {r.urn: r for r in records}
    found: list[SerialisationWarning] = []
    for r in records:
        deps = waits[r.urn]
        avoidable = {d for d, kind in deps.items() if kind == "depends_on" and not is_known_need(r.type, by_urn[d].type)}
        # A component's own depends_on delays nothing: its children do not inherit it.
        if avoidable and (r.custom or r.remote):
            needed = max((t.finish[d] for d in deps if d not in avoidable), default=0)
            worst = max(avoidable, key=lambda d: t.finish[d])
            # What the slow dependency itself adds; what it waited for, this resource may well need too.
            delay = max(0, min(t.finish[worst] - needed, t.finish[worst] - t.start[worst]))
            if r.type in CHARTS and by_urn[worst].type in CHARTS:
                found.append(
                    SerialisationWarning(
                        r.urn,
                        delay,
                        f"{r.name} ({r.type}) waits for {by_urn[worst].name} ({by_urn[worst].type}): charts and operators install "
                        "in parallel; let only the objects that need the other's CRDs or webhooks depend on it",
                    )
                )
            elif delay >= WARN_AFTER_SECONDS:
                found.append(
                    SerialisationWarning(
                        r.urn,
                        delay,
                        f"{r.name} ({r.type}) starts {delay} s later through depends_on on {by_urn[worst].name} ({by_urn[worst].type}), "
                        "which no input of it needs: drop the dependency or pass the input that needs it",
                    )
                )
        replicas = ordered_ready_replicas(r.type, r.inputs)
        if replicas > 1:
            found.append(
                SerialisationWarning(
                    r.urn,
                    (replicas - 1) * DURATIONS[r.type].seconds,
                    f"{r.name} (StatefulSet, {replicas} replicas) starts its pods one by one (podManagementPolicy OrderedReady): "
                    "set Parallel unless its pods bootstrap from ordinal 0",
                )
            )
    return sorted(found, key=lambda w: (-w.seconds, w.urn))


def deploy_estimate(records: list[Record]) -> DeployEstimate:
    waits = edges(records)
    t = timeline(records, waits)
    total = max(t.finish.values(), default=0)
    return DeployEstimate(total, critical_path(records, t, waits), tuple(serialisation_warnings(records, t, waits)))


# --- The first deploy, in order -------------------------------------------------------------------------------------
# Some waits end only through something outside the stack. Each is named here with the step that ends it; a wait
# nothing ends before `pulumi up` starts, nor the stack itself, is a manual step in the middle of the deploy.

PULL_THROUGH_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
NS_RECORD = "aws:route53/record:Record"
ONCE = ("install ", "register ")


@dataclass(frozen=True)
class OutsideWait:
    urn: str
    waits_for: str  # what outside the stack it needs
    ended_by: str  # the step before `pulumi up` that provides it, or "" when the stack provides it itself
    after_stack: str = ""  # another stack whose first `up` must come before this one's


@dataclass(frozen=True)
class FirstDeploy:
    steps: tuple[str, ...]  # the order, one line per step: what to do before each `pulumi up`, then the up
    problems: tuple[str, ...]  # manual steps in the middle, and stacks deployed before those they wait for


def _assumed_account(record: Record, by_urn: dict[str, Record]) -> str:
    """The account of the role a resource's provider assumes (a resource written into another stack's account)."""
    provider = by_urn.get(_provider_urn(record.provider))
    roles = provider.inputs.get("assumeRoles", []) if provider else []
    return roles[0].get("roleArn", "").split(":")[4] if roles else ""


def _is_delegation(record: Record, by_urn: dict[str, Record]) -> bool:
    """An NS record this stack writes into its parent's zone, through the role the parent's stack made for it."""
    return record.type == NS_RECORD and record.inputs.get("type") == "NS" and bool(_assumed_account(record, by_urn))


def outside_waits(records: list[Record], required_secrets: list[str], stack_of_account: dict[str, str]) -> list[OutsideWait]:
    by_urn = {r.urn: r for r in records}
    waits = edges(records)
    found = [
        OutsideWait("", f"secret config `insight:{key}`", f"pulumi config set --secret insight:{key} <value>") for key in required_secrets
    ]
    for r in records:
        upstream = [by_urn[u] for u in _upstream(r.urn, waits) if u != r.urn]
        if r.type == "eks:index:Cluster":
            found.append(OutsideWait(r.urn, "the AWS CLI on the runner: the kubeconfig runs `aws eks get-token`", "install the AWS CLI v2"))
        elif r.type == REGISTERED_DOMAIN:
            domain = r.inputs.get("domainName", "")
            found.append(
                OutsideWait(r.urn, f"{domain} registered with Route 53 Domains", f"register {domain} with Route 53 Domains (once)")
            )
        elif _is_delegation(r, by_urn):
            account = _assumed_account(r, by_urn)
            other = stack_of_account.get(account, f"the stack of account {account}")
            found.append(OutsideWait(r.urn, f"{other}'s zone and its delegation role for {r.inputs.get('name')}", "", after_stack=other))
        elif r.type == CERTIFICATE_VALIDATION:
            # ACM sees the validation records only once the parent points at the zone: the deploy must do that first.
            if not any(u.type == REGISTERED_DOMAIN or _is_delegation(u, by_urn) for u in upstream):
                found.append(
                    OutsideWait(r.urn, "its zone delegated by the parent zone, by hand, while ACM waits (75 min timeout)", "MANUAL")
                )
        elif r.type == PULL_THROUGH_RULE and not any(u.type == SECRET_VERSION for u in upstream):
            found.append(OutsideWait(r.urn, "a value in its credentials secret, put by hand (ECR reads it on creation)", "MANUAL"))
    return found


def first_deploy(order: list[str], waits_of: dict[str, list[OutsideWait]]) -> FirstDeploy:
    """The steps of the first deploy of `order`'s stacks, and what would stop one half-way."""
    steps: list[str] = []
    problems: list[str] = []
    done: set[str] = set()
    for stack in order:
        for wait in waits_of[stack]:
            if wait.ended_by == "MANUAL":
                problems.append(f"{stack}: {wait.urn} waits for {wait.waits_for}: a manual step in the middle of `pulumi up`")
            elif wait.after_stack and wait.after_stack not in done:
                problems.append(f"{stack}: {wait.urn} waits for {wait.waits_for}: deploy {wait.after_stack} first")
            elif wait.ended_by:
                # Tools and registrations are done once; secret config is set per stack.
                step = wait.ended_by if wait.ended_by.startswith(ONCE) else f"{wait.ended_by} -s {stack}"
                if step not in steps:
                    steps.append(step)
        steps.append(f"pulumi up -s {stack}")
        done.add(stack)
    return FirstDeploy(tuple(steps), tuple(problems))
