"""How long each resource type takes to create on a greenfield `pulumi up`, with why. One table.

Figures are typical wall-clock times of the AWS and Kubernetes operations Pulumi waits for, from
the services' documentation and common experience; they are estimates for comparing shapes,
not promises. `seconds_for` applies the few rules that depend on a resource's own settings.
"""

from typing import Any, NamedTuple


class Duration(NamedTuple):
    seconds: int
    why: str


DURATIONS: dict[str, Duration] = {
    "eks:index:Cluster": Duration(660, "EKS control plane ~10 min, plus the OIDC provider and default add-ons the component adds"),
    "aws:eks/cluster:Cluster": Duration(600, "EKS control plane ~10 min"),
    "eks:index:ManagedNodeGroup": Duration(270, "managed node group: instances launch, join and turn Ready, ~4-5 min"),
    "aws:eks/nodeGroup:NodeGroup": Duration(270, "managed node group: instances launch, join and turn Ready, ~4-5 min"),
    "aws:eks/addon:Addon": Duration(90, "EKS add-on: its pods scheduled and the add-on ACTIVE, ~1-2 min"),
    "aws:ec2/natGateway:NatGateway": Duration(120, "NAT gateway turns available in ~2 min"),
    "aws:ec2/vpc:Vpc": Duration(15, "VPC and its DNS attributes"),
    "aws:ec2/subnet:Subnet": Duration(10, "subnet available"),
    "aws:ec2/internetGateway:InternetGateway": Duration(10, "attach to the VPC"),
    "aws:ec2/flowLog:FlowLog": Duration(10, "flow log delivery set up"),
    "aws:ec2/capacityReservation:CapacityReservation": Duration(30, "capacity reserved in the AZ"),
    "aws:kms/key:Key": Duration(10, "key created and enabled"),
    "aws:cloudfront/distribution:Distribution": Duration(420, "CloudFront deploys to every edge location: 5-8 min"),
    "aws:acm/certificateValidation:CertificateValidation": Duration(180, "ACM DNS validation sees the CNAME in 1-5 min"),
    "aws:route53/record:Record": Duration(45, "Route 53 change becomes INSYNC in 30-60 s"),
    "aws:route53/zone:Zone": Duration(45, "hosted zone and its name servers INSYNC"),
    "aws:route53domains/registeredDomain:RegisteredDomain": Duration(
        300, "Route 53 Domains sets the domain's name servers at the TLD registry: the operation completes in minutes"
    ),
    "aws:lb/loadBalancer:LoadBalancer": Duration(180, "ALB/NLB provisioning, 2-3 min"),
    "aws:wafv2/webAcl:WebAcl": Duration(20, "web ACL created"),
    "kubernetes:apps/v1:Deployment": Duration(60, "rollout: images pulled and readiness probes passing"),
    "kubernetes:apps/v1:StatefulSet": Duration(
        90, "per pod: volume provisioned and attached, pod Ready (OrderedReady pays it per replica)"
    ),
    "kubernetes:apps/v1:DaemonSet": Duration(60, "a pod Ready on every node"),
    "kubernetes:batch/v1:Job": Duration(60, "job runs to completion"),
    "kubernetes:helm.sh/v4:Chart": Duration(120, "chart install: CRDs, then the controller's Deployment Ready"),
    "kubernetes:helm.sh/v3:Release": Duration(120, "Helm release: CRDs, then its workloads Ready"),
    "kubernetes:yaml/v2:ConfigGroup": Duration(90, "operator manifests: CRDs, then the operator Deployment Ready"),
    "kubernetes:yaml/v2:ConfigFile": Duration(90, "operator manifests: CRDs, then the operator Deployment Ready"),
}

# How long an operator takes to make its custom resource ready. Pulumi waits for that only when the
# resource carries `pulumi.com/waitFor`; otherwise a Job that depends on it runs until it is ready.
CUSTOM_RESOURCE_READINESS: dict[str, Duration] = {
    "Elasticsearch": Duration(300, "ECK forms the cluster: pods, volumes, bootstrap, green health"),
    "Kibana": Duration(120, "Kibana connects to Elasticsearch and turns green"),
    "Logstash": Duration(120, "Logstash pipelines up"),
    "RabbitmqCluster": Duration(180, "RabbitMQ nodes join and the cluster reports ready"),
    "MongoDBCommunity": Duration(240, "replica set initiated and members in sync"),
}
AWAITED_CUSTOM_RESOURCE = Duration(120, "operator reconciles it to Ready")
# Pulumi waits for the Service's load balancer hostname, which the controller publishes once it has created the
# NLB (about a minute); the NLB finishes provisioning a few minutes later without holding the deploy.
LOAD_BALANCER_SERVICE = Duration(60, "Service of type LoadBalancer: the controller creates the NLB and publishes its hostname")
CLOUDFRONT_NO_WAIT = Duration(10, "CloudFront created without waiting for deployment (waitForDeployment false)")
KUBERNETES_OBJECT = Duration(2, "Kubernetes API call")
NOT_AWAITED = Duration(2, "Kubernetes API call; Pulumi does not await it (pulumi.com/skipAwait)")
CLOUD_API_CALL = Duration(5, "one cloud API call")
BOOKKEEPING = Duration(0, "bookkeeping: components, providers and generated values take no cloud time")


def _annotations(inputs: dict[str, Any]) -> dict[str, Any]:
    return inputs.get("metadata", {}).get("annotations", {}) or {}


def duration_of(type_: str, inputs: dict[str, Any], custom: bool, remote: bool) -> Duration:
    """Time to create one resource of this type with these inputs."""
    if (not custom and not remote) or type_.startswith(("pulumi:", "random:")):
        return BOOKKEEPING
    if type_.startswith("kubernetes:"):
        annotations = _annotations(inputs)
        if str(annotations.get("pulumi.com/skipAwait", "")).lower() == "true":
            return NOT_AWAITED
        if type_ == "kubernetes:core/v1:Service" and inputs.get("spec", {}).get("type") == "LoadBalancer":
            return LOAD_BALANCER_SERVICE
        if type_ in DURATIONS:
            return DURATIONS[type_]
        kind = type_.rsplit(":", 1)[-1]
        if "pulumi.com/waitFor" in annotations:
            return CUSTOM_RESOURCE_READINESS.get(kind, AWAITED_CUSTOM_RESOURCE)
        return KUBERNETES_OBJECT
    if type_ == "aws:cloudfront/distribution:Distribution" and inputs.get("waitForDeployment") is False:
        return CLOUDFRONT_NO_WAIT
    return DURATIONS.get(type_, CLOUD_API_CALL)


def readiness_after_creation(type_: str, inputs: dict[str, Any]) -> Duration | None:
    """The operator's time to make a custom resource ready, when Pulumi returns as soon as it is created."""
    kind = type_.rsplit(":", 1)[-1]
    if type_.startswith("kubernetes:") and kind in CUSTOM_RESOURCE_READINESS and "pulumi.com/waitFor" not in _annotations(inputs):
        return CUSTOM_RESOURCE_READINESS[kind]
    return None


def ordered_ready_replicas(type_: str, inputs: dict[str, Any]) -> int:
    """Pods a StatefulSet starts one after another: all of them under OrderedReady (the default), else one."""
    if type_ != "kubernetes:apps/v1:StatefulSet":
        return 1
    spec = inputs.get("spec", {})
    return int(spec.get("replicas", 1)) if spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady" else 1


def seconds_for(type_: str, inputs: dict[str, Any], custom: bool, remote: bool) -> int:
    return duration_of(type_, inputs, custom, remote).seconds * ordered_ready_replicas(type_, inputs)
