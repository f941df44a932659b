"""Cluster controllers: the AWS Load Balancer Controller and the cluster-autoscaler, each with its IRSA role."""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.handle import CloudControllers, WorkloadIdentity
from settings import versions
from settings.scheduling import POOL_LABEL

from .pods import small_resources

KUBE_SYSTEM = "kube-system"
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
# Spot first; the reserved pool only when no spot capacity can be had (higher number wins).
EXPANDER_PRIORITIES = {50: [".*spot.*"], 10: [".*reserved.*"]}


def load_balancer_controller_policy(cluster_name: str) -> dict[str, Any]:
    """What the controller needs: read the VPC, manage the load balancers and security groups it tags as its own."""
    owned = {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": cluster_name}}
    tagged_on_create = {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:Describe*",
                    "ec2:GetCoipPoolUsage",
                    "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:Describe*",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                    "iam:ListServerCertificates",
                    "iam:GetServerCertificate",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "shield:GetSubscriptionState",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
            },
            {
                "Effect": "Allow",
                "Action": ["ec2:CreateSecurityGroup", "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                "Resource": "*",
                "Condition": tagged_on_create,
            },
            {
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": "arn:aws:ec2:*:*:security-group/*",
                "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
            },
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup",
                    "ec2:CreateTags",
                    "ec2:DeleteTags",
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:SetWebAcl",
                    "elasticloadbalancing:RemoveTags",
                ],
                "Resource": "*",
                "Condition": owned,
            },
            # Listeners and rules carry no tags of their own when created; they live under an owned load balancer.
            {
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                ],
                "Resource": "*",
            },
        ],
    }


def autoscaler_policy(cluster_name: str) -> dict[str, Any]:
    """Read every group; resize and terminate only in the groups EKS tags as this cluster's."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ],
    }


def on_reserved_pool() -> dict[str, Any]:
    """The autoscaler must not run on nodes it may remove; both controllers stay on the reserved pool."""
    return {POOL_LABEL: "reserved"}


@dataclass(frozen=True)
class ControllersArgs:
    cluster_name: str
    cloud: CloudControllers
    identity: WorkloadIdentity


class Controllers(pulumi.ComponentResource):
    def __init__(self, name: str, args: ControllersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Controllers", name, None, opts)
        cloud, tags = args.cloud, {"component": "platform"}
        lbc = args.identity.grant(
            f"{name}-lbc",
            namespace=KUBE_SYSTEM,
            service_account=LBC_SERVICE_ACCOUNT,
            policy=json.dumps(load_balancer_controller_policy(args.cluster_name)),
            tags=tags,
            parent=self,
        )
        autoscaler = args.identity.grant(
            f"{name}-autoscaler",
            namespace=KUBE_SYSTEM,
            service_account=AUTOSCALER_SERVICE_ACCOUNT,
            policy=json.dumps(autoscaler_policy(args.cluster_name)),
            tags=tags,
            parent=self,
        )
        chart = versions.AWS_LOAD_BALANCER_CONTROLLER
        self.load_balancer_controller = k8s.helm.v4.Chart(
            f"{name}-lbc",
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=KUBE_SYSTEM,
            values={
                "clusterName": args.cluster_name,
                # Pods cannot reach the instance metadata (hop limit 1): region and VPC are given.
                "region": cloud.region,
                "vpcId": cloud.vpc_id,
                "replicaCount": 2,
                "serviceAccount": {
                    "create": True,
                    "name": LBC_SERVICE_ACCOUNT,
                    "annotations": lbc.annotations,
                },
                "nodeSelector": on_reserved_pool(),
                "resources": small_resources("100m", "500m", "256Mi"),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        chart = versions.CLUSTER_AUTOSCALER
        self.cluster_autoscaler = k8s.helm.v4.Chart(
            f"{name}-autoscaler",
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=KUBE_SYSTEM,
            values={
                "autoDiscovery": {"clusterName": args.cluster_name},
                "awsRegion": cloud.region,
                "image": {"tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAG},
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": AUTOSCALER_SERVICE_ACCOUNT,
                        "annotations": autoscaler.annotations,
                    }
                },
                "extraArgs": {"expander": "priority", "balance-similar-node-groups": True, "skip-nodes-with-local-storage": False},
                "expanderPriorities": {str(k): v for k, v in EXPANDER_PRIORITIES.items()},
                "nodeSelector": on_reserved_pool(),
                "resources": small_resources("100m", "500m", "512Mi"),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"loadBalancerControllerRoleArn": lbc.principal, "autoscalerRoleArn": autoscaler.principal})
