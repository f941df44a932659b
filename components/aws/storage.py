"""S3: the static assets, the logs (CloudFront, load balancer and S3 access logs) and the backups buckets.

Every bucket: public access blocked, ownership enforced (ACLs off), default encryption, versioning,
lifecycle rules and a TLS-only policy. Assets and backups are encrypted with this component's KMS key
and log their accesses to the logs bucket. The logs bucket uses SSE-S3, because S3 server access
logging and load balancer logs can only be delivered to SSE-S3 buckets, and does not log to itself.
"""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.outputs import register_declared
from settings.edge import StorageConfig

from .iam import account_administers_key
from .tagging import component_tags

TLS_MIN_VERSION = 1.2
# Prefixes inside the logs bucket, one per producer; consumers write where the policy admits them.
S3_ACCESS_LOG_PREFIX = "s3"
LOAD_BALANCER_LOG_PREFIX = "nlb"  # AppService writes under nlb/<service>/
CDN_LOG_PREFIX = "cloudfront"
FLOW_LOG_PREFIX = "vpc-flow-logs"  # the VPC's flow logs (components/aws/network.py), Parquet under AWSLogs/<account>/
# CloudFront delivers logs through CloudWatch Logs' vended delivery, whose sources live in us-east-1.
CDN_LOG_DELIVERY_REGION = "us-east-1"

# Backups S3 expires by age: the MongoDB dumps (components/k8s/platform/mongodb.py BACKUP_PREFIX). Never the
# Elasticsearch snapshot repository (logging.py SNAPSHOT_PREFIX), whose retention SLM does.
EXPIRING_BACKUP_PREFIX = "mongodb/"


@dataclass(frozen=True)
class StorageArgs:
    environment: str
    account_id: str
    region: str
    config: StorageConfig
    flow_log_retention_days: int  # insight:network.flowLogsRetentionDays, applied to the flow-log prefix
    # Protect and retain the irreplaceable buckets (assets, backups, logs) and their key.
    protect: bool
    # Object Lock (governance mode) on the backups bucket for its retention (the tier's locked_backups).
    lock_backups: bool = False


def bucket_name(environment: str, purpose: str, account_id: str) -> str:
    """Globally unique and predictable: one account per stack."""
    return f"insight-{environment}-{purpose}-{account_id}"


def tls_only_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """Refuse every request over plain HTTP or older TLS, whoever makes it."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": TLS_MIN_VERSION}},
        },
    ]


def bucket_policy(bucket_arn: str, grants: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [*tls_only_statements(bucket_arn), *(grants or [])]})


def log_delivery_grants(bucket_arn: str, account_id: str, region: str) -> list[dict[str, Any]]:
    """Who may write into the logs bucket, each under its own prefix and only for this account.

    Network load balancer and CloudFront (standard logging v2) logs both come through CloudWatch Logs'
    vended delivery, which first checks the bucket's ACL and writes with bucket-owner-full-control.
    """
    same_account = {"aws:SourceAccount": account_id}

    def vended(sid: str, prefix: str, source_arn: str) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{prefix}/*",
            "Condition": {
                "StringEquals": {**same_account, "s3:x-amz-acl": "bucket-owner-full-control"},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        }

    return [
        {
            "Sid": "S3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{S3_ACCESS_LOG_PREFIX}/*",
            "Condition": {"StringEquals": same_account},
        },
        {
            "Sid": "LogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": same_account},
        },
        vended("LoadBalancerAccessLogs", LOAD_BALANCER_LOG_PREFIX, f"arn:aws:logs:{region}:{account_id}:*"),
        vended("CloudFrontAccessLogs", CDN_LOG_PREFIX, f"arn:aws:logs:{CDN_LOG_DELIVERY_REGION}:{account_id}:delivery-source:*"),
        vended("VpcFlowLogs", f"{FLOW_LOG_PREFIX}/AWSLogs/{account_id}", f"arn:aws:logs:{region}:{account_id}:*"),
    ]


def key_policy(account_id: str) -> str:
    """IAM administers the key; CloudFront may decrypt assets, only for distributions of this account."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                account_administers_key(account_id),
                {
                    # The key is created before the distribution; the assets bucket policy names the one distribution.
                    "Sid": "CloudFrontReadsAssets",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{account_id}:distribution/*"}},
                },
            ],
        }
    )


def lifecycle_rules(purpose: str, cfg: StorageConfig, flow_log_days: int) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """Every bucket drops old versions and abandoned uploads; logs move to IA and expire; backups expire.

    Flow logs keep their own retention; where two expirations overlap S3 applies the earlier one.
    """
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": cfg.noncurrent_version_days},
            # A delete marker left with no versions behind it is removed too.
            "expiration": {"expired_object_delete_marker": True},
        },
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": cfg.abort_incomplete_upload_days},
        },
    ]
    if purpose == "logs":
        rules.append(
            {
                "id": "age-logs",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "transitions": [{"days": cfg.log_transition_days, "storage_class": "STANDARD_IA"}],
                "expiration": {"days": cfg.log_retention_days},
            }
        )
        rules.append(
            {
                "id": "expire-flow-logs",
                "status": "Enabled",
                "filter": {"prefix": f"{FLOW_LOG_PREFIX}/"},
                "expiration": {"days": flow_log_days},
            }
        )
    if purpose == "backups":
        rules.append(
            # Only the dumps: the Elasticsearch snapshot repository's blobs are shared by later snapshots, and SLM
            # retires them itself; S3 expiring them would silently corrupt the repository.
            {
                "id": "expire-backups",
                "status": "Enabled",
                "filter": {"prefix": EXPIRING_BACKUP_PREFIX},
                "expiration": {"days": cfg.backup_retention_days},
            }
        )
    return rules


class Storage(pulumi.ComponentResource):
    """Exposes each bucket's name and ARN, the assets bucket's regional domain (the CDN origin) and the KMS key."""

    kms_key_arn: pulumi.Output[str]
    logs_bucket_name: pulumi.Output[str]
    logs_bucket_arn: pulumi.Output[str]
    backups_bucket_name: pulumi.Output[str]
    backups_bucket_arn: pulumi.Output[str]
    assets_bucket_name: pulumi.Output[str]
    assets_bucket_arn: pulumi.Output[str]
    assets_bucket_regional_domain_name: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:storage:Storage", name, None, opts)
        self._args = args
        self._tags = component_tags("storage")
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

        self.key = aws.kms.Key(
            f"{name}-buckets",
            description=f"Default encryption of the insight-{args.environment} assets and backups buckets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(args.account_id),
            tags=self._tags,
            opts=kept,
        )
        aws.kms.Alias(
            f"{name}-buckets",
            name=f"alias/insight-{args.environment}-buckets",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        # Access logs are audit evidence: kept like the data.
        self.logs, logs_block = self._bucket(f"{name}-logs", "logs", kms_key_arn=None, opts=kept)
        self.logs_policy = aws.s3.BucketPolicy(
            f"{name}-logs",
            bucket=self.logs.id,
            policy=self.logs.arn.apply(lambda arn: bucket_policy(arn, log_delivery_grants(arn, args.account_id, args.region))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs_block]),
        )

        self.assets, self.assets_public_access_block = self._bucket(f"{name}-assets", "assets", kms_key_arn=self.key.arn, opts=kept)
        self.backups, backups_block = self._bucket(f"{name}-backups", "backups", kms_key_arn=self.key.arn, opts=kept)
        if args.lock_backups:
            # Governance-mode Object Lock: no backup version can be deleted or overwritten before it expires, even
            # by a stolen deploy role, unless someone holds s3:BypassGovernanceRetention (nobody does by default).
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-backups",
                bucket=self.backups.id,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": "GOVERNANCE", "days": args.config.backup_retention_days}},
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
        # The assets bucket's policy admits the CDN's distribution, so the CDN declares it (see components/cdn.py).
        self.backups_policy = aws.s3.BucketPolicy(
            f"{name}-backups",
            bucket=self.backups.id,
            policy=self.backups.arn.apply(bucket_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[backups_block]),
        )
        for logged, purpose in ((self.assets, "assets"), (self.backups, "backups")):
            aws.s3.BucketLogging(
                f"{name}-{purpose}",
                bucket=logged.id,
                target_bucket=self.logs.id,
                target_prefix=f"{S3_ACCESS_LOG_PREFIX}/{purpose}/",
                target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.logs_policy]),
            )

        self.kms_key_arn = self.key.arn
        self.logs_bucket_name = self.logs.bucket
        self.logs_bucket_arn = self.logs.arn
        self.backups_bucket_name = self.backups.bucket
        self.backups_bucket_arn = self.backups.arn
        self.assets_bucket_name = self.assets.bucket
        self.assets_bucket_arn = self.assets.arn
        self.assets_bucket_regional_domain_name = self.assets.bucket_regional_domain_name
        register_declared(self)

    def _bucket(
        self, name: str, purpose: str, kms_key_arn: pulumi.Output[str] | None, opts: pulumi.ResourceOptions
    ) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        """The bucket and its hardening; the public access block is returned so its policy is put after it."""
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name(args.environment, purpose, args.account_id),
            # Only the throwaway test stack may delete a bucket that still holds objects.
            force_destroy=not args.protect,
            tags=component_tags("storage", purpose=purpose),
            opts=opts,
        )
        block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn} if kms_key_arn is not None else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": encryption, "bucket_key_enabled": kms_key_arn is not None}],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=lifecycle_rules(purpose, args.config, args.flow_log_retention_days),
            # Lifecycle rules on versions need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        return bucket, block
