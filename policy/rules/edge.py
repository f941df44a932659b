"""Registry, storage, CDN, DNS and load balancers: private, encrypted, versioned, logged, TLS only."""

from collections.abc import Iterator, Sequence

from .base import Registry, Resource, as_list, companions, dig, of_type, statements, truthy

rules = Registry()

REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RESPONSE_HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
# Standard logging v2: CloudWatch vended log delivery from the distribution to the logs bucket.
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
ZONE = "aws:route53/zone:Zone"
QUERY_LOG = "aws:route53/queryLog:QueryLog"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
# AWS services that write logs into a bucket: such a bucket needs SSE-S3 and cannot log into itself.
LOG_DELIVERY_SERVICES = frozenset({"logging.s3.amazonaws.com", "delivery.logs.amazonaws.com"})
HSTS_MIN_AGE = 31_536_000  # one year, the preload list's minimum


def receives_log_deliveries(bucket: Resource, resources: Sequence[Resource]) -> bool:
    """Known by what its policy grants (AWS log delivery may write into it), never by a tag anyone can set."""
    return any(
        dig(s, "Effect") == "Allow" and LOG_DELIVERY_SERVICES & set(map(str, as_list(dig(s, "Principal", "Service"))))
        for p in companions(resources, bucket, BUCKET_POLICY)
        for s in statements(p.get("policy"))
    )


@rules.resource("ecr-hardened", "Images are immutable, scanned on push and encrypted with KMS.", [REPOSITORY])
def ecr_hardened(repo: Resource) -> Iterator[str]:
    if repo.get("imageTagMutability") != "IMMUTABLE":
        yield "imageTagMutability must be IMMUTABLE"
    if not truthy(repo.get("imageScanningConfiguration", "scanOnPush")):
        yield "imageScanningConfiguration.scanOnPush must be true"
    if not any(dig(e, "encryptionType") == "KMS" for e in as_list(repo.get("encryptionConfigurations"))):
        yield "encryptionConfigurations must use KMS"


@rules.stack("ecr-lifecycle", "Every repository expires old and untagged images.")
def ecr_lifecycle(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for repo in of_type(resources, REPOSITORY):
        if not companions(resources, repo, ECR_LIFECYCLE):
            yield repo, "no lifecycle policy"


def _public_principal(statement: dict) -> bool:
    principal = statement.get("Principal")
    return statement.get("Effect") == "Allow" and (principal == "*" or "*" in as_list(dig(principal, "AWS")))


@rules.resource("never-public", "Repositories and buckets never grant access to everyone.", [REPOSITORY_POLICY, BUCKET_POLICY])
def never_public(policy: Resource) -> Iterator[str]:
    for statement in statements(policy.get("policy")):
        if _public_principal(statement) and not statement.get("Condition"):
            yield f"statement {statement.get('Sid', '')!r} allows Principal '*' without a condition"


@rules.resource("s3-public-access-block", "All four public access block switches are on.", [PUBLIC_ACCESS_BLOCK])
def public_access_block(block: Resource) -> Iterator[str]:
    off = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets") if not truthy(block.get(k))]
    if off:
        yield f"{', '.join(off)} must be true"


@rules.resource("s3-no-acls", "Object ownership is enforced: ACLs are disabled, access is by policy only.", [OWNERSHIP, BUCKET, BUCKET_ACL])
def no_acls(r: Resource) -> Iterator[str]:
    if r.type == OWNERSHIP and r.get("rule", "objectOwnership") != "BucketOwnerEnforced":
        yield "rule.objectOwnership must be BucketOwnerEnforced"
    elif r.type == BUCKET and r.get("acl"):
        yield f"bucket sets acl {r.get('acl')!r}"
    elif r.type == BUCKET_ACL:
        yield "BucketAcl resources are not allowed"


@rules.resource("s3-encryption", "Data buckets use SSE-KMS; only the log-delivery bucket may use SSE-S3.", [ENCRYPTION])
def encryption(config: Resource) -> Iterator[str]:
    algorithms = {dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in as_list(config.get("rules"))}
    if not algorithms or not algorithms <= {"aws:kms", "aws:kms:dsse", "AES256"}:
        yield f"no default encryption (sseAlgorithm {sorted(map(str, algorithms))})"


@rules.resource("s3-versioning", "Versioning keeps overwritten and deleted objects recoverable.", [VERSIONING])
def versioning(config: Resource) -> Iterator[str]:
    if config.get("versioningConfiguration", "status") != "Enabled":
        yield "versioningConfiguration.status must be Enabled"


@rules.resource("s3-lifecycle", "Lifecycle rules expire old versions and abort incomplete uploads.", [LIFECYCLE])
def lifecycle(config: Resource) -> Iterator[str]:
    enabled = [r for r in as_list(config.get("rules")) if dig(r, "status") == "Enabled"]
    if not any(dig(r, "noncurrentVersionExpiration") for r in enabled):
        yield "no enabled rule expires noncurrent versions"
    if not any(dig(r, "abortIncompleteMultipartUpload") for r in enabled):
        yield "no enabled rule aborts incomplete multipart uploads"


def _denies_plain_http(statement: dict) -> bool:
    secure = dig(statement, "Condition", "Bool", "aws:SecureTransport")
    return statement.get("Effect") == "Deny" and str(secure).lower() == "false"


@rules.stack(
    "s3-companions",
    "Every bucket has its public access block, ownership, encryption, versioning, lifecycle, TLS-only policy and access log.",
)
def s3_companions(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    required = {
        PUBLIC_ACCESS_BLOCK: "public access block",
        OWNERSHIP: "ownership controls",
        ENCRYPTION: "default encryption",
        VERSIONING: "versioning",
        LIFECYCLE: "lifecycle configuration",
    }
    for bucket in of_type(resources, BUCKET):
        for type_, what in required.items():
            if not companions(resources, bucket, type_):
                yield bucket, f"no {what}"
        policies = companions(resources, bucket, BUCKET_POLICY)
        if not any(_denies_plain_http(s) for p in policies for s in statements(p.get("policy"))):
            yield bucket, "no bucket policy denying aws:SecureTransport false"
        log_target = receives_log_deliveries(bucket, resources)
        if not log_target and not companions(resources, bucket, BUCKET_LOGGING):
            yield bucket, "no server access logging"
        if not log_target:
            for config in companions(resources, bucket, ENCRYPTION):
                if any(dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") == "AES256" for r in as_list(config.get("rules"))):
                    yield bucket, "data bucket encrypted with SSE-S3; use aws:kms"


def _behaviors(distribution: Resource) -> list[dict]:
    return [distribution.get("defaultCacheBehavior", default={}), *as_list(distribution.get("orderedCacheBehaviors"))]


@rules.resource("cdn-https-tls12", "Viewers reach the CDN over HTTPS only, TLS 1.2 or newer.", [DISTRIBUTION])
def cdn_https(distribution: Resource) -> Iterator[str]:
    for behavior in _behaviors(distribution):
        if behavior.get("viewerProtocolPolicy") not in ("https-only", "redirect-to-https"):
            yield f"behavior {behavior.get('pathPattern', 'default')} allows plain HTTP"
    if not str(distribution.get("viewerCertificate", "minimumProtocolVersion", default="")).startswith("TLSv1.2"):
        yield "viewerCertificate.minimumProtocolVersion must be TLSv1.2_*"
    for origin in as_list(distribution.get("origins")):
        policy = dig(origin, "customOriginConfig", "originProtocolPolicy")
        if policy is not None and policy != "https-only":
            yield f"origin {origin.get('originId')} is fetched over {policy}"


@rules.resource("cdn-oac", "S3 origins are reached through Origin Access Control, never a public bucket.", [DISTRIBUTION])
def cdn_oac(distribution: Resource) -> Iterator[str]:
    for origin in as_list(distribution.get("origins")):
        if not dig(origin, "customOriginConfig") and not dig(origin, "originAccessControlId"):
            yield f"S3 origin {origin.get('originId')} has no originAccessControlId"


@rules.stack("cdn-logging", "The CDN writes access logs (legacy loggingConfig or standard logging v2).")
def cdn_logging(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for distribution in of_type(resources, DISTRIBUTION):
        if distribution.get("loggingConfig", "bucket"):
            continue
        sources = [s for s in companions(resources, distribution, LOG_DELIVERY_SOURCE) if s.get("logType") == "ACCESS_LOGS"]
        if not any(companions(resources, s, LOG_DELIVERY) for s in sources):
            yield distribution, "no loggingConfig.bucket and no ACCESS_LOGS delivery (LogDeliverySource + LogDelivery)"


@rules.stack("cdn-hsts", "Browsers are told to stay on HTTPS (HSTS, one year).")
def cdn_hsts(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for distribution in of_type(resources, DISTRIBUTION):
        policies = [p for p in of_type(resources, RESPONSE_HEADERS) if distribution.depends_on(p)]
        ages = [p.get("securityHeadersConfig", "strictTransportSecurity", "accessControlMaxAgeSec", default=0) for p in policies]
        if not any(isinstance(a, int) and a >= HSTS_MIN_AGE for a in ages):
            yield distribution, f"no response headers policy with HSTS max-age >= {HSTS_MIN_AGE}"


@rules.resource("cdn-waf", "The production CDN sits behind a WAF web ACL.", [DISTRIBUTION], severity="production")
def cdn_waf(distribution: Resource) -> Iterator[str]:
    if not distribution.get("webAclId"):
        yield "webAclId is not set"


@rules.stack("dns-query-logging", "Every public zone logs its queries.")
def dns_query_logging(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for zone in of_type(resources, ZONE):
        if not companions(resources, zone, QUERY_LOG):
            yield zone, "no Route53 query log"


@rules.resource(
    "lb-hardened", "Load balancers log access, balance across zones, and cannot be deleted by accident in prod.", [LOAD_BALANCER]
)
def lb_hardened(lb: Resource) -> Iterator[str]:
    if not truthy(lb.get("accessLogs", "enabled")):
        yield "accessLogs.enabled must be true"
    if lb.get("loadBalancerType") == "network" and not truthy(lb.get("enableCrossZoneLoadBalancing")):
        yield "enableCrossZoneLoadBalancing must be true"
    if lb.policy.lb_deletion_protection and not truthy(lb.get("enableDeletionProtection")):
        yield f"enableDeletionProtection must be true in {lb.policy.name}"


@rules.resource("lb-tls", "Listeners speak TLS only.", [LISTENER])
def lb_tls(listener: Resource) -> Iterator[str]:
    redirect = any(dig(a, "type") == "redirect" for a in as_list(listener.get("defaultActions")))
    if listener.get("protocol") not in ("HTTPS", "TLS") and not redirect:
        yield f"protocol {listener.get('protocol')} is not TLS"
