"""The CloudFront distribution for the web front end, in each stack."""

import json

import pytest

from components.aws.cdn import ALL_VIEWER_EXCEPT_HOST_HEADER, CACHING_DISABLED, HSTS_MAX_AGE, MIN_TLS_POLICY

from .conftest import declared
from .helpers import aws_provider_of

DOMAINS = {"test": "test.insight.example.com", "staging": "staging.insight.example.com", "prod": "insight.example.com"}
ACCOUNTS = {"test": "111111111111", "staging": "222222222222", "prod": "333333333333"}


def distribution(run):
    return run.one("aws:cloudfront/distribution:Distribution", "cdn")


def test_https_only_with_tls_1_2_and_the_us_east_1_certificate(run):
    dist = distribution(run)
    cert = dist.inputs["viewerCertificate"]
    assert cert["minimumProtocolVersion"] == MIN_TLS_POLICY
    assert cert["sslSupportMethod"] == "sni-only"
    assert cert["acmCertificateArn"] == run.outputs["cdnCertificateArn"]
    assert cert["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    behaviors = [dist.inputs["defaultCacheBehavior"], *dist.inputs["orderedCacheBehaviors"]]
    assert {b["viewerProtocolPolicy"] for b in behaviors} <= {"redirect-to-https", "https-only"}
    domain = DOMAINS[run.stack]
    assert dist.inputs["aliases"] == [domain, f"static.{domain}"]


def test_assets_come_from_s3_through_origin_access_control(run):
    dist = distribution(run)
    origins = {o["originId"]: o for o in dist.inputs["origins"]}
    assets = origins["assets"]
    assert (
        assets["domainName"]
        == f"insight-{run.stack}-assets-{ACCOUNTS[run.stack]}.s3.{aws_provider_of(run, dist).inputs['region']}.amazonaws.com"
    )
    assert "customOriginConfig" not in assets and "s3OriginConfig" not in assets
    oac = run.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert oac.inputs["signingBehavior"] == "always" and oac.inputs["signingProtocol"] == "sigv4"
    assert dist.inputs["defaultCacheBehavior"]["targetOriginId"] == "assets"
    assert set(dist.inputs["defaultCacheBehavior"]["allowedMethods"]) == {"GET", "HEAD", "OPTIONS"}


def test_assets_bucket_policy_admits_only_this_distribution_over_tls(run):
    policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy", "cdn-assets").inputs["policy"])
    bucket_arn = f"arn:aws:s3:::insight-{run.stack}-assets-{ACCOUNTS[run.stack]}"
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert by_sid["DenyInsecureTransport"]["Resource"] == [bucket_arn, f"{bucket_arn}/*"]
    reader = by_sid["CloudFrontReadsAssets"]
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert reader["Action"] == "s3:GetObject" and reader["Resource"] == f"{bucket_arn}/*"
    distribution_arn = reader["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert distribution_arn.startswith(f"arn:aws:cloudfront::{ACCOUNTS[run.stack]}:distribution/")
    assert "*" not in distribution_arn
    assert [s for s in policy["Statement"] if s["Effect"] == "Allow"] == [reader]


def test_api_behavior_forwards_to_the_gateway_over_https_uncached(run):
    dist = distribution(run)
    api_origin = next(o for o in dist.inputs["origins"] if o["originId"] == "api")
    assert api_origin["domainName"] == f"api.{DOMAINS[run.stack]}"
    assert api_origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert api_origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    (api,) = dist.inputs["orderedCacheBehaviors"]
    assert api["pathPattern"] == "/api/*" and api["targetOriginId"] == "api"
    assert api["cachePolicyId"] == CACHING_DISABLED
    assert api["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert {"POST", "PUT", "DELETE"} <= set(api["allowedMethods"])


def test_every_response_carries_hsts(run):
    headers = run.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    hsts = headers.inputs["securityHeadersConfig"]["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] == HSTS_MAX_AGE >= 31_536_000
    assert hsts["includeSubdomains"] is True and hsts["override"] is True
    dist = distribution(run)
    assert headers.urn in dist.dependencies
    behaviors = [dist.inputs["defaultCacheBehavior"], *dist.inputs["orderedCacheBehaviors"]]
    assert all(b["responseHeadersPolicyId"] for b in behaviors)


def test_access_logs_delivered_to_the_logs_bucket_from_us_east_1(run):
    source = run.one("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    destination = run.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    delivery = run.one("aws:cloudwatch/logDelivery:LogDelivery")
    for record in (source, destination, delivery):
        assert aws_provider_of(run, record).inputs["region"] == "us-east-1"
    assert source.inputs["logType"] == "ACCESS_LOGS"
    assert source.inputs["resourceArn"].startswith(f"arn:aws:cloudfront::{ACCOUNTS[run.stack]}:distribution/")
    arn = destination.inputs["deliveryDestinationConfiguration"]["destinationResourceArn"]
    assert arn == f"arn:aws:s3:::insight-{run.stack}-logs-{ACCOUNTS[run.stack]}/cloudfront"
    assert delivery.inputs["deliverySourceName"] == source.inputs["name"]


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_waf_with_managed_common_rules_in_prod_only(stack):
    run = declared(stack)
    acls = run.of_type("aws:wafv2/webAcl:WebAcl")
    dist = distribution(run)
    if stack != "prod":
        assert acls == [] and "webAclId" not in dist.inputs
        return
    (acl,) = acls
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert aws_provider_of(run, acl).inputs["region"] == "us-east-1"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    (rule,) = acl.inputs["rules"]
    assert rule["statement"]["managedRuleGroupStatement"] == {
        "name": "AWSManagedRulesCommonRuleSet",
        "vendorName": "AWS",
        "ruleActionOverrides": [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}],
    }
    assert rule["overrideAction"] == {"none": {}}
    assert dist.inputs["webAclId"].startswith("arn:aws:wafv2:us-east-1:")


def test_alias_records_point_at_the_distribution(run):
    domain = DOMAINS[run.stack]
    records = [r for r in run.of_type("aws:route53/record:Record") if r.name.startswith("cdn-")]
    assert sorted((r.inputs["name"], r.inputs["type"]) for r in records) == sorted(
        (name, t) for name in (domain, f"static.{domain}") for t in ("A", "AAAA")
    )
    zone_id = run.outputs["zoneId"]
    for record in records:
        (alias,) = record.inputs["aliases"]
        assert record.inputs["zoneId"] == zone_id
        assert alias["name"].endswith(".cloudfront.net") and alias["zoneId"] == "Z2FDTNDATAQYW2"
    assert run.outputs["cdnDomainName"].endswith(".cloudfront.net")


def test_waf_counts_large_api_bodies_instead_of_blocking_them():
    from .conftest import declared

    acl = declared("prod").one("aws:wafv2/webAcl:WebAcl")
    statement = acl.inputs["rules"][0]["statement"]["managedRuleGroupStatement"]
    assert statement["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
