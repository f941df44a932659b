"""The AWS layer's side of the seam: EKS's workload identity (IRSA), the S3 backup store, the NLB and Route53 edge."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.handle import Grant, NodePlacement, NodeTaint, S3Client, StorageClasses, VolumeProvisioner
from settings.scheduling import POOL_LABEL, RESERVED_POOL, SPOT_POOL, SPOT_TAINT_KEY

from .iam import irsa_role

NLB_CLASS = "service.k8s.aws/nlb"  # the AWS Load Balancer Controller, not the in-tree controller
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
DATA_CLASS, SCRATCH_CLASS = "insight-data", "insight-scratch"
EBS_CSI_DRIVER = "ebs.csi.aws.com"


def ebs_storage(volume_key_arn: pulumi.Input[str]) -> StorageClasses:
    """gp3 volumes through the EBS CSI driver, each made in the zone its pod was scheduled to, encrypted with the
    cluster's data-volume key (the driver takes the key's full ARN; without one EC2 uses the AWS-managed aws/ebs)."""
    parameters = {"type": "gp3", "encrypted": "true", "kmsKeyId": volume_key_arn, "csi.storage.k8s.io/fstype": "ext4"}
    return StorageClasses(data=DATA_CLASS, scratch=SCRATCH_CLASS, provisioner=VolumeProvisioner(EBS_CSI_DRIVER, parameters))


@dataclass(frozen=True)
class IrsaIdentity:
    """IAM roles for service accounts, trusted through the cluster's OIDC provider."""

    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]

    def grant(
        self,
        name: str,
        *,
        namespace: str,
        service_account: str,
        policy: pulumi.Input[str] | None,
        tags: Mapping[str, str],
        parent: pulumi.Resource,
    ) -> Grant:
        role = irsa_role(
            name,
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_provider_url=self.oidc_provider_url,
            namespace=namespace,
            service_account=service_account,
            inline_policy=policy,
            tags=dict(tags),
            parent=parent,
        )
        return Grant(annotations={ROLE_ARN_ANNOTATION: role.arn}, principal=role.arn)


def prefix_policy(bucket_arn: str, key_arn: str, prefix: str, read: bool) -> str:
    """Writers add objects under their own prefix only; readers also list, read and delete there."""
    statements: list[dict] = []
    if read:
        statements += [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
        ]
    else:
        statements.append(
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"], "Resource": f"{bucket_arn}/{prefix}/*"}
        )
    # The bucket is encrypted with the stack's backups key.
    statements.append({"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class S3BackupStore:
    """The stack's backups bucket (components/aws/storage.py), encrypted with its own key."""

    bucket: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]

    def client(self, name: str, namespace: str, parent: pulumi.Resource) -> S3Client:
        return S3Client()  # the region's S3, as the pod's IRSA role: nothing to declare

    def access_policy(self, prefix: str, *, read: bool) -> pulumi.Input[str]:
        return pulumi.Output.all(self.bucket_arn, self.kms_key_arn).apply(lambda a: prefix_policy(a[0], a[1], prefix, read))


def nlb_annotations(
    service: str, health_port: int, health_path: str, *, certificate_arn: str, logs_bucket: str, deletion_protection: bool
) -> dict[str, str]:
    """An internet-facing NLB terminating TLS with the environment's certificate, straight to the pods' IPs."""
    prefix = "service.beta.kubernetes.io/aws-load-balancer"
    attributes = [
        "load_balancing.cross_zone.enabled=true",
        "access_logs.s3.enabled=true",
        f"access_logs.s3.bucket={logs_bucket}",
        f"access_logs.s3.prefix=nlb/{service}",
    ]
    if deletion_protection:
        attributes.append("deletion_protection.enabled=true")
    return {
        f"{prefix}-scheme": "internet-facing",
        f"{prefix}-nlb-target-type": "ip",
        f"{prefix}-ssl-cert": certificate_arn,
        f"{prefix}-ssl-ports": "443",
        f"{prefix}-ssl-negotiation-policy": TLS_POLICY,
        f"{prefix}-backend-protocol": "tcp",
        f"{prefix}-healthcheck-protocol": "http",
        f"{prefix}-healthcheck-port": str(health_port),
        f"{prefix}-healthcheck-path": health_path,
        f"{prefix}-attributes": ",".join(attributes),
    }


@dataclass(frozen=True)
class NlbEdge:
    """Public services get a TLS NLB from the AWS Load Balancer Controller and a CNAME in the stack's zone."""

    zone_id: pulumi.Input[str]
    domain: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]
    logs_bucket: pulumi.Input[str]
    deletion_protection: bool  # prod's load balancers cannot be deleted by accident
    load_balancer_class: str = NLB_CLASS

    def load_balancer_annotations(self, service: str, health_port: int, health_path: str) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.all(self.certificate_arn, self.logs_bucket).apply(
            lambda a: nlb_annotations(
                service, health_port, health_path, certificate_arn=a[0], logs_bucket=a[1], deletion_protection=self.deletion_protection
            )
        )

    def publish(self, name: str, hostname: str, target: pulumi.Input[str], parent: pulumi.Resource) -> pulumi.Output[str]:
        record = aws.route53.Record(
            name,
            zone_id=self.zone_id,
            name=pulumi.Output.concat(hostname, ".", self.domain),
            type="CNAME",
            ttl=60,
            records=[target],
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return record.fqdn


# The node pools of components/aws/cluster.py: the data tier requires the reserved (on-demand) pool; interruption-
# tolerant pods tolerate the spot (and overflow) pools' taint and prefer spot.
EKS_POOLS = NodePlacement(
    stable={POOL_LABEL: RESERVED_POOL},
    interruptible={POOL_LABEL: SPOT_POOL},
    interruptible_taint=NodeTaint(SPOT_TAINT_KEY, "true"),
)
