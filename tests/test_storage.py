"""The assets, logs and backups buckets and their hardening, in each stack."""

import json

import pytest

from components.aws.storage import CDN_LOG_PREFIX, FLOW_LOG_PREFIX, LOAD_BALANCER_LOG_PREFIX, S3_ACCESS_LOG_PREFIX, TLS_MIN_VERSION
from settings.edge import StorageConfig

from .conftest import declared

PURPOSES = ("assets", "logs", "backups")
ACCOUNTS = {"test": "111111111111", "staging": "222222222222", "prod": "333333333333"}
LOG_DAYS = {"test": 90, "staging": 180, "prod": 400}
BACKUP_DAYS = {"test": 14, "staging": 30, "prod": 90}


def companion(run, type_: str, purpose: str):
    return run.one(type_, f"storage-{purpose}")


def policy_of(run, purpose: str) -> dict:
    """The bucket's policy document, wherever it is declared (the CDN declares the assets bucket's)."""
    record = run.one("aws:s3/bucketPolicy:BucketPolicy", "cdn-assets" if purpose == "assets" else f"storage-{purpose}")
    return json.loads(record.inputs["policy"])


def statement(policy: dict, sid: str) -> dict:
    found = [s for s in policy["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, [s.get("Sid") for s in policy["Statement"]]
    return found[0]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_bucket_is_named_for_stack_and_account(run, purpose):
    bucket = companion(run, "aws:s3/bucket:Bucket", purpose)
    assert bucket.inputs["bucket"] == f"insight-{run.stack}-{purpose}-{ACCOUNTS[run.stack]}"
    assert bucket.inputs["tags"] == {"component": "storage", "purpose": purpose}
    assert run.outputs[f"{purpose}BucketName"] == bucket.inputs["bucket"]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_public_access_blocked_and_acls_disabled(run, purpose):
    block = companion(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", purpose)
    assert {
        k: block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    } == dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    ownership = companion(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", purpose)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_encryption_sse_kms_except_log_delivery_target(run, purpose):
    rule = companion(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", purpose).inputs[
        "rules"
    ][0]
    default = rule["applyServerSideEncryptionByDefault"]
    if purpose == "logs":  # S3 access logs and load balancer logs are delivered only to SSE-S3 buckets
        assert default == {"sseAlgorithm": "AES256"}
    else:
        key = run.one("aws:kms/key:Key", "storage-buckets")
        assert key.inputs["enableKeyRotation"] is True
        assert default["sseAlgorithm"] == "aws:kms"
        assert default["kmsMasterKeyId"].startswith("arn:aws:kms:")
        assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("purpose", PURPOSES)
def test_versioning_and_lifecycle(run, purpose):
    versioning = companion(run, "aws:s3/bucketVersioning:BucketVersioning", purpose)
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    lifecycle = companion(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", purpose)
    assert versioning.urn in lifecycle.dependencies
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    assert all(r["status"] == "Enabled" for r in rules.values())
    defaults = StorageConfig()
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": defaults.noncurrent_version_days}
    assert rules["expire-noncurrent-versions"]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": defaults.abort_incomplete_upload_days
    }
    if purpose == "logs":
        assert rules["age-logs"]["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"}]
        assert rules["age-logs"]["expiration"] == {"days": LOG_DAYS[run.stack]}
        flow = rules["expire-flow-logs"]  # insight:network.flowLogsRetentionDays (the earlier expiration applies)
        assert flow["filter"] == {"prefix": f"{FLOW_LOG_PREFIX}/"}
        assert flow["expiration"] == {"days": run.settings.network.flow_logs_retention_days}
    if purpose == "backups":
        assert rules["expire-backups"]["expiration"] == {"days": BACKUP_DAYS[run.stack]}
    if purpose == "assets":
        assert set(rules) == {"expire-noncurrent-versions", "abort-incomplete-uploads"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_policy_refuses_plain_http_and_old_tls(run, purpose):
    policy = policy_of(run, purpose)
    arn = f"arn:aws:s3:::insight-{run.stack}-{purpose}-{ACCOUNTS[run.stack]}"
    insecure = statement(policy, "DenyInsecureTransport")
    assert insecure["Effect"] == "Deny" and insecure["Principal"] == "*" and insecure["Action"] == "s3:*"
    assert insecure["Resource"] == [arn, f"{arn}/*"]
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    old_tls = statement(policy, "DenyOutdatedTls")
    assert old_tls["Effect"] == "Deny" and old_tls["Condition"] == {"NumericLessThan": {"s3:TlsVersion": TLS_MIN_VERSION}}
    # Nothing is ever granted to everyone.
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow" and s["Principal"] == "*"]


def test_logs_bucket_admits_each_log_producer_under_its_prefix(run):
    policy = policy_of(run, "logs")
    account = ACCOUNTS[run.stack]
    arn = f"arn:aws:s3:::insight-{run.stack}-logs-{account}"
    s3 = statement(policy, "S3ServerAccessLogs")
    assert s3["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert s3["Resource"] == f"{arn}/{S3_ACCESS_LOG_PREFIX}/*"
    assert s3["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    acl_check = statement(policy, "LogDeliveryAclCheck")
    assert (acl_check["Action"], acl_check["Resource"]) == ("s3:GetBucketAcl", arn)
    region = {"test": "us-west-2", "staging": "us-west-2", "prod": "ap-northeast-1"}[run.stack]
    for sid, prefix, source in (
        ("LoadBalancerAccessLogs", LOAD_BALANCER_LOG_PREFIX, f"arn:aws:logs:{region}:{account}:*"),
        ("CloudFrontAccessLogs", CDN_LOG_PREFIX, f"arn:aws:logs:us-east-1:{account}:delivery-source:*"),
        # VPC flow logs write under <prefix>/AWSLogs/<account>/ (components/aws/network.py).
        ("VpcFlowLogs", f"{FLOW_LOG_PREFIX}/AWSLogs/{account}", f"arn:aws:logs:{region}:{account}:*"),
    ):
        vended = statement(policy, sid)
        assert vended["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
        assert vended["Resource"] == f"{arn}/{prefix}/*"
        assert vended["Condition"] == {
            "StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"},
            "ArnLike": {"aws:SourceArn": source},
        }
    grants = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert {s["Action"] for s in grants} == {"s3:PutObject", "s3:GetBucketAcl"}
    assert all(s["Condition"]["StringEquals"]["aws:SourceAccount"] == account for s in grants)


@pytest.mark.parametrize("purpose", ("assets", "backups"))
def test_access_logged_to_the_logs_bucket(run, purpose):
    logging = companion(run, "aws:s3/bucketLogging:BucketLogging", purpose)
    assert logging.inputs["targetBucket"] == companion(run, "aws:s3/bucketPolicy:BucketPolicy", "logs").inputs["bucket"]
    assert logging.inputs["targetPrefix"] == f"{S3_ACCESS_LOG_PREFIX}/{purpose}/"
    # Delivery starts only once the logs bucket admits the logging service.
    assert companion(run, "aws:s3/bucketPolicy:BucketPolicy", "logs").urn in logging.dependencies


def test_logs_bucket_does_not_log_into_itself(run):
    assert {r.name for r in run.of_type("aws:s3/bucketLogging:BucketLogging")} == {"storage-assets", "storage-backups"}


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_assets_backups_and_their_key_protected_and_retained_outside_test(stack):
    run = declared(stack)
    kept = stack != "test"
    for type_, name in (
        ("aws:s3/bucket:Bucket", "storage-assets"),
        ("aws:s3/bucket:Bucket", "storage-backups"),
        ("aws:kms/key:Key", "storage-buckets"),
    ):
        record = run.one(type_, name)
        assert (record.protect, record.retain_on_delete) == (kept, kept), name
    for purpose in PURPOSES:
        # Only the throwaway test stack may delete buckets that still hold objects.
        assert run.one("aws:s3/bucket:Bucket", f"storage-{purpose}").inputs["forceDestroy"] is not kept


def test_bucket_key_lets_cloudfront_decrypt_only_for_this_account(run):
    policy = json.loads(run.one("aws:kms/key:Key", "storage-buckets").inputs["policy"])
    cdn = statement(policy, "CloudFrontReadsAssets")
    assert cdn["Action"] == "kms:Decrypt"
    assert cdn["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNTS[run.stack]}:distribution/*"}}


def test_backups_expire_only_the_dumps_never_the_snapshot_repository(run):
    from components.aws.storage import EXPIRING_BACKUP_PREFIX
    from components.k8s.platform.logging import SNAPSHOT_PREFIX
    from components.k8s.platform.mongodb import BACKUP_PREFIX

    [backups] = [b for b in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration") if "backups" in b.name]
    [rule] = [r for r in backups.inputs["rules"] if r["id"] == "expire-backups"]
    assert rule["filter"]["prefix"] == EXPIRING_BACKUP_PREFIX == f"{BACKUP_PREFIX}/"
    assert not f"{SNAPSHOT_PREFIX}/".startswith(rule["filter"]["prefix"])
