"""The public zone, its query logging and the two DNS-validated certificates, in each stack."""

import json

import pytest

from components.aws.dns import CAA_RECORDS, delegation_role_arn, delegation_role_name, validated_names

from .conftest import declared, raw_sections
from .helpers import aws_provider_of

DOMAINS = {"test": "test.insight.example.com", "staging": "staging.insight.example.com", "prod": "insight.example.com"}
REGIONS = {"test": "us-west-2", "staging": "us-west-2", "prod": "ap-northeast-1"}
ACCOUNTS = {"test": "111111111111", "staging": "222222222222", "prod": "333333333333"}


def region_of(run, record) -> str:
    return aws_provider_of(run, record).inputs["region"]


def test_one_public_zone_per_environment(run):
    zone = run.one("aws:route53/zone:Zone")
    assert zone.inputs["name"] == DOMAINS[run.stack]
    assert "vpcs" not in zone.inputs  # public, not private
    assert run.outputs["zoneId"].startswith("Z")
    assert len(run.outputs["nameServers"]) == 4


def test_query_logs_go_to_us_east_1_with_the_policy_route53_needs(run):
    group = run.one("aws:cloudwatch/logGroup:LogGroup", "dns-query-log")
    assert region_of(run, group) == "us-east-1"
    assert group.inputs["name"] == f"/aws/route53/{DOMAINS[run.stack]}"
    policy = run.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "dns-query-log")
    assert region_of(run, policy) == "us-east-1"
    (grant,) = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert grant["Principal"] == {"Service": "route53.amazonaws.com"}
    assert grant["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNTS[run.stack]}:log-group:/aws/route53/*"
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNTS[run.stack]}
    query_log = run.one("aws:route53/queryLog:QueryLog")
    assert query_log.inputs["cloudwatchLogGroupArn"].startswith("arn:aws:logs:us-east-1:")
    assert policy.urn in query_log.dependencies  # Route53 checks the policy when logging is turned on


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_certificates_regional_for_load_balancers_and_us_east_1_for_cloudfront(stack):
    run = declared(stack)
    regional = run.one("aws:acm/certificate:Certificate", "dns-regional")
    cdn = run.one("aws:acm/certificate:Certificate", "dns-cdn")
    assert region_of(run, regional) == REGIONS[stack]
    assert region_of(run, cdn) == "us-east-1"
    assert run.outputs["cdnCertificateArn"].startswith(f"arn:aws:acm:us-east-1:{ACCOUNTS[stack]}:certificate/")
    assert run.outputs["certificateArn"].startswith(f"arn:aws:acm:{REGIONS[stack]}:{ACCOUNTS[stack]}:certificate/")
    for certificate in (regional, cdn):
        assert certificate.inputs["domainName"] == DOMAINS[stack]
        assert certificate.inputs["subjectAlternativeNames"] == [f"*.{DOMAINS[stack]}"]
        assert certificate.inputs["validationMethod"] == "DNS"


def test_the_us_east_1_provider_keeps_the_stack_tags_and_account(run):
    cdn = run.one("aws:acm/certificate:Certificate", "dns-cdn")
    provider = aws_provider_of(run, cdn)
    main = aws_provider_of(run, run.one("aws:acm/certificate:Certificate", "dns-regional"))
    assert provider.urn != main.urn
    assert provider.inputs["defaultTags"] == main.inputs["defaultTags"]
    assert provider.inputs["allowedAccountIds"] == [ACCOUNTS[run.stack]]


def test_both_certificates_wait_for_their_validation_records(run):
    records = [r for r in run.of_type("aws:route53/record:Record") if r.name.startswith("dns-validation-")]
    # `*.x` is validated by `x`'s record: one record serves the domain and its wildcard.
    assert [r.name for r in records] == [f"dns-validation-{DOMAINS[run.stack]}"]
    (record,) = records
    assert record.inputs["type"] == "CNAME"
    assert record.inputs["name"].endswith(f".{DOMAINS[run.stack]}.")
    assert record.inputs["records"][0].endswith(".acm-validations.aws.")
    fqdn = record.inputs["name"].rstrip(".")
    for name in ("dns-regional", "dns-cdn"):
        validation = run.one("aws:acm/certificateValidation:CertificateValidation", name)
        assert validation.inputs["validationRecordFqdns"] == [fqdn]
        assert region_of(run, validation) == region_of(run, run.one("aws:acm/certificate:Certificate", name))


def test_only_amazon_may_issue_certificates_for_the_zone(run):
    caa = run.one("aws:route53/record:Record", "dns-caa")
    assert caa.inputs["type"] == "CAA" and caa.inputs["records"] == CAA_RECORDS


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_zone_protected_and_retained_outside_test(stack):
    zone = declared(stack).one("aws:route53/zone:Zone")
    assert (zone.protect, zone.retain_on_delete) == (stack != "test",) * 2


def test_wildcards_fold_onto_their_base_name():
    assert validated_names(["x.io", "*.x.io", "api.x.io", "*.api.x.io"]) == ["x.io", "api.x.io"]


def test_each_delegated_subdomain_gets_a_role_that_writes_only_its_ns_records():
    run = declared("prod")
    for sub, account in raw_sections("prod")["edge"]["delegations"].items():
        role = run.one("aws:iam/role:Role", f"dns-delegation-{sub}")
        assert role.inputs["name"] == delegation_role_name(sub)
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
        policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", f"dns-delegation-{sub}").inputs["policy"])
        [write] = [s for s in policy["Statement"] if s["Action"] == "route53:ChangeResourceRecordSets"]
        assert write["Condition"]["ForAllValues:StringEquals"] == {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [sub],
            "route53:ChangeResourceRecordSetsRecordTypes": ["NS"],
        }
    # Nobody copies name servers by hand any more: prod declares no NS record of its own.
    assert not [r for r in run.of_type("aws:route53/record:Record") if r.inputs["type"] == "NS"]


@pytest.mark.parametrize("stack", ["test", "staging"])
def test_a_subdomain_stack_writes_its_own_delegation_in_the_parent_zone_before_validating(stack):
    run = declared(stack)
    record = run.one("aws:route53/record:Record", "dns-delegation")
    zone = run.one("aws:route53/zone:Zone")
    assert (record.inputs["type"], record.inputs["name"]) == ("NS", zone.inputs["name"])
    assert zone.urn in record.dependencies and record.inputs["allowOverwrite"] is True
    provider = run.by_urn()[record.provider.rsplit("::", 1)[0]]
    [assumed] = provider.inputs["assumeRoles"]
    assert assumed["roleArn"] == delegation_role_arn("333333333333", zone.inputs["name"])
    assert provider.inputs["allowedAccountIds"] == ["333333333333"]
    for validation in run.of_type("aws:acm/certificateValidation:CertificateValidation"):
        assert record.urn in validation.dependencies


def test_prod_points_its_registered_domain_at_the_zone_before_validating():
    run = declared("prod")
    domain = run.one("aws:route53domains/registeredDomain:RegisteredDomain")
    assert domain.inputs["domainName"] == "insight.example.com"
    # The zone's name servers (the mock kit's canned ones), set at the registrar by the deploy itself.
    assert [n["name"] for n in domain.inputs["nameServers"]] == [f"ns-{i}.awsdns-example.net" for i in range(4)]
    for validation in run.of_type("aws:acm/certificateValidation:CertificateValidation"):
        assert domain.urn in validation.dependencies
