"""Each rule with a passing and a violating fixture, written in the inputs' real shape (camelCase, as recorded)."""

import copy
from collections.abc import Mapping
from typing import Any, get_args

import pytest

from policy.rules import RULES, Resource, evaluate
from settings.tiers import STRICTEST, TIER_NAMES, TIERS, RuleClass

P = "urn:pulumi:prod::insight::"


def res(type_: str, inputs: Mapping[str, Any], name: str = "r", stack: str = "prod", deps: tuple[str, ...] = (), **opts: Any) -> Resource:
    return Resource(f"urn:pulumi:{stack}::insight::{type_}::{name}", type_, name, inputs, dependencies=deps, **opts)


def changed(r: Resource, **inputs: Any) -> Resource:
    new = copy.deepcopy(dict(r.inputs)) | inputs
    return Resource(r.urn, r.type, r.name, new, r.protect, r.retain_on_delete, r.dependencies)


def k8s(kind: str, api: str, spec: dict, name: str = "w", ns: str = "apps", **meta: Any) -> Resource:
    group = api.rsplit("/", 1)[0] if "/" in api else "core"
    version = api.rsplit("/", 1)[-1]
    return res(
        f"kubernetes:{group}/{version}:{kind}",
        {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns, **meta}, "spec": spec},
        name,
    )


VPC = res("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, "vpc", protect=True)
SUBNETS = [
    res(
        "aws:ec2/subnet:Subnet",
        {"availabilityZone": az, "mapPublicIpOnLaunch": False, "tags": {"kubernetes.io/role/internal-elb": "1"}},
        f"p-{az}",
        deps=(VPC.urn,),
    )
    for az in ("a", "b", "c")
]
PUBLIC_SUBNET = res("aws:ec2/subnet:Subnet", {"availabilityZone": "a", "tags": {"kubernetes.io/role/elb": "1"}}, "pub", deps=(VPC.urn,))
FLOW_LOG = res("aws:ec2/flowLog:FlowLog", {"trafficType": "ALL"}, "fl", deps=(VPC.urn,))
SG = res(
    "aws:ec2/securityGroup:SecurityGroup",
    {"ingress": [{"fromPort": 443, "toPort": 443, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]},
    "sg",
)
SG_RULE = res(
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    {"fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/8"},
    "sgr",
    deps=(SG.urn,),
)
EKS = res(
    "eks:index:Cluster",
    {
        "version": "1.34",
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        "encryptionConfigKeyArn": "arn:aws:kms:ap-northeast-1:1:key/k",
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["198.51.100.10/32"],
        "nodeAssociatePublicIpAddress": False,
    },
    "cluster",
    protect=True,
)
TEMPLATE = res(
    "aws:ec2/launchTemplate:LaunchTemplate",
    {
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
    },
    "lt",
)
GROUP = {"launchTemplate": {"id": "lt"}, "instanceTypes": ["m6i.xlarge"]}
ON_DEMAND = res("eks:index:ManagedNodeGroup", {**GROUP, "capacityType": "ON_DEMAND"}, "reserved", deps=(EKS.urn, *(s.urn for s in SUBNETS)))
SPOT = res(
    "eks:index:ManagedNodeGroup",
    {
        **GROUP,
        "capacityType": "SPOT",
        "instanceTypes": ["m6i.xlarge", "m6a.xlarge", "m5.xlarge"],
        "taints": [{"key": "insight.io/spot", "effect": "NO_SCHEDULE"}],
    },
    "spot",
    deps=(EKS.urn,),
)
TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"oidc.eks/id/X:sub": "system:serviceaccount:apps:search", "oidc.eks/id/X:aud": "sts.amazonaws.com"}
            },
        }
    ]
}
ROLE = res("aws:iam/role:Role", {"assumeRolePolicy": TRUST}, "role")
POLICY = res(
    "aws:iam/policy:Policy",
    {"policy": {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]}},
    "pol",
)
ATTACHMENT = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": "arn:aws:iam::1:policy/p"}, "att", deps=(ROLE.urn,))
REPO = res(
    "aws:ecr/repository:Repository",
    {
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "KMS"}],
    },
    "repo",
    retain_on_delete=True,
)
ECR_EXPIRY = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
            "action": {"type": "expire"},
        },
    ]
}
BUCKET = res("aws:s3/bucket:Bucket", {"tags": {"purpose": "backups"}}, "backups", protect=True, retain_on_delete=True)
LOGS_BUCKET = res("aws:s3/bucket:Bucket", {"tags": {"purpose": "logs"}}, "logs", protect=True, retain_on_delete=True)
TLS_ONLY = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
LOG_GRANT = {
    "Effect": "Allow",
    "Principal": {"Service": "logging.s3.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::l/*",
}
LIFECYCLE_RULES = {
    "rules": [
        {
            "status": "Enabled",
            "noncurrentVersionExpiration": {"noncurrentDays": 30},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
        }
    ]
}
SSE_KMS = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}


def s3_companions(bucket: Resource, sse: dict = SSE_KMS) -> list[Resource]:
    d = (bucket.urn,)
    return [
        res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True),
            f"{bucket.name}-pab",
            deps=d,
        ),
        res(
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            {"rule": {"objectOwnership": "BucketOwnerEnforced"}},
            f"{bucket.name}-own",
            deps=d,
        ),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", sse, f"{bucket.name}-sse", deps=d),
        res("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Enabled"}}, f"{bucket.name}-ver", deps=d),
        res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", LIFECYCLE_RULES, f"{bucket.name}-lc", deps=d),
        res("aws:s3/bucketPolicy:BucketPolicy", {"policy": TLS_ONLY}, f"{bucket.name}-pol", deps=d),
    ]


BUCKETS_OK = [
    BUCKET,
    LOGS_BUCKET,
    *s3_companions(BUCKET),
    *s3_companions(LOGS_BUCKET, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]})[:-1],
    # The log target is known by the log delivery its policy admits (never by its tag).
    res(
        "aws:s3/bucketPolicy:BucketPolicy",
        {"policy": {"Statement": [*TLS_ONLY["Statement"], LOG_GRANT]}},
        "logs-pol",
        deps=(LOGS_BUCKET.urn,),
    ),
    res("aws:s3/bucketLogging:BucketLogging", {"targetPrefix": "s3/"}, "log", deps=(BUCKET.urn, LOGS_BUCKET.urn)),
]
HEADERS = res(
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
    {"securityHeadersConfig": {"strictTransportSecurity": {"accessControlMaxAgeSec": 63072000}}},
    "hdr",
)
CDN = res(
    "aws:cloudfront/distribution:Distribution",
    {
        "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
        "orderedCacheBehaviors": [{"pathPattern": "/api/*", "viewerProtocolPolicy": "https-only"}],
        "viewerCertificate": {"minimumProtocolVersion": "TLSv1.2_2021"},
        "origins": [
            {"originId": "assets", "originAccessControlId": "oac"},
            {"originId": "api", "customOriginConfig": {"originProtocolPolicy": "https-only"}},
        ],
        "loggingConfig": {"bucket": "logs.s3.amazonaws.com"},
        "webAclId": "arn:aws:wafv2:us-east-1:1:global/webacl/x",
    },
    "cdn",
    deps=(HEADERS.urn,),
)
V2_SOURCE = res("aws:cloudwatch/logDeliverySource:LogDeliverySource", {"logType": "ACCESS_LOGS"}, "src", deps=(CDN.urn,))
V2_LOGGING = [changed(CDN, loggingConfig=None), V2_SOURCE, res("aws:cloudwatch/logDelivery:LogDelivery", {}, "dlv", deps=(V2_SOURCE.urn,))]
ZONE = res("aws:route53/zone:Zone", {"name": "insight.example"}, "zone", protect=True, retain_on_delete=True)
QUERY_LOG = res("aws:route53/queryLog:QueryLog", {}, "ql", deps=(ZONE.urn,))
LB = res(
    "aws:lb/loadBalancer:LoadBalancer",
    {
        "loadBalancerType": "network",
        "accessLogs": {"enabled": True},
        "enableCrossZoneLoadBalancing": True,
        "enableDeletionProtection": True,
    },
    "lb",
)
KEY = res("aws:kms/key:Key", {"enableKeyRotation": True, "deletionWindowInDays": 30}, "key", protect=True, retain_on_delete=True)
VOLUME_KEY_ARN = "arn:aws:kms:us-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STORAGE_CLASS = res(
    "kubernetes:storage.k8s.io/v1:StorageClass",
    {
        "provisioner": "ebs.csi.aws.com",
        "reclaimPolicy": "Retain",
        "allowVolumeExpansion": True,
        "parameters": {"encrypted": "true", "kmsKeyId": VOLUME_KEY_ARN},
        "volumeBindingMode": "WaitForFirstConsumer",
        "metadata": {"name": "data"},
    },
    "data",
)
# Scratch space (generic ephemeral volumes) is deleted with its pod: only encryption and zone binding apply, and only
# while nothing but ephemeral volumes names the class (SCRATCH_DUMP below).
SCRATCH_CLASS = res(
    STORAGE_CLASS.type,
    {**STORAGE_CLASS.inputs, "metadata": {"name": "scratch"}, "reclaimPolicy": "Delete", "allowVolumeExpansion": None},
    "scratch",
)
RESERVED_ONLY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "insight.io/pool", "operator": "In", "values": ["reserved"]}]}]
        }
    }
}
PROBE = {"httpGet": {"path": "/health", "port": "http"}}
CONTAINER = {
    "name": "app",
    "image": "1.dkr.ecr/search:1.3.2",
    "ports": [{"name": "http", "containerPort": 8080}],
    "readinessProbe": PROBE,
    "livenessProbe": PROBE,
    "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}, {"name": "MODE", "value": "prod"}],
}
LABELS = {"app": "search"}
POD = {
    "containers": [CONTAINER],
    "priorityClassName": "data-tier",
    "affinity": RESERVED_ONLY,
    "topologySpreadConstraints": [{"topologyKey": "topology.kubernetes.io/zone", "maxSkew": 1, "labelSelector": {"matchLabels": LABELS}}],
}
WORKLOAD_SPEC = {"replicas": 3, "selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": LABELS}, "spec": POD}}
DEPLOYMENT = k8s("Deployment", "apps/v1", {**WORKLOAD_SPEC, "strategy": {"type": "RollingUpdate"}}, "search")
STS = k8s(
    "StatefulSet",
    "apps/v1",
    {
        **WORKLOAD_SPEC,
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "data"}}],
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    },
    "redis",
)
PDB = k8s("PodDisruptionBudget", "policy/v1", {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}}, "search")
SERVICE = k8s("Service", "v1", {"selector": LABELS, "ports": [{"port": 8080}]}, "search")
NAMESPACE = res(
    "kubernetes:core/v1:Namespace", {"metadata": {"name": "apps", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}, "apps"
)
DENY = k8s("NetworkPolicy", "networking.k8s.io/v1", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "deny")
DNS = k8s(
    "NetworkPolicy",
    "networking.k8s.io/v1",
    {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]},
    "dns",
)
QUOTA = k8s("ResourceQuota", "v1", {"hard": {"requests.cpu": "8"}}, "q")
DATA_TIER_CLASS = res("kubernetes:scheduling.k8s.io/v1:PriorityClass", {"metadata": {"name": "data-tier"}, "value": 1000000}, "data-tier")
LIMITS = k8s("LimitRange", "v1", {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}, "l")
RABBIT = k8s(
    "RabbitmqCluster",
    "rabbitmq.com/v1beta1",
    {
        "replicas": 3,
        "image": "rabbitmq:4.1.0-management",
        "rabbitmq": {"additionalConfig": "default_queue_type = quorum\n"},
        "affinity": RESERVED_ONLY,
        "override": {
            "statefulSet": {
                "spec": {
                    "template": {
                        "spec": {
                            "priorityClassName": "data-tier",
                            "topologySpreadConstraints": [
                                {
                                    "topologyKey": "topology.kubernetes.io/zone",
                                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "rmq"}},
                                }
                            ],
                        }
                    }
                }
            }
        },
    },
    "rmq",
    "messaging",
)
ES = k8s("Elasticsearch", "elasticsearch.k8s.elastic.co/v1", {"nodeSets": [{"count": 3, "podTemplate": {"spec": POD}}]}, "logs", "logging")
ES_URL = "https://logs-es-http:9200"
SLM_SCRIPT = (
    f"""curl -sS -X PUT '{ES_URL}/_snapshot/s3-backups' -H 'Content-Type: application/json' -d '{{"type": "s3"}}'\n"""
    f"""curl -sS -X PUT '{ES_URL}/_slm/policy/nightly' -H 'Content-Type: application/json' """
    """-d '{"schedule": "0 30 1 * * ?", "repository": "s3-backups", "retention": {"expire_after": "30d"}}'\n"""
)
SLM_JOB = k8s(
    "Job", "batch/v1", {"template": {"spec": {"containers": [{**CONTAINER, "command": ["sh", "-c", SLM_SCRIPT]}]}}}, "slm", "logging"
)
MONGO = k8s(
    "MongoDBCommunity",
    "mongodbcommunity.mongodb.com/v1",
    {"members": 3, "statefulSet": {"spec": {"template": {"spec": POD}}}},
    "mongo",
    "data",
)
DUMP_JOB = k8s(
    "CronJob",
    "batch/v1",
    {
        "schedule": "0 18 * * *",
        "jobTemplate": {
            "spec": {
                "template": {"spec": {"containers": [{**CONTAINER, "command": ["sh", "-c", "mongodump --archive | aws s3 cp - s3://b/x"]}]}}
            }
        },
    },
    "dump",
    "data",
)


def ephemeral_volume(storage_class: str | None) -> dict[str, Any]:
    claim = {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class, "resources": {"requests": {"storage": "10Gi"}}}
    return {"name": "backup", "ephemeral": {"volumeClaimTemplate": {"spec": claim}}}


def with_pod_volumes(job: Resource, *volumes: dict[str, Any]) -> Resource:
    spec = copy.deepcopy(dict(job.inputs["spec"]))
    spec["jobTemplate"]["spec"]["template"]["spec"]["volumes"] = list(volumes)
    return changed(job, spec=spec)


SCRATCH_DUMP = with_pod_volumes(DUMP_JOB, ephemeral_volume("scratch"))
LB_SERVICE = k8s(
    "Service",
    "v1",
    {"type": "LoadBalancer", "selector": LABELS, "ports": [{"port": 443, "targetPort": 8080}]},
    "search",
    annotations={
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:x",
        "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true,access_logs.s3.enabled=true,deletion_protection.enabled=true",
    },
)


def pod(**changes: Any) -> dict:
    return {**WORKLOAD_SPEC, "template": {"metadata": {"labels": LABELS}, "spec": {**POD, **changes}}}


def with_container(**changes: Any) -> Resource:
    return changed(
        DEPLOYMENT,
        spec={
            **DEPLOYMENT.inputs["spec"],
            "template": {"metadata": {"labels": LABELS}, "spec": {**POD, "containers": [{**CONTAINER, **changes}]}},
        },
    )


NS_OK = [NAMESPACE, DENY, DNS, QUOTA, LIMITS]
WORKLOADS_OK = [DEPLOYMENT, PDB, SERVICE]

# rule id -> (passing resources, violating resources)
FIXTURES: dict[str, tuple[list[Resource], list[Resource]]] = {
    "net-az-count": ([VPC, *SUBNETS], [VPC, *SUBNETS[:2]]),
    "net-private-no-public-ip": ([SUBNETS[0]], [changed(SUBNETS[0], mapPublicIpOnLaunch=True)]),
    "net-nodes-private": (
        [*SUBNETS, PUBLIC_SUBNET, ON_DEMAND],
        [PUBLIC_SUBNET, res(ON_DEMAND.type, ON_DEMAND.inputs, "n", deps=(PUBLIC_SUBNET.urn,))],
    ),
    "net-flow-logs": ([VPC, FLOW_LOG], [VPC, changed(FLOW_LOG, trafficType="REJECT")]),
    "net-no-world-ingress": ([SG], [changed(SG, ingress=[{"fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}])]),
    # An empty inline list still owns the rules (it removes the others): only an absent one leaves them alone.
    "net-sg-rules-not-mixed": ([changed(SG, ingress=None), SG_RULE], [changed(SG, ingress=[]), SG_RULE]),
    "eks-control-plane-logs": ([EKS], [changed(EKS, enabledClusterLogTypes=["api"])]),
    "eks-secrets-encryption": ([EKS], [changed(EKS, encryptionConfigKeyArn=None)]),
    "eks-endpoint-limited": (
        [EKS, changed(EKS, endpointPublicAccess=False, publicAccessCidrs=[])],
        [changed(EKS, publicAccessCidrs=["0.0.0.0/0"])],
    ),
    "eks-version-pinned": ([EKS], [changed(EKS, version=None)]),
    "eks-imdsv2": ([TEMPLATE], [changed(TEMPLATE, metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 2})]),
    "eks-encrypted-volumes": (
        [TEMPLATE],
        [changed(TEMPLATE, blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}])],
    ),
    "eks-no-public-ip": (
        [TEMPLATE, EKS],
        [changed(TEMPLATE, networkInterfaces=[{"associatePublicIpAddress": "true"}]), changed(EKS, nodeAssociatePublicIpAddress=True)],
    ),
    "eks-no-ssh": ([TEMPLATE, ON_DEMAND], [changed(TEMPLATE, keyName="ops"), changed(ON_DEMAND, remoteAccess={"ec2SshKey": "ops"})]),
    "eks-node-launch-template": ([ON_DEMAND], [changed(ON_DEMAND, launchTemplate=None)]),
    "eks-spot-pool": ([SPOT, ON_DEMAND], [changed(SPOT, instanceTypes=["m6i.xlarge"], taints=[])]),
    "eks-pools-separate": ([EKS, ON_DEMAND, SPOT], [EKS, SPOT]),
    "iam-irsa-trust": (
        [ROLE],
        [
            changed(
                ROLE,
                assumeRolePolicy={
                    "Statement": [{**TRUST["Statement"][0], "Condition": {"StringLike": {"oidc.eks/id/X:sub": "system:serviceaccount:*"}}}]
                },
            )
        ],
    ),
    "iam-no-wildcard": (
        [POLICY, ATTACHMENT],
        [
            changed(POLICY, policy={"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            changed(ATTACHMENT, policyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
        ],
    ),
    "iam-policy-management": (
        [ROLE, ATTACHMENT],
        [changed(ROLE, managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"]), ATTACHMENT],
    ),
    "ecr-hardened": ([REPO], [changed(REPO, imageTagMutability="MUTABLE", imageScanningConfiguration={"scanOnPush": False})]),
    "ecr-lifecycle": ([REPO, res("aws:ecr/lifecyclePolicy:LifecyclePolicy", {"policy": ECR_EXPIRY}, "lc", deps=(REPO.urn,))], [REPO]),
    "never-public": (
        [res("aws:s3/bucketPolicy:BucketPolicy", {"policy": TLS_ONLY}, "p")],
        [
            res(
                "aws:ecr/repositoryPolicy:RepositoryPolicy",
                {"policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]}},
                "p",
            )
        ],
    ),
    "s3-public-access-block": ([s3_companions(BUCKET)[0]], [changed(s3_companions(BUCKET)[0], restrictPublicBuckets=False)]),
    "s3-no-acls": (
        [s3_companions(BUCKET)[1], BUCKET],
        [changed(s3_companions(BUCKET)[1], rule={"objectOwnership": "ObjectWriter"}), changed(BUCKET, acl="public-read")],
    ),
    "s3-encryption": ([s3_companions(BUCKET)[2]], [changed(s3_companions(BUCKET)[2], rules=[])]),
    "s3-versioning": ([s3_companions(BUCKET)[3]], [changed(s3_companions(BUCKET)[3], versioningConfiguration={"status": "Suspended"})]),
    "s3-lifecycle": (
        [s3_companions(BUCKET)[4]],
        [changed(s3_companions(BUCKET)[4], rules=[{"status": "Enabled", "expiration": {"days": 30}}])],
    ),
    "s3-companions": (BUCKETS_OK, BUCKETS_OK[:-1]),
    "cdn-https-tls12": (
        [CDN],
        [changed(CDN, defaultCacheBehavior={"viewerProtocolPolicy": "allow-all"}, viewerCertificate={"minimumProtocolVersion": "TLSv1"})],
    ),
    "cdn-oac": ([CDN], [changed(CDN, origins=[{"originId": "assets", "s3OriginConfig": {"originAccessIdentity": ""}}])]),
    "cdn-logging": ([CDN, *V2_LOGGING], [changed(CDN, loggingConfig=None), V2_LOGGING[0]]),
    "cdn-hsts": (
        [CDN, HEADERS],
        [CDN, changed(HEADERS, securityHeadersConfig={"strictTransportSecurity": {"accessControlMaxAgeSec": 300}})],
    ),
    "cdn-waf": ([CDN], [changed(CDN, webAclId=None)]),
    "dns-query-logging": ([ZONE, QUERY_LOG], [ZONE]),
    "lb-hardened": ([LB], [changed(LB, enableDeletionProtection=False, accessLogs={"enabled": False})]),
    "lb-tls": (
        [res("aws:lb/listener:Listener", {"protocol": "TLS", "port": 443}, "l")],
        [res("aws:lb/listener:Listener", {"protocol": "TCP", "port": 80}, "l")],
    ),
    "data-protected": ([VPC, EKS, KEY, ZONE, BUCKET, LOGS_BUCKET], [res(KEY.type, KEY.inputs, "key")]),
    "data-retained": ([KEY, ZONE, BUCKET, REPO, LOGS_BUCKET], [res(BUCKET.type, BUCKET.inputs, "b", retain_on_delete=False)]),
    "kms-key-hygiene": ([KEY], [changed(KEY, enableKeyRotation=False, deletionWindowInDays=7)]),
    "data-storage-class": (
        [STORAGE_CLASS, SCRATCH_CLASS, SCRATCH_DUMP],
        [changed(STORAGE_CLASS, reclaimPolicy="Delete", allowVolumeExpansion=False), changed(SCRATCH_CLASS, parameters={}), SCRATCH_DUMP],
    ),
    "data-volume-key": (
        [STORAGE_CLASS, SCRATCH_CLASS],
        [
            changed(STORAGE_CLASS, parameters={"encrypted": "true", "kmsKeyId": ""}),
            changed(SCRATCH_CLASS, parameters={"encrypted": "true", "kmsKeyId": "arn:aws:kms:us-west-2:111111111111:alias/aws/ebs"}),
        ],
    ),
    "data-claims-retained": (
        [STORAGE_CLASS, STS, SCRATCH_CLASS, SCRATCH_DUMP],
        [changed(STORAGE_CLASS, reclaimPolicy="Delete"), STS],
    ),
    "data-pvc-retention": ([STS], [changed(STS, spec={**STS.inputs["spec"], "persistentVolumeClaimRetentionPolicy": None})]),
    "data-es-snapshots": ([ES, SLM_JOB], [ES]),
    "data-mongodb-backups": ([MONGO, DUMP_JOB], [MONGO]),
    "data-rabbitmq-quorum": (
        [RABBIT],
        [changed(RABBIT, spec={**RABBIT.inputs["spec"], "rabbitmq": {"additionalConfig": "default_queue_type = classic"}})],
    ),
    "k8s-replicas": ([DEPLOYMENT], [changed(DEPLOYMENT, spec={**DEPLOYMENT.inputs["spec"], "replicas": 1})]),
    "k8s-quorum": ([RABBIT, ES, MONGO], [changed(MONGO, spec={**MONGO.inputs["spec"], "members": 2})]),
    "k8s-pdb": (WORKLOADS_OK, [DEPLOYMENT, changed(PDB, spec={"maxUnavailable": 0, "selector": {"matchLabels": LABELS}})]),
    "k8s-zone-spread": ([DEPLOYMENT, RABBIT], [changed(DEPLOYMENT, spec=pod(topologySpreadConstraints=[]))]),
    "k8s-probes": ([DEPLOYMENT], [with_container(livenessProbe=None, readinessProbe={"tcpSocket": {"port": 9999}})]),
    "k8s-startup-probe": (
        [with_container(livenessProbe={**PROBE, "initialDelaySeconds": 120}, startupProbe=PROBE)],
        [with_container(livenessProbe={**PROBE, "initialDelaySeconds": 120})],
    ),
    "k8s-selector-matches": (
        [DEPLOYMENT],
        [changed(DEPLOYMENT, spec={**DEPLOYMENT.inputs["spec"], "selector": {"matchLabels": {"app": "other"}}})],
    ),
    "k8s-selectors-resolve": (
        [
            *WORKLOADS_OK,
            RABBIT,
            changed(
                PDB,
                spec={"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "rmq"}}},
                metadata={"name": "rmq", "namespace": "messaging"},
            ),
        ],
        [SERVICE, PDB, RABBIT],
    ),
    "k8s-rolling-update": ([DEPLOYMENT, STS], [changed(DEPLOYMENT, spec={**DEPLOYMENT.inputs["spec"], "strategy": {"type": "Recreate"}})]),
    "k8s-priority-class": ([DATA_TIER_CLASS, STS, RABBIT, ES, MONGO], [DATA_TIER_CLASS, changed(STS, spec=pod(priorityClassName=None))]),
    "k8s-stateful-reserved": (
        [STS, RABBIT, MONGO],
        [changed(STS, spec=pod(affinity=None, tolerations=[{"key": "insight.io/spot", "operator": "Exists"}]))],
    ),
    "k8s-pod-security-privileged": (
        [NAMESPACE],
        [res(NAMESPACE.type, {"metadata": {"name": "monitoring", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}, "m")],
    ),
    "k8s-pod-security": ([NAMESPACE], [res(NAMESPACE.type, {"metadata": {"name": "apps"}}, "apps")]),
    "k8s-default-deny": (NS_OK, [NAMESPACE, DNS]),
    "k8s-quotas": (NS_OK, [NAMESPACE, QUOTA]),
    "k8s-no-secret-env": ([DEPLOYMENT], [with_container(env=[{"name": "SENTRY_DSN", "value": "https://key@sentry.io/1"}])]),
    "k8s-no-latest": (
        [DEPLOYMENT, RABBIT],
        [with_container(image="search:latest"), changed(RABBIT, spec={**RABBIT.inputs["spec"], "image": "rabbitmq"})],
    ),
    "lb-service": (
        [LB_SERVICE, SERVICE],
        [
            changed(
                LB_SERVICE,
                spec={**LB_SERVICE.inputs["spec"], "ports": [{"port": 80}]},
                metadata={
                    "name": "x",
                    "namespace": "data",
                    "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
                },
            )
        ],
    ),
}
RULE_BY_ID = {rule.id: rule for rule in RULES}


def test_every_rule_has_both_fixtures():
    assert set(FIXTURES) == set(RULE_BY_ID)


@pytest.mark.parametrize("rule_id", sorted(FIXTURES))
def test_rule_passes_good_and_flags_bad(rule_id):
    good, bad = FIXTURES[rule_id]
    rule = RULE_BY_ID[rule_id]
    assert evaluate(good, "prod", [rule]) == []
    found = evaluate(bad, "prod", [rule])
    assert found and all(v.rule.id == rule_id and v.severity == rule.severity_in("prod") for v in found)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_states_a_reason_and_a_severity_in_every_tier(rule):
    levels = {tier: rule.severity_in(tier) for tier in TIERS}
    assert rule.reason.endswith(".") and set(levels) == set(TIER_NAMES)
    # The strictest tier is where every guardrail binds; review-only rules are advisory everywhere.
    assert levels[STRICTEST] == "mandatory" or set(levels.values()) == {"advisory"}


def test_every_tier_has_a_severity_for_every_rule_class():
    for tier in TIERS.values():
        assert set(tier.severity) == set(get_args(RuleClass)), tier.name


def test_environment_specific_thresholds():
    two_azs = [VPC, *SUBNETS[:2]]
    staging = [
        res(r.type, r.inputs, r.name, "staging", tuple(d.replace(P, "urn:pulumi:staging::insight::") for d in r.dependencies))
        for r in two_azs
    ]
    assert evaluate(staging, "staging", [RULE_BY_ID["net-az-count"]]) == []
    assert evaluate(two_azs, "prod", [RULE_BY_ID["net-az-count"]])
    unprotected_key = res(KEY.type, KEY.inputs, "key", "test")
    assert evaluate([unprotected_key], "test", [RULE_BY_ID["data-protected"]]) == []  # disabled in test


def test_unknown_stack_names_get_prod_rules():
    assert res(VPC.type, {}, "v", "sandbox").policy.name == "prod"


def test_a_declared_tier_wins_over_the_stack_name():
    # A stack named `staging` that declares tier prod is held to prod's minimum of 3 AZs; the name does not count.
    def in_stack(r: Resource, tier: str) -> Resource:
        rename = "urn:pulumi:staging::insight::"
        deps = tuple(d.replace(P, rename) for d in r.dependencies)
        return Resource(r.urn.replace(P, rename), r.type, r.name, r.inputs, dependencies=deps, tier=tier)

    two_azs = [VPC, *SUBNETS[:2]]
    assert evaluate([in_stack(r, "prod") for r in two_azs], "prod", [RULE_BY_ID["net-az-count"]])
    assert evaluate([in_stack(r, "staging") for r in two_azs], "staging", [RULE_BY_ID["net-az-count"]]) == []
