"""EKS and its nodes: logged, encrypted, private, IMDSv2, no SSH, spot kept apart and tainted."""

from collections.abc import Iterator, Sequence

from .base import Registry, Resource, as_list, covers_everything, dig, of_type, truthy
from .program import SPOT_TAINT_KEY, SUPPORTED_KUBERNETES_VERSIONS

rules = Registry()

# The eks component (inputs seen offline and in previews) and the aws resources it creates.
EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
CLUSTERS = (EKS_COMPONENT, EKS_CLUSTER)
MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_GROUPS = (MANAGED_NODE_GROUP, NODE_GROUP)
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CONTROL_PLANE_LOGS = frozenset({"api", "audit", "authenticator", "controllerManager", "scheduler"})
MIN_SPOT_TYPES = 3
# The root device of EKS's Linux AMIs (AL2, AL2023, Bottlerocket) and of its Windows AMIs.
ROOT_DEVICES = ("/dev/xvda", "/dev/sda1")
# A hop limit of 1 keeps pods off the node role's credentials (they use IRSA).
IMDS_HOP_LIMIT = 1


def _endpoint(cluster: Resource) -> tuple[bool, list[str]]:
    """(public access on, allowed CIDRs) in either resource's shape; EKS defaults to a public endpoint."""
    if cluster.type == EKS_CLUSTER:
        return truthy(cluster.get("vpcConfig", "endpointPublicAccess", default=True)), as_list(
            cluster.get("vpcConfig", "publicAccessCidrs")
        )
    return truthy(cluster.get("endpointPublicAccess", default=True)), as_list(cluster.get("publicAccessCidrs"))


@rules.resource("eks-control-plane-logs", "Every control-plane log type goes to CloudWatch, audit above all.", CLUSTERS)
def control_plane_logs(cluster: Resource) -> Iterator[str]:
    absent = CONTROL_PLANE_LOGS - set(as_list(cluster.get("enabledClusterLogTypes")))
    if absent:
        yield f"enabledClusterLogTypes lacks {', '.join(sorted(absent))}"


@rules.resource("eks-secrets-encryption", "Kubernetes secrets are envelope-encrypted with our KMS key.", CLUSTERS)
def secrets_encryption(cluster: Resource) -> Iterator[str]:
    if cluster.type == EKS_CLUSTER:
        key = cluster.get("encryptionConfig", "provider", "keyArn")
        resources = as_list(cluster.get("encryptionConfig", "resources"))
        if not key or "secrets" not in resources:
            yield "encryptionConfig must encrypt 'secrets' with a KMS key"
    elif not cluster.get("encryptionConfigKeyArn"):
        yield "encryptionConfigKeyArn is not set"


@rules.resource("eks-endpoint-limited", "The API endpoint is private, or public only to listed CIDRs, never the world.", CLUSTERS)
def endpoint_limited(cluster: Resource) -> Iterator[str]:
    public, cidrs = _endpoint(cluster)
    if public and (not cidrs or covers_everything(cidrs)):
        yield f"public endpoint open to {cidrs or ['0.0.0.0/0 (default)']}"


@rules.resource("eks-version-pinned", "The Kubernetes version is pinned and one EKS still supports.", CLUSTERS)
def version_pinned(cluster: Resource) -> Iterator[str]:
    version = cluster.get("version")
    if version not in SUPPORTED_KUBERNETES_VERSIONS:
        yield f"version {version!r} is not pinned to a supported one ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)})"


@rules.resource("eks-imdsv2", "Nodes require IMDSv2 tokens with a hop limit of 1, so pods cannot take the node's role.", [LAUNCH_TEMPLATE])
def imdsv2(template: Resource) -> Iterator[str]:
    if template.get("metadataOptions", "httpTokens") != "required":
        yield "metadataOptions.httpTokens must be 'required'"
    # The provider takes the number or its digits ("1"); absent, the AMI's default applies (2 on AL2023).
    if str(template.get("metadataOptions", "httpPutResponseHopLimit")) != str(IMDS_HOP_LIMIT):
        yield f"metadataOptions.httpPutResponseHopLimit must be {IMDS_HOP_LIMIT}"


@rules.resource("eks-encrypted-volumes", "Node volumes are encrypted at rest.", [LAUNCH_TEMPLATE])
def encrypted_volumes(template: Resource) -> Iterator[str]:
    # A mapping with noDevice removes the AMI's device: no volume to encrypt.
    mappings = [m for m in as_list(template.get("blockDeviceMappings")) if not dig(m, "noDevice")]
    if not any(dig(m, "deviceName") in ROOT_DEVICES for m in mappings):
        yield f"no mapping of the root device ({', '.join(ROOT_DEVICES)}): the AMI's root volume settings would apply unencrypted"
    for m in mappings:
        if not truthy(dig(m, "ebs", "encrypted")):
            yield f"volume {dig(m, 'deviceName')} is not encrypted"


@rules.resource("eks-no-public-ip", "Nodes never get public addresses.", [LAUNCH_TEMPLATE, *CLUSTERS])
def no_public_ip(r: Resource) -> Iterator[str]:
    if r.type == LAUNCH_TEMPLATE:
        if any(truthy(dig(n, "associatePublicIpAddress")) for n in as_list(r.get("networkInterfaces"))):
            yield "a network interface associates a public IP"
    elif r.type == EKS_COMPONENT and truthy(r.get("nodeAssociatePublicIpAddress", default=True)):
        yield "nodeAssociatePublicIpAddress must be false"


@rules.resource("eks-no-ssh", "Nodes have no SSH key or remote access; shell access goes through SSM.", [LAUNCH_TEMPLATE, *NODE_GROUPS])
def no_ssh(r: Resource) -> Iterator[str]:
    if r.get("keyName"):
        yield f"key pair {r.get('keyName')!r} enables SSH"
    if r.get("remoteAccess"):
        yield "remoteAccess enables SSH"


@rules.resource(
    "eks-node-launch-template", "Node groups launch from our template, which carries IMDSv2, encryption and no SSH.", NODE_GROUPS
)
def node_launch_template(group: Resource) -> Iterator[str]:
    # EKS finds the template by id or name; without either there is none.
    if not (group.get("launchTemplate", "id") or group.get("launchTemplate", "name")):
        yield "no launchTemplate: the EKS defaults allow IMDSv1 from pods"


@rules.resource(
    "eks-spot-pool", "Spot survives reclaims only with 3+ interchangeable types, and its taint keeps stateful pods off.", NODE_GROUPS
)
def spot_pool(group: Resource) -> Iterator[str]:
    if group.get("capacityType") != "SPOT":
        return
    types = set(as_list(group.get("instanceTypes")))
    if len(types) < MIN_SPOT_TYPES:
        yield f"spot group has {len(types)} instance type(s); needs {MIN_SPOT_TYPES}"
    # The spot taint is the one stateful pods never tolerate; EKS spells its effect NO_SCHEDULE (not NoSchedule).
    if not any(dig(t, "key") == SPOT_TAINT_KEY and dig(t, "effect") == "NO_SCHEDULE" for t in as_list(group.get("taints"))):
        yield f"spot group has no NO_SCHEDULE taint {SPOT_TAINT_KEY}"


@rules.stack("eks-pools-separate", "Spot and on-demand capacity live in separate, explicitly typed node groups.")
def pools_separate(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    groups = of_type(resources, *NODE_GROUPS)
    for group in groups:
        if group.get("capacityType") not in ("SPOT", "ON_DEMAND"):
            yield group, "capacityType must be set to SPOT or ON_DEMAND"
    for cluster in of_type(resources, EKS_COMPONENT):
        capacity = {g.get("capacityType") for g in groups if g.depends_on(cluster)}
        if not {"SPOT", "ON_DEMAND"} <= capacity:
            yield cluster, f"needs an ON_DEMAND group and a separate SPOT group, has {sorted(map(str, capacity))}"
