"""The EKS cluster: encrypted, logged, IRSA-ready, with a reserved (on-demand) pool and a spot pool."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.handle import kubernetes_provider_options
from components.outputs import register_declared
from settings.aws_catalog import architecture
from settings.cluster import ClusterConfig, NodePoolsConfig
from settings.scheduling import OVERFLOW_POOL, POOL_LABEL, SPOT_TAINT_KEY

from .iam import account_administers_key, assume_role_policy, irsa_role
from .tagging import component_tags

CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# Pods get AWS credentials through IRSA only: a hop limit of 1 keeps them off the node's role.
IMDS_HOP_LIMIT = 1
NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",  # shell access through SSM, never SSH
]
# EKS writes control-plane logs here; declared first, or EKS creates it on its own with no retention.
CONTROL_PLANE_LOG_GROUP = "/aws/eks/{name}/cluster"
# The AL2023 EKS AMI release AWS recommends for a Kubernetes minor and architecture (public SSM parameter).
AMI_RELEASE_PARAMETER = "/aws/service/eks/optimized-ami/{version}/amazon-linux-2023/{arch}/standard/recommended/release_version"
ADMIN_POLICY_KEY = "cluster-admin"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    config: ClusterConfig
    node_pools: NodePoolsConfig
    account_id: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    availability_zones: list[str]
    # The stack's cost-allocation tags: instances and volumes the node groups launch do not get the provider's.
    stack_tags: dict[str, str]
    log_retention_days: int
    protect: bool


def ami_type(instance_type: str) -> str:
    return "AL2023_ARM_64_STANDARD" if architecture(instance_type) == "arm64" else "AL2023_x86_64_STANDARD"


def ami_release_parameter(kubernetes_version: str, instance_type: str) -> str:
    return AMI_RELEASE_PARAMETER.format(version=kubernetes_version, arch=architecture(instance_type))


def access_entry_key(role_arn: str) -> str:
    """A stable key per admin role, whatever its place in the list: `<account>-<role name>` (unique per account)."""
    account, role = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    return f"{account}-{role}".lower()


ACCESS_TYPES = ("aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")


def access_entries_transform(
    cluster: str, role_arns: list[str]
) -> Callable[[pulumi.ResourceTransformArgs], pulumi.ResourceTransformResult | None]:
    """Access entries (children of pulumi-eks's cluster, named `<cluster>-<key>` and `<cluster>-<key>-<policy>`) are
    not protected with the cluster: removing an admin must not be refused. Entries first keyed by list position
    (`admin-<i>`) move to their stable key through an alias, so the move is no change for the engine."""
    moved: dict[str, str] = {}
    for i, arn in enumerate(role_arns):
        new, old = f"{cluster}-{access_entry_key(arn)}", f"{cluster}-admin-{i}"
        moved |= {new: old, f"{new}-{ADMIN_POLICY_KEY}": f"{old}-{ADMIN_POLICY_KEY}"}

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ not in ACCESS_TYPES:
            return None
        aliases = [pulumi.Alias(name=moved[args.name])] if args.name in moved else []
        return pulumi.ResourceTransformResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=False, aliases=aliases))
        )

    return transform


def key_policy(account_id: str) -> str:
    """The account administers the key through IAM; nothing else is granted here."""
    return json.dumps({"Version": "2012-10-17", "Statement": [account_administers_key(account_id)]})


def node_disk_key_policy(account_id: str) -> str:
    """The account administers the key; EC2 Auto Scaling's service-linked role, which launches the node groups'
    instances, may use it and attach it to their volumes (the grants AWS documents for encrypted volumes)."""
    auto_scaling = {"AWS": f"arn:aws:iam::{account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"}
    use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                account_administers_key(account_id),
                {"Sid": "AutoScalingUsesTheKey", "Effect": "Allow", "Principal": auto_scaling, "Action": use, "Resource": "*"},
                {
                    "Sid": "AutoScalingAttachesVolumes",
                    "Effect": "Allow",
                    "Principal": auto_scaling,
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
                },
            ],
        }
    )


# What the EBS CSI driver's role needs on a customer key to create, attach and delete volumes encrypted with it: EC2
# makes the grants (CreateGrant with kms:GrantIsForAWSResource true), the driver only uses the key through EC2.
# kubernetes-sigs/aws-ebs-csi-driver v1.64.0 (6689789f) docs/install.md (blob 35bf5f6d) "Encrypted EBS Volumes via
# KMS" lists Decrypt, GenerateDataKeyWithoutPlaintext and CreateGrant; the EKS user guide's csi-iam-role page states
# the full set below, grants limited to AWS resources. The add-on's version is not pinned (README Known limits).
VOLUME_KEY_GRANTS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
VOLUME_KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
GRANT_FOR_AWS_RESOURCE = {"Bool": {"kms:GrantIsForAWSResource": True}}


def volume_key_statements(key: str) -> list[dict[str, Any]]:
    """The EBS CSI driver's use of the data-volume key (`key`: its ARN in an IAM policy, "*" in the key's own)."""
    return [
        {"Sid": "EbsCsiLetsEc2GrantTheKey", "Effect": "Allow", "Action": VOLUME_KEY_GRANTS, "Resource": key,
         "Condition": GRANT_FOR_AWS_RESOURCE},
        {"Sid": "EbsCsiUsesTheKey", "Effect": "Allow", "Action": VOLUME_KEY_USE, "Resource": key},
    ]  # fmt: skip


def volume_key_policy(account_id: str, driver_role_arn: str) -> str:
    """The account administers the key; the EBS CSI driver's role, named, may use it (and needs no IAM policy for it)."""
    driver = {"AWS": driver_role_arn}
    statements = [{**s, "Principal": driver} for s in volume_key_statements("*")]
    return json.dumps({"Version": "2012-10-17", "Statement": [account_administers_key(account_id), *statements]})


def volume_key_access(key_arn: str) -> str:
    """The driver role's IAM policy: that one key, nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": volume_key_statements(key_arn)})


class Cluster(pulumi.ComponentResource):
    name: str
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    volume_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:cluster:Cluster", name, None, opts)
        cfg = args.config
        tags = component_tags("cluster")
        child = pulumi.ResourceOptions(parent=self)

        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in {args.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(args.account_id),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{args.name}-secrets", target_key_id=key.key_id, opts=child)

        control_plane_logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=CONTROL_PLANE_LOG_GROUP.format(name=args.name),
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        # EKS makes the creator (the deploying identity) cluster admin on its own; an access entry for it as well
        # fails with ResourceInUseException. settings/cluster.py refuses a deployerRoleArn among adminRoleArns.
        access_entries = {
            access_entry_key(arn): eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    ADMIN_POLICY_KEY: eks.AccessPolicyAssociationArgs(
                        policy_arn=CLUSTER_ADMIN_POLICY,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            for arn in cfg.admin_role_arns
        }
        self.cluster = eks.Cluster(
            name,
            name=args.name,
            version=cfg.kubernetes_version,
            vpc_id=args.vpc_id,
            public_subnet_ids=args.public_subnet_ids,
            private_subnet_ids=args.private_subnet_ids,
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=cfg.endpoint_public_access,
            public_access_cidrs=[str(c) for c in cfg.public_access_cidrs] if cfg.endpoint_public_access else None,
            kubernetes_service_ip_address_range=str(cfg.service_cidr),
            encryption_config_key_arn=key.arn,
            enabled_cluster_log_types=CONTROL_PLANE_LOG_TYPES,
            create_oidc_provider=True,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=access_entries,
            skip_default_node_group=True,
            # Network policies are enforced by the VPC CNI: the platform's default-deny relies on it.
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
            # CoreDNS needs nodes to turn healthy, so it is installed below, after the node groups.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            # Nodes use the security group EKS creates for the cluster; pulumi-eks's own two would go unused.
            skip_default_security_groups=True,
            deletion_protection=args.protect,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[control_plane_logs],
                transforms=[access_entries_transform(name, cfg.admin_role_arns)],
            ),
        )

        # People reach the API through the VPN on the private endpoint; the public one admits only CI.
        for cidr in cfg.vpn_cidrs:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-vpn-{cidr.with_prefixlen.replace('/', '-')}",
                security_group_id=self.cluster.cluster_security_group_id,
                cidr_ipv4=str(cidr),
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="VPN users to the private Kubernetes API endpoint",
                tags=tags,
                opts=child,
            )

        node_role = aws.iam.Role(f"{name}-node", assume_role_policy=assume_role_policy("ec2.amazonaws.com"), tags=tags, opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{i}", role=node_role.name, policy_arn=arn, opts=child)
            for i, arn in enumerate(NODE_POLICIES)
        ]
        pools = args.node_pools
        self._disk_key = aws.kms.Key(
            f"{name}-node-disks",
            description=f"Root volumes of the {args.name} nodes",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=node_disk_key_policy(args.account_id),
            tags=tags,
            # Deleting it would leave every node volume unreadable: kept like the secrets key.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        spot_taint = [aws.eks.NodeGroupTaintArgs(key=SPOT_TAINT_KEY, value="true", effect="NO_SCHEDULE")]

        def node_group(
            pool: str, capacity: str, types: list[str], size: tuple[int, int, int], disk_gib: int, *, spot_tolerant: bool
        ) -> eks.ManagedNodeGroup:
            """One pool: its label, its launch template (IMDSv2, encrypted disk, stack tags), the cluster's version."""
            return eks.ManagedNodeGroup(
                f"{name}-{pool}",
                cluster=self.cluster,
                node_role=node_role,
                capacity_type=capacity,
                instance_types=types,
                ami_type=ami_type(types[0]),
                version=cfg.kubernetes_version,
                release_version=self._ami_release(cfg.kubernetes_version, types[0]),
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=size[0], desired_size=size[1], max_size=size[2]),
                # Spot-tolerant pools belong to the cluster-autoscaler: it owns their size from here on.
                ignore_scaling_changes=True if spot_tolerant else None,
                subnet_ids=args.private_subnet_ids,
                labels={POOL_LABEL: pool},
                # Only pods that tolerate the spot taint land on spot (and overflow) nodes.
                taints=spot_taint if spot_tolerant else None,
                launch_template=self._launch_template(f"{name}-{pool}", disk_gib, {**args.stack_tags, **tags, "pool": pool}),
                tags={**tags, "pool": pool},
                opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
            )

        reserved, spot = pools.reserved, pools.spot
        reserved_type = reserved.reservation.instance_type
        self.reserved = node_group(
            "reserved", "ON_DEMAND", [reserved_type], (reserved.min_size, reserved.desired_size, reserved.max_size), reserved.disk_gib,
            spot_tolerant=False,
        )  # fmt: skip
        if reserved.capacity_reservation:
            self._capacity_reservations(name, reserved_type, reserved.reservation.count, args.availability_zones, tags)
        self.spot = node_group(
            "spot", "SPOT", spot.instance_types, (spot.min_size, spot.desired_size, spot.max_size), spot.disk_gib, spot_tolerant=True
        )
        # A spot drought: the autoscaler falls back to on-demand nodes of the same types (EXPANDER_PRIORITIES in
        # components/k8s/platform/controllers.py). Same taint as spot, so only spot-tolerant pods land here; it rests
        # at zero nodes (nothing to pay) and grows at most to the spot pool's size. Nothing waits for it.
        self.overflow = node_group(
            OVERFLOW_POOL, "ON_DEMAND", spot.instance_types, (0, 0, spot.max_size), spot.disk_gib, spot_tolerant=True
        )
        node_groups = [self.reserved, self.spot]

        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_provider_url = self.cluster.oidc_provider_url
        ebs_csi_role = irsa_role(
            f"{name}-ebs-csi",
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_provider_url=self.oidc_provider_url,
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            managed_policy_arns=[EBS_CSI_POLICY],
            tags=tags,
            parent=self,
        )
        self.volume_key_arn = self._volume_key(name, args, ebs_csi_role, tags)
        # Neither add-on tolerates the spot taint: they wait for the reserved pool only.
        addon_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, self.reserved])
        aws.eks.Addon(
            f"{name}-coredns",
            cluster_name=args.name,
            addon_name="coredns",
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=addon_opts,
        )
        aws.eks.Addon(
            f"{name}-ebs-csi",
            cluster_name=args.name,
            addon_name="aws-ebs-csi-driver",
            service_account_role_arn=ebs_csi_role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=addon_opts,
        )

        self.name = args.name
        # Nodes pull images with this role: the registry grants it the pull-through cache.
        self.node_role_name = node_role.name
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        # Every Kubernetes object goes through this provider: the Kubernetes layer starts once nodes exist, so no
        # rollout's await runs down while the node groups are still launching. CoreDNS and the EBS CSI driver come up
        # in the first minute or two of those awaits (volume claims wait for the driver: costing/deploy.py).
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            **kubernetes_provider_options(args.name, self.kubeconfig),
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups),
        )
        register_declared(self)

    def _volume_key(self, name: str, args: ClusterArgs, driver_role: aws.iam.Role, tags: dict[str, str]) -> pulumi.Output[str]:
        """The customer key of the data and scratch volumes (not the node-disk key: those disks are disposable and
        Auto Scaling's, these hold customer data, are retained beyond their claims, and only the driver uses the key).

        The key policy names the driver's role, so KMS admits it as soon as the key exists. The role comes first:
        KMS refuses a policy naming a principal it does not know yet, and the provider retries CreateKey while IAM
        propagates (terraform-provider-aws internal/service/kms/key.go, waitIAMPropagation). The role's IAM policy
        grants the same, on this key only."""
        key = aws.kms.Key(
            f"{name}-data-volumes",
            description=f"Data and scratch volumes of the {args.name} cluster (EBS CSI driver)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=driver_role.arn.apply(lambda role: volume_key_policy(args.account_id, role)),
            tags=tags,
            # Retained volumes outlive the stack: their key must too.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        aws.kms.Alias(
            f"{name}-data-volumes",
            name=f"alias/{args.name}-data-volumes",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        access = aws.iam.Policy(
            f"{name}-ebs-csi-volume-key",
            policy=key.arn.apply(volume_key_access),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=driver_role),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi-volume-key", role=driver_role.name, policy_arn=access.arn, opts=pulumi.ResourceOptions(parent=driver_role)
        )
        return key.arn

    def _ami_release(self, kubernetes_version: str, instance_type: str) -> pulumi.Output[str]:
        """A custom launch template pins nothing: without a version and release a group stays on its first ones.

        The release is read on every `up`, so a new AMI rolls the nodes (respecting PDBs) at the next deploy.
        """
        release = aws.ssm.get_parameter_output(
            name=ami_release_parameter(kubernetes_version, instance_type), opts=pulumi.InvokeOutputOptions(parent=self)
        )
        # A String parameter: `insecure_value` is its plain value (`value` is always marked sensitive).
        return release.insecure_value

    def _launch_template(self, name: str, disk_gib: int, tags: dict[str, str]) -> aws.eks.NodeGroupLaunchTemplateArgs:
        """IMDSv2 only, gp3 root volume encrypted with the node-disk key, no key pair (no SSH), no public address."""
        template = aws.ec2.LaunchTemplate(
            name,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=IMDS_HOP_LIMIT
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=disk_gib,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=self._disk_key.arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            # Instances and volumes launched by the node group's ASG do not inherit provider tags.
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**tags, "Name": name})
                for kind in ("instance", "volume")
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str))

    def _capacity_reservations(self, name: str, instance_type: str, count: int, azs: list[str], tags: dict[str, str]) -> None:
        for az, per_az in zip(azs, spread(count, len(azs)), strict=False):
            if per_az:
                aws.ec2.CapacityReservation(
                    f"{name}-reserved-{az}",
                    instance_type=instance_type,
                    instance_platform="Linux/UNIX",
                    availability_zone=az,
                    instance_count=per_az,
                    instance_match_criteria="open",
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self),
                )


def spread(count: int, buckets: int) -> list[int]:
    """Split `count` as evenly as possible: 7 over 3 is [3, 2, 2]."""
    return [count // buckets + (1 if i < count % buckets else 0) for i in range(buckets)]
