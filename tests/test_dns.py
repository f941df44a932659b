"""The public zone, its query logging and the two DNS-validated certificates, in each stack."""

import json

import pytest

from components.aws.dns import CAA_RECORDS, validated_names
from offline.runner import run_stack

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


def test_delegated_subdomains_get_ns_records():
    edge = raw_sections("prod")["edge"]
    servers = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"]
    edge["delegations"] = {"test.insight.example.com": servers}
    run = run_stack("prod", overrides={"insight:edge": edge})
    record = run.one("aws:route53/record:Record", "dns-ns-test.insight.example.com")
    assert (record.inputs["type"], record.inputs["name"], record.inputs["records"]) == ("NS", "test.insight.example.com", servers)
    assert record.inputs["ttl"] == 172_800
    assert not [r for r in declared("prod").of_type("aws:route53/record:Record") if r.inputs["type"] == "NS"]
