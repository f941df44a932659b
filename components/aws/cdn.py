"""CloudFront for the web front end: the assets bucket through Origin Access Control, `/api/*` forwarded
to the public API gateway over HTTPS, HSTS, access logs to the logs bucket, a WAF web ACL where enabled,
and alias records in the zone.
"""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import register_declared

from .storage import CDN_LOG_PREFIX, Storage, tls_only_statements
from .tagging import component_tags

MIN_TLS_POLICY = "TLSv1.2_2021"
HSTS_MAX_AGE = 63_072_000  # two years, as the HSTS preload list recommends
# AWS managed policies, by their documented well-known IDs.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ASSETS_ORIGIN = "assets"
API_ORIGIN = "api"
API_PATH = "/api/*"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]


@dataclass(frozen=True)
class CdnArgs:
    environment: str
    aliases: list[str]
    api_hostname: str
    zone_id: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]  # in us-east-1, validated
    storage: Storage  # the assets bucket is the origin, the logs bucket receives the access logs
    waf: bool
    # CloudFront's web ACL and log delivery live in us-east-1.
    us_east_1: aws.Provider


def assets_bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
    """TLS only, and readable by this one distribution (Origin Access Control), by nobody else."""
    oac = {
        "Sid": "CloudFrontReadsAssets",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [*tls_only_statements(bucket_arn), oac]})


# The common rule set blocks bodies over 8 KB; the API takes POST and PUT bodies larger than that: counted, not blocked.
API_BODY_OVERRIDES: list[aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgsDict] = [
    {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}
]


def managed_rule(
    name: str,
    priority: int,
    overrides: list[aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgsDict] | None = None,
) -> aws.wafv2.WebAclRuleArgsDict:
    return {
        "name": name,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": {"name": name, "vendor_name": "AWS", "rule_action_overrides": overrides or []}},
        "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": name, "sampled_requests_enabled": True},
    }


class Cdn(pulumi.ComponentResource):
    domain_name: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:cdn:Cdn", name, None, opts)
        tags = component_tags("cdn")
        child = pulumi.ResourceOptions(parent=self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.us_east_1)
        prefix = f"insight-{args.environment}"

        oac = aws.cloudfront.OriginAccessControl(
            name,
            name=f"{prefix}-assets",
            description="CloudFront signs every request to the assets bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            name,
            name=f"{prefix}-security-headers",
            security_headers_config={
                "strict_transport_security": {
                    "access_control_max_age_sec": HSTS_MAX_AGE,
                    "include_subdomains": True,
                    "preload": True,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
            },
            opts=child,
        )
        web_acl = self._web_acl(f"{prefix}-cdn", name, tags, in_us_east_1) if args.waf else None

        distribution = aws.cloudfront.Distribution(
            name,
            enabled=True,
            comment=f"Insight {args.environment} web front end",
            aliases=args.aliases,
            default_root_object="index.html",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class="PriceClass_All",  # viewers in the US, Japan and China
            origins=[
                {
                    "origin_id": ASSETS_ORIGIN,
                    "domain_name": args.storage.assets_bucket_regional_domain_name,
                    "origin_access_control_id": oac.id,
                },
                {
                    "origin_id": API_ORIGIN,
                    "domain_name": args.api_hostname,
                    "custom_origin_config": {
                        "http_port": 80,
                        "https_port": 443,
                        "origin_protocol_policy": "https-only",
                        "origin_ssl_protocols": ["TLSv1.2"],
                    },
                },
            ],
            default_cache_behavior={
                "viewer_protocol_policy": "redirect-to-https",
                "compress": True,
                "response_headers_policy_id": headers.id,
                "target_origin_id": ASSETS_ORIGIN,
                "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_OPTIMIZED,
            },
            ordered_cache_behaviors=[
                {
                    "viewer_protocol_policy": "https-only",  # API clients are never redirected: a redirected POST loses its body
                    "compress": True,
                    "response_headers_policy_id": headers.id,
                    "path_pattern": API_PATH,
                    "target_origin_id": API_ORIGIN,
                    "allowed_methods": ALL_METHODS,
                    "cached_methods": ["GET", "HEAD"],
                    # The API answers per user: never cache, forward everything but the Host header
                    # (the gateway's certificate is for its own name, not the CDN's).
                    "cache_policy_id": CACHING_DISABLED,
                    "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_HEADER,
                }
            ],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": args.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": MIN_TLS_POLICY,
            },
            web_acl_id=web_acl.arn if web_acl else None,
            tags=tags,
            opts=child,
        )

        aws.s3.BucketPolicy(
            f"{name}-assets",
            bucket=args.storage.assets.id,
            policy=pulumi.Output.all(args.storage.assets_bucket_arn, distribution.arn).apply(lambda a: assets_bucket_policy(a[0], a[1])),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.storage.assets_public_access_block]),
        )
        self._access_logs(
            name, prefix=prefix, distribution=distribution, logs_bucket_arn=args.storage.logs_bucket_arn, tags=tags, opts=in_us_east_1
        )
        for alias in args.aliases:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-{alias}-{record_type}",
                    zone_id=args.zone_id,
                    name=alias,
                    type=record_type,
                    aliases=[{"name": distribution.domain_name, "zone_id": distribution.hosted_zone_id, "evaluate_target_health": False}],
                    opts=child,
                )

        self.domain_name = distribution.domain_name
        self.distribution_arn = distribution.arn
        register_declared(self)

    def _web_acl(self, acl_name: str, name: str, tags: dict[str, str], opts: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
        return aws.wafv2.WebAcl(
            name,
            name=acl_name,
            scope="CLOUDFRONT",
            default_action={"allow": {}},
            rules=[managed_rule("AWSManagedRulesCommonRuleSet", 0, API_BODY_OVERRIDES)],
            visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": acl_name, "sampled_requests_enabled": True},
            tags=tags,
            opts=opts,
        )

    def _access_logs(
        self,
        name: str,
        *,
        prefix: str,
        distribution: aws.cloudfront.Distribution,
        logs_bucket_arn: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        """Standard logging v2 (CloudWatch vended delivery): unlike the legacy kind it needs no bucket ACLs."""
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-access-logs", name=f"{prefix}-cdn", log_type="ACCESS_LOGS", resource_arn=distribution.arn, tags=tags, opts=opts
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-access-logs",
            name=f"{prefix}-cdn-logs-bucket",
            output_format="parquet",
            delivery_destination_configuration={
                "destination_resource_arn": pulumi.Output.from_input(logs_bucket_arn).apply(lambda arn: f"{arn}/{CDN_LOG_PREFIX}")
            },
            tags=tags,
            opts=opts,
        )
        aws.cloudwatch.LogDelivery(
            f"{name}-access-logs",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            tags=tags,
            opts=opts,
        )
