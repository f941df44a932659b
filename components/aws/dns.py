"""DNS and certificates: the environment's public hosted zone with query logging, and two ACM certificates
validated through it: one in the cluster's region for the load balancers, one in us-east-1 for CloudFront.

The services' load balancer records are created by their AppService in this zone; the CDN's by the CDN.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import register_declared

from .tagging import component_tags

# Route53 writes query logs only to CloudWatch Logs in us-east-1, under this prefix.
QUERY_LOG_PREFIX = "/aws/route53"
# Only Amazon's CA may issue certificates for the zone.
CAA_RECORDS = ['0 issue "amazon.com"', '0 issuewild "amazon.com"']
VALIDATION_TTL = 300
DELEGATION_TTL = 172_800  # two days, as Route53 sets its own NS records
DELEGATION_ROLE_PREFIX = "insight-dns-delegation-"


@dataclass(frozen=True)
class DnsArgs:
    domain: str
    certificate_sans: list[str]
    delegations: dict[str, str]  # subdomain -> the account whose stack owns its zone
    # Who delegates this zone: the parent zone's account (its stack made us a role there), or, with
    # `registered_domain`, Route 53 Domains in this account.
    parent_account_id: str | None
    registered_domain: bool
    account_id: str
    query_log_retention_days: int
    # A provider for us-east-1 with the stack's default tags and allowed account.
    us_east_1: aws.Provider
    protect: bool


def validated_names(certificate_names: list[str]) -> list[str]:
    """The names that need a validation record: `*.x` and `x` share one, so wildcards fold onto their base."""
    return list(dict.fromkeys(n.removeprefix("*.") for n in certificate_names))


def query_log_policy(account_id: str) -> str:
    """Route53 may write query logs into this account's /aws/route53/* log groups, for this account's zones only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Route53QueryLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "route53.amazonaws.com"},
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"arn:aws:logs:us-east-1:{account_id}:log-group:{QUERY_LOG_PREFIX}/*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": "arn:aws:route53:::hostedzone/*"},
                    },
                }
            ],
        }
    )


def delegation_role_name(subdomain: str) -> str:
    return f"{DELEGATION_ROLE_PREFIX}{subdomain.replace('.', '-')}"[:64]


def delegation_role_arn(parent_account_id: str, subdomain: str) -> str:
    return f"arn:aws:iam::{parent_account_id}:role/{delegation_role_name(subdomain)}"


def delegation_trust_policy(child_account_id: str) -> str:
    """The child stack's account may assume the role; who in it may, that account's own IAM decides."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{child_account_id}:root"}, "Action": "sts:AssumeRole"}],
        }
    )


def delegation_policy(zone_arn: str, subdomain: str) -> str:
    """Write the NS records of exactly one subdomain in this zone, and find the zone by name."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnNsRecordsOnly",
                    "Effect": "Allow",
                    "Action": "route53:ChangeResourceRecordSets",
                    "Resource": zone_arn,
                    "Condition": {
                        "ForAllValues:StringEquals": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [subdomain],
                            "route53:ChangeResourceRecordSetsRecordTypes": ["NS"],
                        }
                    },
                },
                {
                    "Sid": "ReadZone",
                    "Effect": "Allow",
                    "Action": ["route53:GetHostedZone", "route53:ListResourceRecordSets"],
                    "Resource": zone_arn,
                },
                {
                    "Sid": "FindZone",
                    "Effect": "Allow",
                    "Action": ["route53:ListHostedZones", "route53:ListHostedZonesByName"],
                    "Resource": "*",
                },
                {"Sid": "WaitForChange", "Effect": "Allow", "Action": "route53:GetChange", "Resource": "arn:aws:route53:::change/*"},
            ],
        }
    )


def _record_for(
    options: Sequence[aws.acm.outputs.CertificateDomainValidationOption], name: str
) -> aws.acm.outputs.CertificateDomainValidationOption:
    return next(o for o in options if o.domain_name == name)


class Dns(pulumi.ComponentResource):
    domain: str
    zone_id: pulumi.Output[str]
    name_servers: pulumi.Output[Sequence[str]]
    certificate_arn: pulumi.Output[str]
    cdn_certificate_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:dns:Dns", name, None, opts)
        tags = component_tags("dns")
        child = pulumi.ResourceOptions(parent=self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.us_east_1)

        zone = aws.route53.Zone(
            name,
            name=args.domain,
            comment=f"Insight public zone for {args.domain}",
            # The parent zone delegates to these name servers: a new zone would break resolution.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
            tags=tags,
        )

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-query-log",
            name=f"{QUERY_LOG_PREFIX}/{args.domain}",
            retention_in_days=args.query_log_retention_days,
            tags=tags,
            opts=in_us_east_1,
        )
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-query-log", policy_name="route53-query-logging", policy_document=query_log_policy(args.account_id), opts=in_us_east_1
        )
        aws.route53.QueryLog(
            name,
            zone_id=zone.zone_id,
            cloudwatch_log_group_arn=log_group.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        aws.route53.Record(f"{name}-caa", zone_id=zone.zone_id, name=args.domain, type="CAA", ttl=3600, records=CAA_RECORDS, opts=child)
        for sub, child_account in args.delegations.items():
            role = aws.iam.Role(
                f"{name}-delegation-{sub}",
                name=delegation_role_name(sub),
                assume_role_policy=delegation_trust_policy(child_account),
                tags=tags,
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-delegation-{sub}", role=role.id, policy=zone.arn.apply(lambda arn, s=sub: delegation_policy(arn, s)), opts=child
            )
        delegation = self._delegate(name, args, zone)

        names = [args.domain, *args.certificate_sans]
        regional = aws.acm.Certificate(
            f"{name}-regional",
            domain_name=args.domain,
            subject_alternative_names=args.certificate_sans,
            validation_method="DNS",
            tags=tags,
            opts=child,
        )
        cdn = aws.acm.Certificate(
            f"{name}-cdn",
            domain_name=args.domain,
            subject_alternative_names=args.certificate_sans,
            validation_method="DNS",
            tags=tags,
            opts=in_us_east_1,
        )
        # ACM asks for the same CNAME for a name in every region of an account, so one record validates both.
        records = [
            aws.route53.Record(
                f"{name}-validation-{host}",
                zone_id=zone.zone_id,
                name=regional.domain_validation_options.apply(lambda o, h=host: _record_for(o, h).resource_record_name or ""),
                type=regional.domain_validation_options.apply(lambda o, h=host: _record_for(o, h).resource_record_type or ""),
                records=[regional.domain_validation_options.apply(lambda o, h=host: _record_for(o, h).resource_record_value or "")],
                ttl=VALIDATION_TTL,
                opts=child,
            )
            for host in validated_names(names)
        ]
        fqdns = [r.fqdn for r in records]
        # ACM can see the validation records only once the zone is delegated: wait for that, not for a timeout.
        delegated = pulumi.ResourceOptions(depends_on=[delegation])
        regional_validation = aws.acm.CertificateValidation(
            f"{name}-regional", certificate_arn=regional.arn, validation_record_fqdns=fqdns, opts=child.merge(delegated)
        )
        cdn_validation = aws.acm.CertificateValidation(
            f"{name}-cdn", certificate_arn=cdn.arn, validation_record_fqdns=fqdns, opts=in_us_east_1.merge(delegated)
        )

        self.domain = args.domain
        self.zone_id = zone.zone_id
        self.name_servers = zone.name_servers
        # Validated ARNs: whoever uses a certificate waits until it is issued.
        self.certificate_arn = regional_validation.certificate_arn
        self.cdn_certificate_arn = cdn_validation.certificate_arn
        register_declared(self)

    def _delegate(self, name: str, args: DnsArgs, zone: aws.route53.Zone) -> pulumi.Resource:
        """Make the parent point at this zone, as part of the deploy (settings/edge.py requires exactly one way)."""
        if args.registered_domain:
            # Route 53 Domains lives in us-east-1; registering the domain is the one-time step before the first `up`.
            return aws.route53domains.RegisteredDomain(
                name,
                domain_name=args.domain,
                name_servers=zone.name_servers.apply(
                    lambda servers: [aws.route53domains.RegisteredDomainNameServerArgs(name=s) for s in servers]
                ),
                tags=component_tags("dns"),
                opts=pulumi.ResourceOptions(parent=self, provider=args.us_east_1, retain_on_delete=True),
            )
        assert args.parent_account_id is not None
        # The parent stack's role for this subdomain, in the parent's account: it writes only our NS records there.
        parent = aws.Provider(
            f"{name}-parent-zone",
            region="us-east-1",
            allowed_account_ids=[args.parent_account_id],
            assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=delegation_role_arn(args.parent_account_id, args.domain))],
            opts=pulumi.ResourceOptions(parent=self),
        )
        parent_domain = args.domain.partition(".")[2]
        parent_zone = aws.route53.get_zone_output(name=parent_domain, private_zone=False, opts=pulumi.InvokeOutputOptions(provider=parent))
        return aws.route53.Record(
            f"{name}-delegation",
            zone_id=parent_zone.zone_id,
            name=args.domain,
            type="NS",
            ttl=DELEGATION_TTL,
            records=zone.name_servers,
            # A delegation made by hand before this program took over is adopted, not refused.
            allow_overwrite=True,
            opts=pulumi.ResourceOptions(parent=self, provider=parent),
        )
