"""The edge as the services use it: a record per public service in the zone, one owner per name, load balancer
logs where the logs bucket admits them, images from the registry's repositories."""

from collections import Counter

from catalog import load_catalog
from components.aws.storage import LOAD_BALANCER_LOG_PREFIX

DOMAINS = {"test": "test.insight.example.com", "staging": "staging.insight.example.com", "prod": "insight.example.com"}
LB_ATTRIBUTES = "service.beta.kubernetes.io/aws-load-balancer-attributes"


def records(run):
    return run.of_type("aws:route53/record:Record")


def test_a_record_for_each_public_service_in_the_zone(run):
    domain = DOMAINS[run.stack]
    public = {f"{s.hostname}.{domain}" for s in load_catalog(run.stack).services if s.public}
    assert public, "the catalog has no public service"
    named = {r.inputs["name"]: r for r in records(run)}
    for hostname in public:
        record = named[hostname]
        assert record.inputs["zoneId"] == run.outputs["zoneId"]
        assert record.inputs["type"] == "CNAME" and ".elb." in record.inputs["records"][0]


def test_every_name_in_the_zone_has_one_owner(run):
    owners = Counter((r.inputs["name"].rstrip("."), r.inputs["type"]) for r in records(run))
    assert [name for name, count in owners.items() if count > 1] == []
    names_by_type: dict[str, set[str]] = {}
    for name, type_ in owners:
        names_by_type.setdefault(type_, set()).add(name)
    # A CNAME may not share its name with any other record.
    others = set().union(*(names for type_, names in names_by_type.items() if type_ != "CNAME"))
    assert names_by_type.get("CNAME", set()) & others == set()


def test_load_balancers_log_where_the_logs_bucket_admits_them(run):
    logs_bucket = run.outputs["logsBucketName"]
    annotated = [
        r.inputs["metadata"]["annotations"][LB_ATTRIBUTES]
        for r in run.of_type("kubernetes:core/v1:Service")
        if LB_ATTRIBUTES in r.inputs["metadata"].get("annotations", {})
    ]
    assert annotated, "no public service has a load balancer"
    for attributes in annotated:
        assert f"access_logs.s3.bucket={logs_bucket}" in attributes
        assert f"access_logs.s3.prefix={LOAD_BALANCER_LOG_PREFIX}/" in attributes
