"""Cluster controllers: the AWS Load Balancer Controller and the cluster-autoscaler, each with its IRSA role, and
metrics-server (the resource metrics API without which no HorizontalPodAutoscaler acts)."""

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from components.handle import CloudControllers
from components.outputs import register_declared
from settings import versions

from ..pods import small_resources, stable_selector
from .charts import pinned_chart
from .context import PlatformContext
from .published import published_policy

KUBE_SYSTEM = "kube-system"
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
# Its published IAM policy, derived into published/ by tools/derive_controller_policies.py.
LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"
# Spot first; in a spot drought the on-demand overflow pool, then the reserved pool (higher number wins).
EXPANDER_PRIORITIES = {50: [".*spot.*"], 30: [".*overflow.*"], 10: [".*reserved.*"]}


# Where the declared policy grants less than the published one: action -> why that is safe. None today.
LOAD_BALANCER_CONTROLLER_NARROWINGS: dict[str, str] = {}


def load_balancer_controller_policy(cluster_name: str) -> dict[str, Any]:
    """The policy the controller's project publishes for the pinned version, as is (published/, with provenance).

    A hand-trimmed copy failed on real calls: CreateSecurityGroup also authorizes the VPC, which a request-tag
    condition does not cover, and with target type `ip` the controller edits the cluster security group on the
    node ENIs, which it never tagged. `cluster_name` is kept for the callers: the published document keys on the
    presence of the `elbv2.k8s.aws/cluster` tag, not on its value.
    """
    del cluster_name
    return published_policy(LOAD_BALANCER_CONTROLLER)


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


@dataclass(frozen=True)
class ControllersArgs:
    cloud: CloudControllers


class Controllers(pulumi.ComponentResource):
    load_balancer_controller_role_arn: pulumi.Input[str] | None
    autoscaler_role_arn: pulumi.Input[str] | None

    def __init__(self, name: str, context: PlatformContext, args: ControllersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Controllers", name, None, opts)
        cloud, tags = args.cloud, {"component": "platform"}
        cluster_name, identity = context.cluster.name, context.cluster.identity
        lbc = identity.grant(
            f"{name}-lbc",
            namespace=KUBE_SYSTEM,
            service_account=LBC_SERVICE_ACCOUNT,
            policy=json.dumps(load_balancer_controller_policy(cluster_name)),
            tags=tags,
            parent=self,
        )
        autoscaler = identity.grant(
            f"{name}-autoscaler",
            namespace=KUBE_SYSTEM,
            service_account=AUTOSCALER_SERVICE_ACCOUNT,
            policy=json.dumps(autoscaler_policy(cluster_name)),
            tags=tags,
            parent=self,
        )
        self.load_balancer_controller = pinned_chart(
            f"{name}-lbc",
            versions.AWS_LOAD_BALANCER_CONTROLLER,
            namespace=KUBE_SYSTEM,
            values={
                "clusterName": cluster_name,
                # Pods cannot reach the instance metadata (hop limit 1): region and VPC are given.
                "region": cloud.region,
                "vpcId": cloud.vpc_id,
                "replicaCount": 2,
                "serviceAccount": {
                    "create": True,
                    "name": LBC_SERVICE_ACCOUNT,
                    "annotations": lbc.annotations,
                },
                "nodeSelector": stable_selector(context.cluster.placement),
                "resources": small_resources("100m", "500m", "256Mi"),
                # App Services set loadBalancerClass themselves; the mutating webhook (failurePolicy Fail) would
                # only reject every Service created before the controller is ready.
                "enableServiceMutatorWebhook": False,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_autoscaler = pinned_chart(
            f"{name}-autoscaler",
            versions.CLUSTER_AUTOSCALER,
            namespace=KUBE_SYSTEM,
            values={
                "autoDiscovery": {"clusterName": cluster_name},
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
                "nodeSelector": stable_selector(context.cluster.placement),
                "resources": small_resources("100m", "500m", "512Mi"),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.metrics_server = pinned_chart(
            f"{name}-metrics-server",
            versions.METRICS_SERVER,
            namespace=KUBE_SYSTEM,
            values={
                # Two replicas and a budget: the APIService is unavailable whenever no replica is, and every HPA stalls.
                "replicas": 2,
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                "nodeSelector": stable_selector(context.cluster.placement),
                "resources": small_resources("100m", "500m", "200Mi"),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.load_balancer_controller_role_arn = lbc.principal
        self.autoscaler_role_arn = autoscaler.principal
        register_declared(self)
