"""Registry, storage, CDN, DNS and load balancers: private, encrypted, versioned, logged, TLS only."""

import re
from collections.abc import Iterator, Sequence

from .base import Registry, Resource, as_list, companions, dig, json_document, of_type, statements, truthy

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
# ECR encrypts with KMS under both: KMS_DSSE is two layers of it.
ECR_KMS = frozenset({"KMS", "KMS_DSSE"})
# Condition keys that make a policy statement non-public when tested for fixed values (S3 User Guide, "The meaning of
# public"; Access Analyzer reads them alike). Keys compare case-insensitively.
NON_PUBLIC_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceOwner",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:userid",
        "s3:DataAccessPointAccount",
        "s3:DataAccessPointArn",
    )
)


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
    if not any(dig(e, "encryptionType") in ECR_KMS for e in as_list(repo.get("encryptionConfigurations"))):
        yield "encryptionConfigurations must use KMS"


def _expired_tag_statuses(lifecycle: Resource) -> set[str]:
    """The image tag statuses an ECR lifecycle policy expires ("any" covers tagged and untagged)."""
    rules_ = as_list(json_document(lifecycle.get("policy")).get("rules"))
    return {str(dig(r, "selection", "tagStatus")) for r in rules_ if dig(r, "action", "type") == "expire"}


@rules.stack("ecr-lifecycle", "Every repository expires old and untagged images.")
def ecr_lifecycle(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for repo in of_type(resources, REPOSITORY):
        policies = companions(resources, repo, ECR_LIFECYCLE)
        if not policies:
            yield repo, "no lifecycle policy"
            continue
        expired = set().union(*map(_expired_tag_statuses, policies))
        for status in ("untagged", "tagged"):
            if not expired & {status, "any"}:
                yield repo, f"no lifecycle rule expires {status} images (tagStatus {status} or any)"


def _public_principal(statement: dict) -> bool:
    """Allows everyone: Principal "*" or {"AWS": "*"}, or NotPrincipal (everyone but those named)."""
    principal = statement.get("Principal")
    everyone = principal == "*" or "*" in as_list(dig(principal, "AWS")) or "NotPrincipal" in statement
    return statement.get("Effect") == "Allow" and everyone


def _narrows_to_known_callers(condition: object) -> bool:
    """A condition keeps a statement from being public only when it tests a caller-identifying key (NON_PUBLIC_KEYS)
    for fixed values: not a wildcard, not a negated operator, not all addresses."""
    for operator, tests in condition.items() if isinstance(condition, dict) else ():
        if "Not" in operator or "IfExists" in operator or operator == "Null":  # these let unnamed callers through
            continue
        for key, values in tests.items() if isinstance(tests, dict) else ():
            fixed = [str(v) for v in as_list(values) if "*" not in str(v) and str(v) not in ("0.0.0.0/0", "::/0")]
            if str(key).lower() in NON_PUBLIC_KEYS and fixed and len(fixed) == len(as_list(values)):
                return True
    return False


@rules.resource("never-public", "Repositories and buckets never grant access to everyone.", [REPOSITORY_POLICY, BUCKET_POLICY])
def never_public(policy: Resource) -> Iterator[str]:
    for statement in statements(policy.get("policy")):
        if _public_principal(statement) and not _narrows_to_known_callers(statement.get("Condition")):
            yield f"statement {statement.get('Sid', '')!r} allows everyone without a condition naming the callers"


@rules.resource("s3-public-access-block", "All four public access block switches are on.", [PUBLIC_ACCESS_BLOCK])
def public_access_block(block: Resource) -> Iterator[str]:
    off = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets") if not truthy(block.get(k))]
    if off:
        yield f"{', '.join(off)} must be true"


@rules.resource("s3-no-acls", "Object ownership is enforced: ACLs are disabled, access is by policy only.", [OWNERSHIP, BUCKET, BUCKET_ACL])
def no_acls(r: Resource) -> Iterator[str]:
    if r.type == OWNERSHIP and r.get("rule", "objectOwnership") != "BucketOwnerEnforced":
        yield "rule.objectOwnership must be BucketOwnerEnforced"
    elif r.type == BUCKET and r.get("acl") not in (None, "", "private"):
        yield f"bucket sets acl {r.get('acl')!r}"  # "private" (owner only) is the one canned ACL enforced ownership takes
    elif r.type == BUCKET and r.get("grants"):
        yield "bucket sets ACL grants"
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


def _whole_bucket(rule: object) -> bool:
    """A lifecycle rule reaches every object only without a prefix, tag or size filter."""
    filter_ = dig(rule, "filter", default={})
    narrowing = [v for v in (filter_.values() if isinstance(filter_, dict) else [filter_]) if v not in (None, "", {}, [])]
    return not narrowing and not dig(rule, "prefix")


@rules.resource("s3-lifecycle", "Lifecycle rules expire old versions and abort incomplete uploads.", [LIFECYCLE])
def lifecycle(config: Resource) -> Iterator[str]:
    enabled = [r for r in as_list(config.get("rules")) if dig(r, "status") == "Enabled" and _whole_bucket(r)]
    if not any(dig(r, "noncurrentVersionExpiration") for r in enabled):
        yield "no enabled rule for the whole bucket expires noncurrent versions"
    if not any(dig(r, "abortIncompleteMultipartUpload") for r in enabled):
        yield "no enabled rule for the whole bucket aborts incomplete multipart uploads"


def _access_logged(bucket: Resource, resources: Sequence[Resource]) -> bool:
    """A BucketLogging depends on its source and on its target when the stack declares it. With ACLs disabled, S3 delivers
    only into a bucket whose policy admits log delivery: so of the stack's buckets a logging names, those that do not
    admit it are sources, and their logs land only if it names one that does (or its target is outside the stack)."""
    for logging in companions(resources, bucket, BUCKET_LOGGING):
        others = [b for b in of_type(resources, BUCKET) if b.urn != bucket.urn and logging.depends_on(b)]
        if not others or any(receives_log_deliveries(b, resources) for b in others):
            return True
    return False


def _denies_plain_http(statement: dict) -> bool:
    """Denies every S3 action to everyone when aws:SecureTransport is false (condition keys are case-insensitive)."""
    tests = dig(statement, "Condition", "Bool", default={})
    secure = [v for k, v in tests.items() if str(k).lower() == "aws:securetransport"] if isinstance(tests, dict) else []
    everyone = statement.get("Principal") == "*" or "*" in as_list(dig(statement, "Principal", "AWS"))
    every_action = any(str(a).lower() in ("*", "s3:*") for a in as_list(statement.get("Action")))
    plain = any(str(v).lower() == "false" for s in secure for v in as_list(s))
    return statement.get("Effect") == "Deny" and everyone and every_action and plain


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
        if not log_target and not _access_logged(bucket, resources):
            yield bucket, "no server access logging into a bucket that admits log delivery"
        if not log_target:
            for config in companions(resources, bucket, ENCRYPTION):
                if any(dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") == "AES256" for r in as_list(config.get("rules"))):
                    yield bucket, "data bucket encrypted with SSE-S3; use aws:kms"


# An S3 REST endpoint, however the origin is declared: reaching it without OAC needs a public bucket.
S3_DOMAIN = re.compile(r"\.s3(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$|\.s3\.dualstack\.")


def _behaviors(distribution: Resource) -> list[dict]:
    return [distribution.get("defaultCacheBehavior", default={}), *as_list(distribution.get("orderedCacheBehaviors"))]


@rules.resource("cdn-https-tls12", "Viewers reach the CDN over HTTPS only, TLS 1.2 or newer.", [DISTRIBUTION])
def cdn_https(distribution: Resource) -> Iterator[str]:
    for behavior in _behaviors(distribution):
        if behavior.get("viewerProtocolPolicy") not in ("https-only", "redirect-to-https"):
            yield f"behavior {behavior.get('pathPattern', 'default')} allows plain HTTP"
    if not _tls12_or_newer(distribution):
        yield "viewerCertificate.minimumProtocolVersion must be TLSv1.2_* or newer, on a certificate of our own"
    for origin in as_list(distribution.get("origins")):
        policy = dig(origin, "customOriginConfig", "originProtocolPolicy")
        if policy not in (None, "https-only", "match-viewer"):  # viewers reach us over HTTPS only, so matching them is HTTPS
            yield f"origin {origin.get('originId')} is fetched over {policy}"


def _tls12_or_newer(distribution: Resource) -> bool:
    """CloudFront's default certificate serves TLSv1 whatever minimumProtocolVersion says."""
    certificate = distribution.get("viewerCertificate", default={})
    version = re.match(r"TLSv(\d+)\.(\d+)_", str(dig(certificate, "minimumProtocolVersion", default="")))
    return (
        not truthy(dig(certificate, "cloudfrontDefaultCertificate"))
        and version is not None
        and (int(version[1]), int(version[2])) >= (1, 2)
    )


@rules.resource("cdn-oac", "S3 origins are reached through Origin Access Control, never a public bucket.", [DISTRIBUTION])
def cdn_oac(distribution: Resource) -> Iterator[str]:
    for origin in as_list(distribution.get("origins")):
        domain = str(dig(origin, "domainName", default="")).lower()
        if re.search(r"\.s3-website[.-]", domain):
            yield f"origin {origin.get('originId')} is an S3 website endpoint: a public bucket"
        elif (S3_DOMAIN.search(domain) or not dig(origin, "customOriginConfig")) and not dig(origin, "originAccessControlId"):
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
        ages = [p.get("securityHeadersConfig", "strictTransportSecurity", "accessControlMaxAgeSec") for p in policies]
        if not any(_seconds(a) >= HSTS_MIN_AGE for a in ages):
            yield distribution, f"no response headers policy with HSTS max-age >= {HSTS_MIN_AGE}"


def _seconds(value: object) -> float:
    """Numbers reach the pack as floats (protobuf Struct) and may be written as strings."""
    if isinstance(value, bool):
        return 0
    try:
        return float(value) if isinstance(value, int | float | str) else 0
    except ValueError:
        return 0


@rules.resource("cdn-waf", "The production CDN sits behind a WAF web ACL.", [DISTRIBUTION], severity="production")
def cdn_waf(distribution: Resource) -> Iterator[str]:
    if not distribution.get("webAclId"):
        yield "webAclId is not set"


@rules.stack("dns-query-logging", "Every public zone logs its queries.")
def dns_query_logging(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for zone in of_type(resources, ZONE):
        if zone.get("vpcs"):
            continue  # a private zone: Route 53 query logging is for public zones (Resolver logs the private ones)
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
    # The provider takes the protocol and action type in any case; a redirect keeps HTTP unless it names HTTPS.
    # An HTTP listener that only redirects to HTTPS carries no content in plain text: it speaks TLS only.
    redirects = [a for a in as_list(listener.get("defaultActions")) if str(dig(a, "type")).lower() == "redirect"]
    upgrades = bool(redirects) and all(dig(a, "redirect", "protocol") == "HTTPS" for a in redirects)
    if str(listener.get("protocol")).upper() not in ("HTTPS", "TLS") and not upgrades:
        yield f"protocol {listener.get('protocol')} is not TLS and does not redirect to HTTPS"
