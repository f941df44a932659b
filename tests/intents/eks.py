"""Intents of the rules in policy/rules/eks.py (see tests/intents/__init__.py)."""

from typing import Any

from hypothesis import strategies as st

from settings.aws_catalog import SUPPORTED_KUBERNETES_VERSIONS
from settings.scheduling import POOL_LABEL, SPOT_TAINT_KEY

from ..test_policy_rules import res
from . import Case, Intents
from .network import ABSENT, USER_TAGS, inputs, is_world, world_pieces

EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP_TYPES = ["eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup"]
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KEY_ARN = "arn:aws:kms:ap-northeast-1:1:key/k"
# Booleans the provider accepts, for a bool field and for the launch template's string booleans ("" is unset there).
BOOLEANS = st.sampled_from([True, False, "true", "false", None, ABSENT])
STRING_BOOLEANS = st.sampled_from([True, False, "true", "false", "", None, ABSENT])


def cluster(kind: str, **values: Any) -> Any:
    """A cluster of either shape: the eks component takes the endpoint settings flat, EKS's cluster in vpcConfig."""
    endpoint = {k: values.pop(k) for k in ("endpointPublicAccess", "publicAccessCidrs") if k in values}
    if kind == EKS_CLUSTER:
        values["vpcConfig"] = inputs(subnetIds=["subnet-1"], endpointPrivateAccess=True, **endpoint)
    else:
        values.update(endpoint)
    return res(kind, inputs(**values), "cluster")


CLUSTER_KINDS = st.sampled_from([EKS_COMPONENT, EKS_CLUSTER])


# -- eks-control-plane-logs

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# EKS's log types are an enum of exact spellings: the provider refuses "Audit" or "API", which enable nothing.
MISSPELLED = ["API", "Audit", "controllermanager", "Scheduler", "audit "]


def control_plane_logs() -> st.SearchStrategy[Case]:
    """All five log types, each spelled as EKS does; repeating one changes nothing (a set), another case is not it."""
    every = st.permutations(LOG_TYPES).flatmap(
        lambda types: st.lists(st.sampled_from([*types, *MISSPELLED])).map(lambda extra: [*types, *extra])
    )
    some = st.lists(st.sampled_from(LOG_TYPES + MISSPELLED), max_size=7)
    logs = st.one_of(every, some, st.sampled_from([ABSENT, None, []]))

    def case(kind: str, types: Any) -> Case:
        present = set(types) if isinstance(types, list) else set()
        return Case([cluster(kind, version="1.34", enabledClusterLogTypes=types)], violates=not set(LOG_TYPES) <= present)

    return st.builds(case, CLUSTER_KINDS, logs)


# -- eks-secrets-encryption


def secrets_encryption() -> st.SearchStrategy[Case]:
    """Secrets are envelope-encrypted only with a KMS key named and `secrets` among the encrypted resources (EKS takes
    exactly that word); the component takes the key alone and encrypts secrets with it."""
    key = st.sampled_from([KEY_ARN, "", None, ABSENT])
    resources = st.sampled_from([["secrets"], [], ["Secrets"], ["configmaps"], ["secrets", "secrets"], ABSENT])

    def component(arn: Any) -> Case:
        return Case([cluster(EKS_COMPONENT, encryptionConfigKeyArn=arn)], violates=arn != KEY_ARN)

    def aws_cluster(arn: Any, encrypted: Any, config_absent: bool) -> Case:
        config = ABSENT if config_absent else inputs(provider=inputs(keyArn=arn), resources=encrypted)
        ok = not config_absent and arn == KEY_ARN and isinstance(encrypted, list) and "secrets" in encrypted
        return Case([cluster(EKS_CLUSTER, encryptionConfig=config)], violates=not ok)

    return st.one_of(st.builds(component, key), st.builds(aws_cluster, key, resources, st.booleans()))


# -- eks-endpoint-limited

# The world whole, cut in pieces, or missing a piece (ported from test_policy_properties.py), and narrow lists.
ENDPOINT_CIDRS = st.one_of(
    st.builds(world_pieces, st.just(4), st.integers(0, 4), st.booleans()),
    st.sampled_from([ABSENT, None, [], ["198.51.100.10/32"], ["203.0.113.0/24", "198.51.100.10/32"], ["0.0.0.0/0", "10.0.0.0/8"]]),
)


def endpoint_limited() -> st.SearchStrategy[Case]:
    """A public endpoint must list the CIDRs it admits and they must not be the world. EKS makes the endpoint public
    unless told otherwise, and a public endpoint with no list admits 0.0.0.0/0."""

    def case(kind: str, public: Any, cidrs: Any) -> Case:
        is_public = public not in (False, "false")
        admitted = cidrs if isinstance(cidrs, list) and cidrs else ["0.0.0.0/0"]
        return Case([cluster(kind, endpointPublicAccess=public, publicAccessCidrs=cidrs)], violates=is_public and is_world(admitted))

    return st.builds(case, CLUSTER_KINDS, BOOLEANS, ENDPOINT_CIDRS)


# -- eks-version-pinned


def version_pinned() -> st.SearchStrategy[Case]:
    """EKS picks its newest version when none is given (not pinned); it takes only "major.minor" of a version it offers,
    and the program is tested against SUPPORTED_KUBERNETES_VERSIONS (settings/aws_catalog.py)."""
    versions = st.sampled_from([*SUPPORTED_KUBERNETES_VERSIONS, "1.29", "1.40", "1.34.0", "v1.34", "", None, ABSENT])

    def case(kind: str, version: Any) -> Case:
        return Case([cluster(kind, version=version)], violates=version not in SUPPORTED_KUBERNETES_VERSIONS)

    return st.builds(case, CLUSTER_KINDS, versions)


# -- eks-imdsv2


def imdsv2() -> st.SearchStrategy[Case]:
    """Tokens required and a hop limit of 1 (the provider takes "1" for 1). Left out, the AMI decides: IMDSv1 on
    older AMIs, a hop limit of 2 on AL2023; EC2 spells the token setting in lower case only."""
    tokens = st.sampled_from(["required", "optional", None, ABSENT])
    hops = st.sampled_from([1, "1", 2, "2", 64, None, ABSENT])

    def case(options_absent: bool, token: Any, hop: Any, endpoint: Any) -> Case:
        options = ABSENT if options_absent else inputs(httpTokens=token, httpPutResponseHopLimit=hop, httpEndpoint=endpoint)
        template = res(LAUNCH_TEMPLATE, inputs(metadataOptions=options), "lt")
        return Case([template], violates=options_absent or token != "required" or hop not in (1, "1"))

    return st.builds(case, st.booleans(), tokens, hops, st.sampled_from(["enabled", ABSENT]))


# -- eks-encrypted-volumes


@st.composite
def block_device(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """(a mapping, whether it leaves an unencrypted volume): an EBS volume, encrypted however spelled or not (absent is
    the account's default, no promise), an instance store (no EBS setting), or a device the mapping removes."""
    device = draw(st.sampled_from(["/dev/xvda", "/dev/sda1", "/dev/xvdb"]))
    kind = draw(st.sampled_from(["ebs", "ebs", "instance-store", "no-device"]))
    if kind == "no-device":
        # The provider sends noDevice only when non-empty; EC2 then removes the AMI's device.
        no_device = draw(st.sampled_from(["", "true"]))
        return {"deviceName": device, "noDevice": no_device}, no_device == ""
    if kind == "instance-store":
        return {"deviceName": device, "virtualName": "ephemeral0"}, True
    encrypted = draw(STRING_BOOLEANS)
    return {"deviceName": device, "ebs": inputs(encrypted=encrypted, volumeType="gp3", kmsKeyId=KEY_ARN)}, encrypted not in (True, "true")


def encrypted_volumes() -> st.SearchStrategy[Case]:
    """Every volume the template launches is encrypted, the root one included: a template that does not map the root
    device (/dev/xvda on EKS's Linux AMIs, /dev/sda1 on Windows) leaves it to the AMI's unencrypted snapshot."""

    def case(mappings: list[tuple[dict[str, Any], bool]], absent: bool) -> Case:
        declared = ABSENT if absent and not mappings else [m for m, _ in mappings]
        root_mapped = any(m["deviceName"] in ("/dev/xvda", "/dev/sda1") and not m.get("noDevice") for m, _ in mappings)
        violates = not root_mapped or any(unencrypted for _, unencrypted in mappings)
        return Case([res(LAUNCH_TEMPLATE, inputs(blockDeviceMappings=declared), "lt")], violates)

    return st.builds(case, st.lists(block_device(), max_size=3, unique_by=lambda m: m[0]["deviceName"]), st.booleans())


# -- eks-no-public-ip


def no_public_ip() -> st.SearchStrategy[Case]:
    """No interface of the nodes' template asks for a public address, and the eks component is told not to give its
    nodes one (it does by default)."""

    def template(interfaces: list[Any]) -> Case:
        declared = [inputs(associatePublicIpAddress=v, deviceIndex=i) for i, v in enumerate(interfaces)]
        return Case([res(LAUNCH_TEMPLATE, {"networkInterfaces": declared}, "lt")], violates=any(v in (True, "true") for v in interfaces))

    def component(value: Any) -> Case:
        return Case([cluster(EKS_COMPONENT, nodeAssociatePublicIpAddress=value)], violates=value not in (False, "false"))

    def aws_cluster(value: Any) -> Case:
        return Case([cluster(EKS_CLUSTER, tags={"nodeAssociatePublicIpAddress": str(value)})], violates=False)

    return st.one_of(st.lists(STRING_BOOLEANS, max_size=3).map(template), BOOLEANS.map(component), BOOLEANS.map(aws_cluster))


# -- eks-no-ssh

REMOTE_ACCESS = st.sampled_from([ABSENT, None, {}, {"ec2SshKey": "ops"}, {"ec2SshKey": "ops", "sourceSecurityGroupIds": ["sg-1"]}])


def no_ssh() -> st.SearchStrategy[Case]:
    """No key pair on the template and no remote access on any node group; a tag naming a key is no key."""

    def case(key: Any, groups: list[tuple[str, Any]], tags: dict[str, str]) -> Case:
        template = res(LAUNCH_TEMPLATE, inputs(keyName=key, tags={**tags, "keyName": "ops"}), "lt")
        made = [res(kind, inputs(remoteAccess=access, capacityType="ON_DEMAND"), f"g{i}") for i, (kind, access) in enumerate(groups)]
        ssh = key not in ("", None, ABSENT) or any(isinstance(a, dict) and a.get("ec2SshKey") for _, a in groups)
        return Case([template, *made], violates=ssh)

    return st.builds(
        case,
        st.sampled_from(["ops", "", None, ABSENT]),
        st.lists(st.tuples(st.sampled_from(NODE_GROUP_TYPES), REMOTE_ACCESS), max_size=2),
        USER_TAGS,
    )


# -- eks-node-launch-template

LAUNCH_TEMPLATES = st.sampled_from(
    [{"id": "lt-1", "version": "1"}, {"name": "nodes"}, {"id": "lt-1"}, {"version": "$Latest"}, {"id": ""}, {}, None, ABSENT]
)


def node_launch_template() -> st.SearchStrategy[Case]:
    """Every node group launches from a template EKS can find (by id or name); without one, EKS's defaults apply."""

    def case(groups: list[tuple[str, Any]]) -> Case:
        made = [res(kind, inputs(launchTemplate=lt, capacityType="SPOT"), f"g{i}") for i, (kind, lt) in enumerate(groups)]
        found = [isinstance(lt, dict) and bool(lt.get("id") or lt.get("name")) for _, lt in groups]
        return Case(made, violates=not all(found))

    return st.lists(st.tuples(st.sampled_from(NODE_GROUP_TYPES), LAUNCH_TEMPLATES), min_size=1, max_size=2).map(case)


# -- eks-spot-pool

SPOT_TYPES = ["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge"]
# EKS spells taint effects NO_SCHEDULE / PREFER_NO_SCHEDULE (refusing Kubernetes' NoSchedule); only NO_SCHEDULE on the
# spot key keeps pods that do not tolerate spot (the stateful ones) off; a preference does not.
TAINTS = st.lists(
    st.builds(
        lambda key, effect: {"key": key, "value": "true", "effect": effect},
        st.sampled_from([SPOT_TAINT_KEY, "dedicated"]),
        st.sampled_from(["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NoSchedule"]),
    ),
    max_size=2,
)


def spot_pool() -> st.SearchStrategy[Case]:
    """A spot group needs 3 distinct instance types (repeats are one type; none given is EKS's single default) and the
    spot taint; its pool label says nothing. Groups of other capacity are not spot pools."""
    spot_taint = {"key": SPOT_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}

    def group(i: int, drawn: tuple[str, Any, Any, list[dict[str, str]], bool]) -> tuple[Any, bool]:
        kind, capacity, types, taints, labelled = drawn
        body = inputs(capacityType=capacity, instanceTypes=types, taints=taints, labels={POOL_LABEL: "spot"} if labelled else ABSENT)
        distinct = len(set(types)) if isinstance(types, list) else 0
        broken = capacity == "SPOT" and (distinct < 3 or spot_taint not in taints)
        return res(kind, body, f"g{i}"), broken

    groups = st.lists(
        st.tuples(
            st.sampled_from(NODE_GROUP_TYPES),
            st.sampled_from(["SPOT", "SPOT", "ON_DEMAND", ABSENT]),
            st.one_of(st.just(SPOT_TYPES[:3]), st.lists(st.sampled_from(SPOT_TYPES), max_size=5), st.just(ABSENT)),
            st.one_of(st.just([spot_taint]), TAINTS),
            st.booleans(),
        ),
        min_size=1,
        max_size=2,
    )

    def case(drawn: list[tuple[str, Any, Any, list[dict[str, str]], bool]]) -> Case:
        made = [group(i, g) for i, g in enumerate(drawn)]
        return Case([r for r, _ in made], violates=any(broken for _, broken in made))

    return groups.map(case)


# -- eks-pools-separate

CAPACITY = st.sampled_from(["SPOT", "ON_DEMAND", "SPOT", "ON_DEMAND", ABSENT, "spot", "CAPACITY_BLOCK"])


def pools_separate() -> st.SearchStrategy[Case]:
    """Each node group states SPOT or ON_DEMAND (EKS would make an unstated one on-demand, silently; it refuses "spot"),
    and each cluster has both an on-demand and a spot group of its own; a pool label is no capacity type."""

    def case(two_clusters: bool, groups: list[tuple[str, Any, int, bool]]) -> Case:
        clusters = [res(EKS_COMPONENT, {"version": "1.34"}, f"c{i}") for i in range(2 if two_clusters else 1)]
        made = []
        capacity_of: dict[int, set[Any]] = {i: set() for i in range(len(clusters))}
        for i, (kind, capacity, drawn_cluster, labelled) in enumerate(groups):
            of = drawn_cluster % len(clusters)
            labels = {POOL_LABEL: "spot" if labelled else "reserved"}
            made.append(res(kind, inputs(capacityType=capacity, labels=labels), f"g{i}", deps=(clusters[of].urn,)))
            capacity_of[of].add(capacity)
        untyped = any(capacity not in ("SPOT", "ON_DEMAND") for _, capacity, _, _ in groups)
        return Case([*clusters, *made], violates=untyped or any(not {"SPOT", "ON_DEMAND"} <= c for c in capacity_of.values()))

    group = st.tuples(st.sampled_from(NODE_GROUP_TYPES), CAPACITY, st.integers(0, 1), st.booleans())
    return st.builds(case, st.booleans(), st.lists(group, max_size=4))


INTENTS: Intents = {
    "eks-control-plane-logs": control_plane_logs(),
    "eks-secrets-encryption": secrets_encryption(),
    "eks-endpoint-limited": endpoint_limited(),
    "eks-version-pinned": version_pinned(),
    "eks-imdsv2": imdsv2(),
    "eks-encrypted-volumes": encrypted_volumes(),
    "eks-no-public-ip": no_public_ip(),
    "eks-no-ssh": no_ssh(),
    "eks-node-launch-template": node_launch_template(),
    "eks-spot-pool": spot_pool(),
    "eks-pools-separate": pools_separate(),
}
