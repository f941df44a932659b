"""The EKS cluster and its pools (reserved, spot, on-demand overflow) in each stack."""

import json

import pulumi
import pytest

from components.aws.cluster import CONTROL_PLANE_LOG_TYPES, access_entries_transform, spread
from offline.runner import run_stack
from settings.aws_catalog import INSTANCE_TYPES
from settings.scheduling import OVERFLOW_POOL, POOL_LABEL, SPOT_TAINT_KEY

from .conftest import declared, raw_sections

POOLS = {  # stack: (reserved type, reserved size, spot min/desired/max)
    "test": ("m6i.xlarge", 2, (1, 2, 6)),
    "staging": ("m6i.xlarge", 3, (2, 3, 9)),
    "prod": ("m6i.2xlarge", 3, (3, 6, 18)),
}


def pools_by_label(run):
    groups = {g.inputs["labels"][POOL_LABEL]: g for g in run.of_type("eks:index:ManagedNodeGroup")}
    assert set(groups) == {"reserved", "spot", OVERFLOW_POOL}
    return groups


def node_groups(run):
    groups = pools_by_label(run)
    assert (groups["reserved"].inputs["capacityType"], groups["spot"].inputs["capacityType"]) == ("ON_DEMAND", "SPOT")
    return groups["reserved"], groups["spot"]


def test_reserved_pool_mirrors_the_reservation(run):
    reserved, _ = node_groups(run)
    instance_type, size, _ = POOLS[run.stack]
    assert reserved.inputs["instanceTypes"] == [instance_type]
    assert reserved.inputs["scalingConfig"] == {"minSize": size, "desiredSize": size, "maxSize": size}
    assert reserved.inputs["labels"] == {POOL_LABEL: "reserved"}
    assert "taints" not in reserved.inputs


def test_spot_pool_is_tainted_interchangeable_and_autoscaled(run):
    _, spot = node_groups(run)
    types = spot.inputs["instanceTypes"]
    assert len(set(types)) >= 3
    assert len({INSTANCE_TYPES[t] for t in types}) == 1
    assert spot.inputs["taints"] == [{"key": SPOT_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]
    assert spot.inputs["labels"] == {POOL_LABEL: "spot"}
    assert spot.inputs["ignoreScalingChanges"] is True
    low, desired, high = POOLS[run.stack][2]
    assert spot.inputs["scalingConfig"] == {"minSize": low, "desiredSize": desired, "maxSize": high}


def test_spot_pods_overflow_to_on_demand_nodes_that_rest_at_zero(run):
    """A spot drought: the autoscaler grows an on-demand group of spot's types, which only spot-tolerant pods may use."""
    _, spot = node_groups(run)
    overflow = pools_by_label(run)[OVERFLOW_POOL]
    assert overflow.inputs["capacityType"] == "ON_DEMAND"
    assert overflow.inputs["instanceTypes"] == spot.inputs["instanceTypes"]
    assert overflow.inputs["taints"] == spot.inputs["taints"]
    assert overflow.inputs["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": POOLS[run.stack][2][2]}
    assert overflow.inputs["ignoreScalingChanges"] is True
    # The autoscaler tries it after spot and before the (fixed) reserved pool: higher number wins.
    from components.k8s.platform.controllers import EXPANDER_PRIORITIES

    rank = {pattern: weight for weight, patterns in EXPANDER_PRIORITIES.items() for pattern in patterns}
    assert rank[".*spot.*"] > rank[f".*{OVERFLOW_POOL}.*"] > rank[".*reserved.*"]


def test_nodes_only_in_private_subnets(run):
    private = {s.urn.rsplit("::", 1)[1] for s in run.of_type("aws:ec2/subnet:Subnet") if "private" in s.name}
    for group in pools_by_label(run).values():
        subnet_deps = {d.rsplit("::", 1)[1] for d in group.dependencies if "aws:ec2/subnet:Subnet" in d}
        assert subnet_deps == private
    cluster = run.one("eks:index:Cluster")
    assert cluster.inputs["nodeAssociatePublicIpAddress"] is False


def test_launch_templates_require_imdsv2_encrypted_gp3_and_no_ssh(run):
    templates = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 3
    for lt in templates:
        assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
        assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
        assert (ebs["volumeType"], ebs["encrypted"]) == ("gp3", "true")
        assert "keyName" not in lt.inputs
        assert "networkInterfaces" not in lt.inputs
    for group in node_groups(run):
        assert "remoteAccess" not in group.inputs
        assert "launchTemplate" in group.inputs


def test_endpoint_is_private_with_limited_public_access(run):
    cluster = run.one("eks:index:Cluster").inputs
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"]
    assert "0.0.0.0/0" not in cluster["publicAccessCidrs"]
    if run.stack == "prod":
        assert cluster["publicAccessCidrs"] == ["198.51.100.10/32"]


def test_secrets_encrypted_with_rotating_key_and_all_logs_on(run):
    key = run.one("aws:kms/key:Key", "cluster-secrets")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    cluster = run.one("eks:index:Cluster")
    assert key.urn in cluster.dependencies
    assert cluster.inputs["encryptionConfigKeyArn"].startswith("arn:aws:kms:")
    assert sorted(cluster.inputs["enabledClusterLogTypes"]) == sorted(CONTROL_PLANE_LOG_TYPES)
    assert json.loads(key.inputs["policy"])["Statement"][0]["Principal"]["AWS"].endswith(":root")


def test_cluster_identity_and_addons(run):
    cluster = run.one("eks:index:Cluster").inputs
    assert cluster["name"] == f"insight-{run.stack}"
    assert cluster["version"] == "1.34"
    assert cluster["authenticationMode"] == "API"
    assert cluster["createOidcProvider"] is True
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["vpcCniOptions"]["enableNetworkPolicy"] is True
    assert all(e["principalArn"].startswith("arn:aws:iam::") for e in cluster["accessEntries"].values())
    addons = {a.inputs["addonName"]: a for a in run.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"coredns", "aws-ebs-csi-driver"}
    ebs_role = run.one("aws:iam/role:Role", "cluster-ebs-csi")
    trust = json.loads(ebs_role.inputs["assumeRolePolicy"])["Statement"][0]
    conditions = trust["Condition"]["StringEquals"]
    assert any(v == "system:serviceaccount:kube-system:ebs-csi-controller-sa" for v in conditions.values())
    assert any(v == "sts.amazonaws.com" for v in conditions.values())
    assert ebs_role.urn in addons["aws-ebs-csi-driver"].dependencies


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_irreplaceable_resources_protected_in_staging_and_prod(stack):
    run = declared(stack)
    protected = stack != "test"
    assert run.one("eks:index:Cluster").protect is protected
    key = run.one("aws:kms/key:Key", "cluster-secrets")
    assert (key.protect, key.retain_on_delete) == (protected, protected)
    assert run.one("eks:index:Cluster").inputs.get("deletionProtection", False) is protected


def test_kubernetes_provider_uses_the_cluster_kubeconfig_as_a_secret(run):
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert run.outputs["kubeconfig"] == "[secret]"


def test_spread_over_azs():
    assert spread(7, 3) == [3, 2, 2]
    assert spread(3, 3) == [1, 1, 1]
    assert sum(spread(10, 4)) == 10


def test_control_plane_log_group_is_declared_with_retention_before_the_cluster(run):
    [group] = [g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs.get("name", "").startswith("/aws/eks/")]
    [cluster] = run.of_type("eks:index:Cluster")
    assert group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    assert group.inputs["retentionInDays"] == run.settings.cluster.log_retention_days
    assert group.urn in cluster.dependencies


def test_node_groups_follow_the_cluster_version_and_the_recommended_ami(run):
    for group in run.of_type("eks:index:ManagedNodeGroup"):
        assert group.inputs["version"] == run.settings.cluster.kubernetes_version
        assert group.inputs["releaseVersion"].startswith(f"{run.settings.cluster.kubernetes_version}.")


def test_ami_release_parameter_follows_version_and_architecture():
    from components.aws.cluster import ami_release_parameter

    assert ami_release_parameter("1.34", "m6g.xlarge").endswith("/1.34/amazon-linux-2023/arm64/standard/recommended/release_version")
    assert "/x86_64/" in ami_release_parameter("1.33", "m6i.xlarge")


def test_instances_and_volumes_carry_the_stack_cost_tags(run):
    from components.aws.tagging import stack_tags

    for template in run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        specs = {spec["resourceType"]: spec["tags"] for spec in template.inputs["tagSpecifications"]}
        assert set(specs) == {"instance", "volume"}
        for tags in specs.values():
            assert stack_tags(run.settings).items() <= tags.items() and tags["pool"] in ("reserved", "spot", OVERFLOW_POOL)


def test_no_unused_pulumi_eks_security_groups(run):
    [cluster] = run.of_type("eks:index:Cluster")
    assert cluster.inputs["skipDefaultSecurityGroups"] is True


def test_the_deployer_is_never_also_an_admin_entry():
    from tests.test_config_errors import problems_for

    problems = problems_for("prod", lambda s: s["cluster"]["adminRoleArns"].append(s["cluster"]["deployerRoleArn"]))
    assert problems == [
        "Pulumi.prod.yaml: insight:cluster.adminRoleArns = 'arn:aws:iam::333333333333:role/insight-deployer': is "
        "cluster.deployerRoleArn: EKS already makes the creator cluster admin, and a second access entry for it fails the "
        "first deploy (ResourceInUseException); remove it here"
    ]


ADMINS = ["arn:aws:iam::111111111111:role/platform-admin", "arn:aws:iam::222222222222:role/path/Break-Glass"]


def access_entry_keys(admins: list[str]) -> list[str]:
    section = raw_sections("test")["cluster"] | {"adminRoleArns": admins}
    cluster = run_stack("test", overrides={"insight:cluster": section}).one("eks:index:Cluster")
    return sorted(cluster.inputs["accessEntries"])


def test_access_entries_are_keyed_by_role_not_by_position():
    """Reordering or removing an admin keeps every other entry where it is (planted fault: keys by list position)."""
    both = access_entry_keys(ADMINS)
    assert both == ["111111111111-platform-admin", "222222222222-break-glass"]
    assert access_entry_keys(ADMINS[::-1]) == both
    assert access_entry_keys(ADMINS[1:]) == both[1:]


def transformed(type_: str, name: str):
    transform = access_entries_transform("cluster", ADMINS)
    return transform(pulumi.ResourceTransformArgs(True, type_, name, {}, pulumi.ResourceOptions(protect=True)))


def test_access_entries_move_from_position_keys_by_alias_and_are_not_protected():
    entry = transformed("aws:eks/accessEntry:AccessEntry", "cluster-222222222222-break-glass")
    assert entry is not None
    assert entry.opts.protect is False  # the cluster's protect does not make removing an admin impossible
    assert [a.name for a in entry.opts.aliases or []] == ["cluster-admin-1"]  # type: ignore[union-attr]
    policy = transformed("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "cluster-222222222222-break-glass-cluster-admin")
    assert policy is not None
    assert [a.name for a in policy.opts.aliases or []] == ["cluster-admin-1-cluster-admin"]  # type: ignore[union-attr]
    assert transformed("aws:eks/cluster:Cluster", "cluster-eksCluster") is None  # the cluster itself keeps its protection


def test_kubernetes_layer_starts_once_both_node_groups_exist(run):
    """Every Kubernetes object goes through the provider: it waits for the nodes (planted fault: kubeconfig only).

    Not for the overflow group: it has no node until a spot drought."""
    provider = run.one("pulumi:providers:kubernetes")
    assert {g.urn for g in node_groups(run)} <= set(provider.dependencies)
    assert pools_by_label(run)[OVERFLOW_POOL].urn not in provider.dependencies


def test_add_ons_wait_for_the_reserved_pool_only(run):
    """CoreDNS and the EBS CSI controller tolerate no spot taint: waiting for the spot group only delays them."""
    reserved, spot = node_groups(run)
    for addon in run.of_type("aws:eks/addon:Addon"):
        assert reserved.urn in addon.dependencies, addon.name
        assert spot.urn not in addon.dependencies, addon.name


def test_vpn_ranges_reach_the_private_api_endpoint_on_the_cluster_security_group():
    sections = raw_sections("prod")
    sections["cluster"]["vpnCidrs"] = ["10.200.0.0/16"]
    run = run_stack("prod", overrides={"insight:cluster": sections["cluster"]})
    (rule,) = [r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-vpn-" in r.name]
    cluster = run.one("eks:index:Cluster")
    assert cluster.inputs["endpointPrivateAccess"] is True
    assert (rule.inputs["cidrIpv4"], rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "10.200.0.0/16",
        "tcp",
        443,
        443,
    )
    # The group EKS made for the cluster (pulumi-eks' own are skipped), which the private endpoint's ENIs use.
    assert cluster.urn in rule.property_dependencies["securityGroupId"] and rule.inputs["securityGroupId"].startswith("sg-")
    assert not [r for r in declared("prod").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-vpn-" in r.name]


def test_node_disks_use_a_customer_key_that_auto_scaling_may_use(run):
    key = run.one("aws:kms/key:Key", "cluster-node-disks")
    assert key.protect is key.retain_on_delete is (run.stack != "test")  # losing it makes every node volume unreadable
    for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["kmsKeyId"].startswith(f"arn:aws:kms:{run.settings.region}:")
        assert key.urn in lt.property_dependencies["blockDeviceMappings"]  # this key's ARN, not another's
    statements = {st["Sid"]: st for st in json.loads(key.inputs["policy"])["Statement"]}
    role = f"arn:aws:iam::{run.settings.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    use, grant = statements["AutoScalingUsesTheKey"], statements["AutoScalingAttachesVolumes"]
    assert use["Principal"] == grant["Principal"] == {"AWS": role}
    assert {"kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"} <= set(use["Action"])
    assert (grant["Action"], grant["Condition"]) == ("kms:CreateGrant", {"Bool": {"kms:GrantIsForAWSResource": True}})
