"""Intents of the rules in policy/rules/edge.py (see tests/intents/__init__.py).

Oracles read what the AWS service does with the input: values the API rejects or ignores, defaults when a key is
absent, booleans the provider takes as strings, numbers the policy SDK hands over as floats, condition keys that
compare case-insensitively. Tags anyone can set are drawn into the cases and must never change a verdict.
"""

import json
from typing import Any

from hypothesis import strategies as st

from settings.tiers import TIER_NAMES, TIERS

from ..test_policy_rules import BUCKET, CDN, HEADERS, LB, LOG_GRANT, LOGS_BUCKET, REPO, ZONE, changed, res, s3_companions
from . import Case, Intents

TRUE = st.sampled_from([True, "true", "True"])  # the provider parses a string bool
NOT_TRUE = st.sampled_from([False, "false", None, "absent"])
USER_TAGS = st.dictionaries(
    st.sampled_from(["purpose", "exempt", "policy-skip", "Name"]), st.sampled_from(["logs", "true", "backups", "*"])
)


def mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """Good values twice as often as bad ones, so that cases where every dimension is good come up too."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(bad))


def is_true(value: Any) -> bool:
    return value is True or value in ("true", "True")


def present(**inputs: Any) -> dict[str, Any]:
    """Inputs without the ones drawn as "absent" (a key never written, unlike a null)."""
    return {k: v for k, v in inputs.items() if not (isinstance(v, str) and v == "absent")}


def as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


# -- ECR


def ecr_hardened() -> st.SearchStrategy[Case]:
    """ECR keeps a tag immutable only with IMMUTABLE (the _WITH_EXCLUSION variants leave some tags mutable, an absent
    value is MUTABLE); scans on push when scanOnPush is true; encrypts with KMS under KMS or KMS_DSSE (absent: AES256)."""
    mutability = mostly(["IMMUTABLE"], ["MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "absent"])
    encryption = mostly(
        [
            [{"encryptionType": "KMS_DSSE"}],
            [{"encryptionType": "KMS"}],
            [{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:ap-northeast-1:1:key/k"}],
        ],
        [[{"encryptionType": "AES256"}], [], "absent"],
    )

    def case(mutable: str, scan: Any, encrypted: Any, tags: dict) -> Case:
        inputs = present(
            imageTagMutability=mutable,
            imageScanningConfiguration="absent" if scan == "absent" else {"scanOnPush": scan},
            encryptionConfigurations=encrypted,
            tags=tags,
        )
        kms = any(e.get("encryptionType") in ("KMS", "KMS_DSSE") for e in as_list(None if encrypted == "absent" else encrypted))
        return Case([res(REPO.type, inputs, "repo")], violates=not (mutable == "IMMUTABLE" and is_true(scan) and kms))

    return st.builds(case, mutability, st.one_of(TRUE, TRUE, NOT_TRUE), encryption, USER_TAGS)


LIFECYCLE_RULES_ECR = {
    "untagged": {"selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}},
    "snapshots": {
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["*-SNAPSHOT*"],
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 14,
        }
    },
    "releases": {"selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}},
}


def ecr_lifecycle() -> st.SearchStrategy[Case]:
    """A repository sheds old and untagged images when the lifecycle policies attached to it expire untagged images and
    tagged ones ("any" covers both); a policy of another repository, or none, sheds nothing."""
    policy = st.tuples(st.lists(st.sampled_from(sorted(LIFECYCLE_RULES_ECR)), max_size=3, unique=True), st.booleans())

    def case(policies: list[tuple[list[str], bool]], as_json: bool) -> Case:
        repo, other = REPO, res(REPO.type, REPO.inputs, "other")
        resources = [repo]
        covered: set[str] = set()
        for i, (names, mine) in enumerate(policies):
            body = {
                "rules": [
                    {"rulePriority": n + 1, **LIFECYCLE_RULES_ECR[name], "action": {"type": "expire"}} for n, name in enumerate(names)
                ]
            }
            target = repo if mine else other
            resources.append(
                res(
                    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
                    {"policy": json.dumps(body) if as_json else body},
                    f"lc{i}",
                    deps=(target.urn,),
                )
            )
            if mine:
                covered |= {LIFECYCLE_RULES_ECR[name]["selection"]["tagStatus"] for name in names}
        sheds = {"untagged", "any"} & covered and {"tagged", "any"} & covered
        return Case(resources, violates=not sheds)

    return st.builds(case, st.lists(policy, max_size=2), st.booleans())


# -- never-public: a statement is public when it allows everyone and no condition names who may call.

PRINCIPALS = {  # principal spelling -> everyone?
    "*": True,
    '{"AWS": "*"}': True,
    '{"AWS": ["*"]}': True,
    '{"AWS": "arn:aws:iam::1:root"}': False,
    '{"Service": "cloudfront.amazonaws.com"}': False,
}
CONDITIONS = {  # condition -> narrows to known callers? (S3 User Guide, "The meaning of public")
    "null": False,
    '{"Bool": {"aws:SecureTransport": "true"}}': False,
    '{"StringEquals": {"aws:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}': True,
    '{"StringEquals": {"AWS:SourceAccount": "1"}}': True,
    '{"StringEquals": {"aws:PrincipalOrgID": ["o-1"]}}': True,
    '{"StringLike": {"aws:PrincipalArn": "*"}}': False,
    '{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}': False,
    '{"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}': True,
    '{"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}': False,
    '{"Null": {"aws:SourceArn": "false"}}': False,
    '{"StringEqualsIfExists": {"aws:SourceAccount": "1"}}': False,
}


def never_public() -> st.SearchStrategy[Case]:
    statement = st.tuples(
        st.sampled_from(["Allow", "Allow", "Deny"]), st.sampled_from([*PRINCIPALS, "NotPrincipal"]), st.sampled_from(sorted(CONDITIONS))
    )

    def case(type_: str, drawn: list[tuple[str, str, str]], as_json: bool) -> Case:
        statements = []
        public = False
        for effect, principal, condition in drawn:
            if principal == "NotPrincipal":
                who: dict[str, Any] = {"NotPrincipal": {"AWS": "arn:aws:iam::1:root"}}
            else:
                who = {"Principal": "*" if principal == "*" else json.loads(principal)}
            statements.append(
                {"Effect": effect, **who, "Action": "s3:GetObject", **({"Condition": json.loads(condition)} if condition != "null" else {})}
            )
            everyone = principal == "NotPrincipal" or PRINCIPALS[principal]  # NotPrincipal + Allow: everyone but those named
            public |= effect == "Allow" and everyone and not CONDITIONS[condition]
        body = {"Version": "2012-10-17", "Statement": statements}
        return Case([res(type_, {"policy": json.dumps(body) if as_json else body}, "pol")], violates=public)

    types = st.sampled_from(["aws:s3/bucketPolicy:BucketPolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy"])
    return st.builds(case, types, st.lists(statement, min_size=1, max_size=3), st.booleans())


# -- S3: one resource's settings at a time.

SWITCHES = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def public_access_block() -> st.SearchStrategy[Case]:
    """S3 blocks public access by a switch only when it is true; absent is false."""

    def case(values: tuple) -> Case:
        block = res(s3_companions(BUCKET)[0].type, present(**dict(zip(SWITCHES, values, strict=True))), "pab", deps=(BUCKET.urn,))
        return Case([block], violates=not all(map(is_true, values)))

    return st.tuples(*[st.one_of(TRUE, TRUE, NOT_TRUE) for _ in SWITCHES]).map(case)


ACLS = {
    "absent": False,
    None: False,
    "": False,
    "private": False,
    "public-read": True,
    "log-delivery-write": True,
    "authenticated-read": True,
}


def no_acls() -> st.SearchStrategy[Case]:
    """ACLs are off only under BucketOwnerEnforced; beside it S3 takes no ACL but "private" (owner only), and any
    grant or BucketAcl resource is an ACL in use."""
    ownership = mostly(["BucketOwnerEnforced"], ["BucketOwnerPreferred", "ObjectWriter", None])
    grants = mostly(
        ["absent", []], [[{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers", "permissions": ["READ"]}]]
    )

    def case(owner: str | None, acl: Any, grant: Any, bucket_acl: bool, tags: dict) -> Case:
        resources = [
            res(s3_companions(BUCKET)[1].type, {"rule": {"objectOwnership": owner}}, "own", deps=(BUCKET.urn,)),
            res(BUCKET.type, present(acl=acl, grants=grant, tags=tags), "backups"),
        ]
        if bucket_acl:
            resources.append(res("aws:s3/bucketAcl:BucketAcl", {"acl": "private"}, "acl", deps=(BUCKET.urn,)))
        acls_in_use = ACLS[acl] or bool(grant and grant != "absent") or bucket_acl
        return Case(resources, violates=owner != "BucketOwnerEnforced" or acls_in_use)

    acl = mostly([a for a, public in ACLS.items() if not public], [a for a, public in ACLS.items() if public])
    return st.builds(case, ownership, acl, grants, mostly([False], [True]), USER_TAGS)


ALGORITHMS = {"aws:kms": True, "aws:kms:dsse": True, "AES256": True, "aws:KMS": False, None: False}  # S3 refuses other spellings


def encryption() -> st.SearchStrategy[Case]:
    """Default encryption is set when every rule names an algorithm S3 accepts."""

    def case(algorithms: list[str | None] | None) -> Case:
        rules = (
            None
            if algorithms is None
            else [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": a}} if a else {"bucketKeyEnabled": True} for a in algorithms]
        )
        config = res(s3_companions(BUCKET)[2].type, present(rules=rules), "sse", deps=(BUCKET.urn,))
        return Case([config], violates=not algorithms or not all(ALGORITHMS[a] for a in algorithms))

    return st.one_of(st.none(), st.lists(st.sampled_from(list(ALGORITHMS)), max_size=2)).map(case)


def versioning() -> st.SearchStrategy[Case]:
    """Only "Enabled" keeps versions; Suspended stops it, and S3 refuses other spellings."""

    def case(status: str | None, mfa: str) -> Case:
        config = {"status": status, "mfaDelete": mfa} if status != "absent" else {}
        return Case(
            [res(s3_companions(BUCKET)[3].type, {"versioningConfiguration": config}, "ver", deps=(BUCKET.urn,))],
            violates=status != "Enabled",
        )

    return st.builds(
        case,
        st.sampled_from(["Enabled", "Enabled", "Suspended", "Disabled", "enabled", None, "absent"]),
        st.sampled_from(["Enabled", "Disabled"]),
    )


FILTERS = {  # filter -> the rule reaches every object?
    "absent": True,
    "{}": True,
    '{"prefix": ""}': True,
    '{"prefix": "tmp/"}': False,
    '{"tag": {"key": "class", "value": "scratch"}}': False,
    '{"objectSizeGreaterThan": 1024}': False,
}


def lifecycle() -> st.SearchStrategy[Case]:
    """Old versions expire and incomplete uploads are aborted across the bucket only by an enabled rule whose filter
    takes every object (a prefix, tag or size filter leaves the rest)."""
    rule = st.tuples(
        st.sampled_from(["Enabled", "Enabled", "Disabled"]),
        st.sampled_from(["absent", {}, {"noncurrentDays": 30}]),
        st.sampled_from(["absent", {}, {"daysAfterInitiation": 7}]),
        st.sampled_from(sorted(FILTERS)),
    )

    def case(drawn: list[tuple]) -> Case:
        rules = [
            present(
                status=s,
                noncurrentVersionExpiration=n,
                abortIncompleteMultipartUpload=a,
                filter="absent" if f == "absent" else json.loads(f),
            )
            for s, n, a, f in drawn
        ]
        whole = [(n, a) for s, n, a, f in drawn if s == "Enabled" and FILTERS[f]]
        expires = any(n != "absent" and n.get("noncurrentDays") for n, _ in whole)
        aborts = any(a != "absent" and a.get("daysAfterInitiation") for _, a in whole)
        return Case([res(s3_companions(BUCKET)[4].type, {"rules": rules}, "lc", deps=(BUCKET.urn,))], violates=not (expires and aborts))

    return st.lists(rule, max_size=3).map(case)


# -- s3-companions: every bucket with its companions, whatever its tags say (ported: "no tag exempts a bucket").

TLS_DENIALS = {  # Deny statement -> refuses every plain-HTTP request?
    '{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}': True,
    '{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Condition": {"Bool": {"aws:securetransport": false}}}': True,
    '{"Effect": "Deny", "Principal": "*", "Action": ["s3:*"], "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}': True,
    '{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}': False,
    '{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:role/ci"}, "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}': False,
    '{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}': False,
    '{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}': False,
}
DELIVERY_GRANTS = {  # statement -> lets AWS log delivery write into the bucket?
    "none": False,
    json.dumps(LOG_GRANT): True,
    json.dumps({**LOG_GRANT, "Principal": {"Service": ["delivery.logs.amazonaws.com"]}}): True,
    json.dumps({**LOG_GRANT, "Effect": "Deny"}): False,
    json.dumps({**LOG_GRANT, "Principal": {"Service": "cloudfront.amazonaws.com"}}): False,
}
REQUIRED = ("pab", "own", "sse", "ver", "lc")
ELSEWHERE = "urn:pulumi:prod::insight::aws:s3/bucket:Bucket::elsewhere"  # a bucket of another stack


def s3_companions_intent() -> st.SearchStrategy[Case]:
    """A bucket is complete with its five companions attached to it, a policy denying plain HTTP to everyone for every
    action, server access logging unless AWS log delivery writes into it, and SSE-KMS unless it is that log target.
    With ACLs disabled, S3 delivers access logs only into a bucket whose policy admits log delivery: the data bucket logs
    into the logs bucket (into a bucket outside the stack when the case has none). Its tags, whatever they say
    ("purpose: logs", "exempt"), change nothing."""
    bucket_choices = st.tuples(
        # companions missing, or attached to another bucket
        mostly([[]], [[(name, elsewhere)] for name in REQUIRED for elsewhere in (False, True)]),
        mostly([t for t, ok in TLS_DENIALS.items() if ok], [t for t, ok in TLS_DENIALS.items() if not ok]),
        st.sampled_from(sorted(DELIVERY_GRANTS)),
        mostly([True], [False]),  # server access logging
        mostly(["aws:kms"], ["AES256"]),
        USER_TAGS,
    )

    def complete_bucket(base: Any, choice: tuple, resources: list, target: tuple[str, ...], lands: bool) -> bool:
        missing, tls, grant, logged, sse, tags = choice
        bucket = changed(base, tags=tags)
        parts = {
            name: r
            for name, r in zip(
                (*REQUIRED, "pol"),
                s3_companions(bucket, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": sse}}]}),
                strict=True,
            )
        }
        statements = [json.loads(tls)] + ([json.loads(grant)] if grant != "none" else [])
        parts["pol"] = changed(parts["pol"], policy={"Version": "2012-10-17", "Statement": statements})
        for name, elsewhere in missing:
            part = parts.pop(name)
            if elsewhere:
                parts[name] = res(part.type, part.inputs, part.name, deps=(ELSEWHERE,))
        resources += [bucket, *parts.values()]
        if logged:
            resources.append(
                res("aws:s3/bucketLogging:BucketLogging", {"targetPrefix": "s3/"}, f"{bucket.name}-log", deps=(bucket.urn, *target))
            )
        log_target = DELIVERY_GRANTS[grant]
        return not missing and TLS_DENIALS[tls] and ((logged and lands) or log_target) and (sse == "aws:kms" or log_target)

    def case(data: tuple, logs: tuple | None) -> Case:
        resources: list = []
        ok = True
        if logs is not None:  # the logs bucket logs into a bucket of another stack
            ok &= complete_bucket(LOGS_BUCKET, logs, resources, target=(), lands=True)
        lands = logs is None or DELIVERY_GRANTS[logs[2]]
        ok &= complete_bucket(BUCKET, data, resources, target=(LOGS_BUCKET.urn,), lands=lands)
        return Case(resources, violates=not ok)

    return st.builds(case, bucket_choices, st.one_of(st.none(), bucket_choices))


# -- CloudFront

VIEWER = {"redirect-to-https": True, "https-only": True, "allow-all": False}
MIN_TLS = {  # CloudFront security policy -> TLS 1.2 or newer?
    "TLSv1.2_2018": True,
    "TLSv1.2_2019": True,
    "TLSv1.2_2021": True,
    "TLSv1.2_2025": True,
    "TLSv1.3_2025": True,
    "TLSv1.1_2016": False,
    "TLSv1_2016": False,
    "TLSv1": False,
    "SSLv3": False,
    "absent": False,  # the default is TLSv1
}
ORIGIN_POLICY = {"https-only": True, "match-viewer": True, "http-only": False}  # viewers are on HTTPS: matching them is HTTPS


def cdn_https() -> st.SearchStrategy[Case]:
    """Viewers use HTTPS only when every cache behaviour, default or ordered, refuses or redirects plain HTTP, the
    certificate's policy is TLS 1.2 or newer, and the certificate is our own (CloudFront's default one serves TLSv1
    whatever minimumProtocolVersion says). Origins are fetched over HTTPS."""

    def case(default: str, ordered: list[str], version: str, default_certificate: Any, origin: str) -> Case:
        certificate = present(minimumProtocolVersion=version, cloudfrontDefaultCertificate=default_certificate, sslSupportMethod="sni-only")
        distribution = changed(
            CDN,
            defaultCacheBehavior={**CDN.inputs["defaultCacheBehavior"], "viewerProtocolPolicy": default},
            orderedCacheBehaviors=[{"pathPattern": f"/p{i}/*", "viewerProtocolPolicy": v} for i, v in enumerate(ordered)],
            viewerCertificate=certificate,
            origins=[CDN.inputs["origins"][0], {"originId": "api", "customOriginConfig": {"originProtocolPolicy": origin}}],
        )
        https = all(VIEWER[v] for v in [default, *ordered]) and MIN_TLS[version] and not is_true(default_certificate)
        return Case([distribution], violates=not (https and ORIGIN_POLICY[origin]))

    viewer = mostly(["redirect-to-https", "https-only"], ["allow-all"])
    return st.builds(
        case,
        viewer,
        st.lists(viewer, max_size=2),
        mostly([v for v, ok in MIN_TLS.items() if ok], [v for v, ok in MIN_TLS.items() if not ok]),
        mostly(["absent", False], [True, "true"]),
        mostly(["match-viewer", "https-only"], ["http-only"]),
    )


ORIGINS = {  # origin -> reached without a public bucket?
    '{"originId": "a", "domainName": "assets.s3.ap-northeast-1.amazonaws.com", "originAccessControlId": "oac"}': True,
    '{"originId": "a", "domainName": "assets.s3.amazonaws.com", "originAccessControlId": "oac"}': True,
    '{"originId": "a", "domainName": "assets.s3.amazonaws.com", "originAccessControlId": ""}': False,
    '{"originId": "a", "domainName": "assets.s3.amazonaws.com", "s3OriginConfig": {"originAccessIdentity": "origin-access-identity/cloudfront/E1"}}': False,
    '{"originId": "a", "domainName": "assets.s3.ap-northeast-1.amazonaws.com", "customOriginConfig": {"originProtocolPolicy": "https-only"}}': False,
    '{"originId": "a", "domainName": "assets.s3-website-ap-northeast-1.amazonaws.com", "customOriginConfig": {"originProtocolPolicy": "http-only"}}': False,
    '{"originId": "a", "domainName": "assets.s3-website.ap-northeast-1.amazonaws.com", "customOriginConfig": {"originProtocolPolicy": "http-only"}}': False,
    '{"originId": "api", "domainName": "api.insight.example.com", "customOriginConfig": {"originProtocolPolicy": "https-only"}}': True,
}


def cdn_oac() -> st.SearchStrategy[Case]:
    """An S3 bucket is reached privately only through OAC on its REST endpoint; an empty id, a legacy OAI, a custom
    origin on the bucket's endpoint, or a website endpoint (which OAC cannot sign for) needs a public bucket."""

    def case(origins: list[str]) -> Case:
        return Case([changed(CDN, origins=[json.loads(o) for o in origins])], violates=not all(ORIGINS[o] for o in origins))

    return st.lists(st.sampled_from(sorted(ORIGINS)), min_size=1, max_size=3).map(case)


def cdn_logging() -> st.SearchStrategy[Case]:
    """A distribution logs access by a legacy loggingConfig naming a bucket, or by an ACCESS_LOGS delivery source of
    this distribution with a delivery of that source."""
    legacy = st.sampled_from(["absent", None, {}, {"bucket": ""}, {"bucket": "logs.s3.amazonaws.com"}])
    source = st.tuples(st.sampled_from(["ACCESS_LOGS", "CONNECTION_LOGS"]), st.booleans(), st.sampled_from(["none", "this", "other"]))

    def case(config: Any, sources: list[tuple[str, bool, str]]) -> Case:
        distribution = res(CDN.type, present(**{**CDN.inputs, "loggingConfig": config}), "cdn")
        other = res(CDN.type, CDN.inputs, "other-cdn")
        resources = [distribution]
        v2 = False
        for i, (log_type, of_this, delivery) in enumerate(sources):
            src = res(
                "aws:cloudwatch/logDeliverySource:LogDeliverySource",
                {"logType": log_type},
                f"src{i}",
                deps=((distribution if of_this else other).urn,),
            )
            resources.append(src)
            if delivery != "none":
                resources.append(
                    res("aws:cloudwatch/logDelivery:LogDelivery", {}, f"dlv{i}", deps=(src.urn if delivery == "this" else "urn:x",))
                )
            v2 |= log_type == "ACCESS_LOGS" and of_this and delivery == "this"
        legacy_bucket = isinstance(config, dict) and bool(config.get("bucket"))
        return Case(resources, violates=not (legacy_bucket or v2))

    return st.builds(case, legacy, st.lists(source, max_size=2))


HSTS_AGES = [63_072_000, 31_536_000, 31_536_000.0, 63_072_000.0, "31536000", 31_535_999, 300, True, None, "absent"]


def cdn_hsts() -> st.SearchStrategy[Case]:
    """Browsers keep to HTTPS for a year when a response headers policy the distribution uses sends HSTS with
    max-age >= 31536000, however the number reaches the pack (the policy SDK hands numbers over as floats)."""

    def case(policies: list[tuple[Any, bool]]) -> Case:
        headers = []
        for i, (age, used) in enumerate(policies):
            sts = {} if age == "absent" else {"strictTransportSecurity": {"accessControlMaxAgeSec": age, "override": True}}
            headers.append((res(HEADERS.type, {"securityHeadersConfig": sts}, f"hdr{i}"), used))
        distribution = res(CDN.type, CDN.inputs, "cdn", deps=tuple(h.urn for h, used in headers if used))
        one_year = any(used and age not in (True, None, "absent") and float(age) >= 31_536_000 for (age, used) in policies)
        return Case([distribution, *(h for h, _ in headers)], violates=not one_year)

    return st.lists(st.tuples(st.sampled_from(HSTS_AGES), st.booleans()), max_size=2).map(case)


def cdn_waf() -> st.SearchStrategy[Case]:
    """A distribution is behind a web ACL when webAclId names one (a WAFv2 ARN or a classic id), in every tier."""
    acl = st.sampled_from(["arn:aws:wafv2:us-east-1:1:global/webacl/x/1", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "", None, "absent"])
    return st.builds(
        lambda web_acl, tier: Case(
            [res(CDN.type, present(**{**CDN.inputs, "webAclId": web_acl}), "cdn", stack=tier)],
            violates=not web_acl or web_acl == "absent",
            tier=tier,
        ),
        acl,
        st.sampled_from(TIER_NAMES),
    )


# -- Route 53 and load balancers


def dns_query_logging() -> st.SearchStrategy[Case]:
    """Route 53 logs queries of public zones only (a private zone, one with VPCs, is logged by Resolver); a public
    zone logs when a query log of that zone exists. An empty VPC list is a public zone."""
    zone = st.tuples(st.sampled_from(["absent", [], [{"vpcId": "vpc-1"}]]), st.sampled_from(["none", "this", "other"]))

    def case(zones: list[tuple[Any, str]]) -> Case:
        resources = []
        unlogged = False
        for i, (vpcs, log) in enumerate(zones):
            z = res(ZONE.type, present(name=f"z{i}.example", vpcs=vpcs), f"zone{i}")
            resources.append(z)
            if log != "none":
                resources.append(res("aws:route53/queryLog:QueryLog", {}, f"ql{i}", deps=(z.urn if log == "this" else "urn:x",)))
            unlogged |= not (vpcs and vpcs != "absent") and log != "this"
        return Case(resources, violates=unlogged)

    return st.lists(zone, min_size=1, max_size=2).map(case)


def lb_hardened() -> st.SearchStrategy[Case]:
    """A load balancer logs access when accessLogs.enabled is true (absent: false); a network one balances across
    zones only with cross-zone on (application ones always do); the tier says whether deletion protection is needed."""

    def case(kind: str, logs: Any, cross_zone: Any, deletion: Any, tier: str) -> Case:
        inputs = present(
            loadBalancerType=kind,
            accessLogs={"bucket": "logs"} if logs == "absent" else {"bucket": "logs", "enabled": logs},
            enableCrossZoneLoadBalancing=cross_zone,
            enableDeletionProtection=deletion,
        )
        balanced = kind != "network" or is_true(cross_zone)
        protected = not TIERS[tier].lb_deletion_protection or is_true(deletion)
        return Case([res(LB.type, inputs, "lb", stack=tier)], violates=not (is_true(logs) and balanced and protected), tier=tier)

    switch = mostly([True, "true", "True"], [False, "false", None, "absent"])
    return st.builds(case, st.sampled_from(["network", "application", "absent"]), switch, switch, switch, st.sampled_from(TIER_NAMES))


REDIRECTS = {  # default action -> sends the client to HTTPS without serving content?
    '{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}': True,
    '{"type": "Redirect", "redirect": {"protocol": "HTTPS", "statusCode": "HTTP_302"}}': True,
    '{"type": "redirect", "redirect": {"protocol": "#{protocol}", "port": "8080", "statusCode": "HTTP_301"}}': False,
    '{"type": "redirect", "redirect": {"statusCode": "HTTP_301"}}': False,
    '{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/t/1"}': False,
    '{"type": "fixed-response", "fixedResponse": {"contentType": "text/plain", "statusCode": "404"}}': False,
}


def lb_tls() -> st.SearchStrategy[Case]:
    """A listener speaks TLS when its protocol is HTTPS or TLS (the provider takes any case). An HTTP listener whose
    default action only redirects to HTTPS also passes: it serves no content in plain text (the redirect's protocol
    defaults to the request's, so it must name HTTPS)."""

    def case(protocol: str | None, action: str) -> Case:
        listener = res("aws:lb/listener:Listener", present(protocol=protocol, port=443, defaultActions=[json.loads(action)]), "l")
        tls = protocol is not None and protocol.upper() in ("HTTPS", "TLS")
        return Case([listener], violates=not (tls or REDIRECTS[action]))

    protocols = st.sampled_from(["HTTPS", "https", "TLS", "tls", "HTTP", "http", "TCP", "UDP", None, "absent"])
    return st.builds(case, protocols, st.sampled_from(sorted(REDIRECTS)))


INTENTS: Intents = {
    "ecr-hardened": ecr_hardened(),
    "ecr-lifecycle": ecr_lifecycle(),
    "never-public": never_public(),
    "s3-public-access-block": public_access_block(),
    "s3-no-acls": no_acls(),
    "s3-encryption": encryption(),
    "s3-versioning": versioning(),
    "s3-lifecycle": lifecycle(),
    "s3-companions": s3_companions_intent(),
    "cdn-https-tls12": cdn_https(),
    "cdn-oac": cdn_oac(),
    "cdn-logging": cdn_logging(),
    "cdn-hsts": cdn_hsts(),
    "cdn-waf": cdn_waf(),
    "dns-query-logging": dns_query_logging(),
    "lb-hardened": lb_hardened(),
    "lb-tls": lb_tls(),
}
