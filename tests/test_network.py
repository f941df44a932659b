"""The VPC of each stack: AZs, subnets, NAT, routes, flow logs, discovery tags."""

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from settings.network import nat_gateway_count, plan_subnets

from .conftest import declared

EXPECTED = {  # stack: (AZs, NAT gateways)
    "test": (2, 1),
    "staging": (3, 1),
    "prod": (3, 3),
}


def test_azs_subnets_and_nat_per_stack(run):
    azs, nats = EXPECTED[run.stack]
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    public = [s for s in subnets if s.inputs["tags"].get("kubernetes.io/role/elb") == "1"]
    private = [s for s in subnets if s.inputs["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    assert len(public) == len(private) == azs
    assert len({s.inputs["availabilityZone"] for s in private}) == azs
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == nats
    assert len(run.of_type("aws:ec2/eip:Eip")) == nats
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    cluster_tag = f"kubernetes.io/cluster/insight-{run.stack}"
    assert all(s.inputs["tags"][cluster_tag] == "shared" for s in subnets)


def test_prod_is_in_japan_with_one_nat_per_az():
    run = declared("prod")
    azs = sorted(s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet"))
    assert set(azs) == {"ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"}
    nat_subnets = {n.inputs["subnetId"] for n in run.of_type("aws:ec2/natGateway:NatGateway")}
    assert len(nat_subnets) == 3


def test_private_routes_go_through_nat_and_public_through_igw(run):
    tables = run.of_type("aws:ec2/routeTable:RouteTable")
    public = [t for t in tables if t.name.endswith("-public")]
    private = [t for t in tables if "-private-" in t.name]
    assert len(public) == 1 and "gatewayId" in public[0].inputs["routes"][0]
    assert len(private) == EXPECTED[run.stack][0]
    assert all("natGatewayId" in t.inputs["routes"][0] for t in private)
    assert len(run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")) == 2 * EXPECTED[run.stack][0]


def test_flow_logs_go_to_the_logs_bucket_in_parquet(run):
    from components.aws.storage import FLOW_LOG_PREFIX

    flow = run.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "s3"
    logs_bucket = run.one("aws:s3/bucket:Bucket", "storage-logs")
    assert flow.inputs["logDestination"] == f"arn:aws:s3:::{logs_bucket.inputs['bucket']}/{FLOW_LOG_PREFIX}/"
    assert flow.inputs["destinationOptions"]["fileFormat"] == "parquet"
    assert "iamRoleArn" not in flow.inputs  # S3 delivery uses the bucket policy, not a role
    # Created once the bucket policy admits the delivery service (the policy test: tests/test_storage.py).
    assert run.one("aws:s3/bucketPolicy:BucketPolicy", "storage-logs").urn in flow.dependencies
    assert not [g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if "flow" in g.name]
    assert not [r for r in run.of_type("aws:iam/role:Role") if "flow" in r.name]
    assert run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs.get("ingress") in (None, [])


def test_s3_gateway_endpoint_on_every_private_route_table(run):
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3")
    region = run.settings.region
    assert (endpoint.inputs["serviceName"], endpoint.inputs["vpcEndpointType"]) == (f"com.amazonaws.{region}.s3", "Gateway")
    private = [t for t in run.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in t.name]
    assert len(endpoint.inputs["routeTableIds"]) == len(private) == EXPECTED[run.stack][0]
    assert {t.urn for t in private} <= set(endpoint.property_dependencies["routeTableIds"])


def test_vpc_protected_outside_test(run):
    assert run.one("aws:ec2/vpc:Vpc").protect is (run.stack != "test")


def test_nat_count_rule():
    assert nat_gateway_count("per_az", 3) == 3
    assert nat_gateway_count("single", 3) == 1


AZS = ("a", "b", "c", "d", "e", "f")


@given(
    base=st.integers(min_value=0, max_value=255),
    vpc_prefix=st.integers(min_value=16, max_value=20),
    private_extra=st.integers(min_value=1, max_value=4),
    public_extra=st.integers(min_value=0, max_value=6),
    az_count=st.integers(min_value=1, max_value=6),
)
def test_subnet_plan_never_overlaps_and_stays_inside(base, vpc_prefix, private_extra, public_extra, az_count):
    vpc = ipaddress.IPv4Network(f"10.{base}.0.0/{vpc_prefix}", strict=False)
    private_prefix = vpc_prefix + private_extra
    public_prefix = private_prefix + public_extra
    try:
        plan = plan_subnets(vpc, AZS[:az_count], private_prefix, public_prefix)
    except ValueError as err:
        assert "at most" in str(err)
        assert az_count > min(2**private_extra - 1, 2**public_extra)
        return
    nets = [p.private for p in plan] + [p.public for p in plan]
    assert all(n.subnet_of(vpc) for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


@given(az_count=st.integers(min_value=1, max_value=5))
def test_adding_an_az_never_moves_a_subnet(az_count):
    vpc = ipaddress.IPv4Network("10.0.0.0/16")
    before = plan_subnets(vpc, AZS[:az_count], 19, 24)
    after = plan_subnets(vpc, AZS[: az_count + 1], 19, 24)
    assert after[:az_count] == before
