"""The cost model on small hand-computed stacks: reserved, spot, on-demand, volumes, fixed items, missing prices."""

import pytest

from costing.model import NODE_GROUP, estimate, gib, interface_endpoint_break_even_gb, volume_gib
from costing.prices import MissingPrice, parse_prices
from offline.runner import run_stack
from settings import ConfigError
from settings.cluster import NodePoolsConfig
from settings.cost import CostConfig
from tests.conftest import raw_sections
from tests.helpers import make_record

HOURS = 100  # round numbers keep the hand computations readable
PRICES = parse_prices(
    {
        "source": "hand-made",
        "date": "2026-01-01",
        "hoursPerMonth": HOURS,
        "reservedEffectiveRate": {"3yr": {"all_upfront": 0.4}, "1yr": {"no_upfront": 0.7}},
        "regions": {
            "xx-test-1": {
                "ec2Hourly": {"m6i.xlarge": 0.2, "m5.xlarge": 0.1},
                "eksControlPlaneHourly": 0.1,
                "natGatewayHourly": 0.05,
                "publicIpv4Hourly": 0.01,
                "ebsGp3GbMonth": 0.1,
                "networkLoadBalancerHourly": 0.02,
                "applicationLoadBalancerHourly": 0.03,
                "classicLoadBalancerHourly": 0.04,
                "kmsKeyMonthly": 1.0,
                "hostedZoneMonthly": 0.5,
                "secretMonthly": 0.4,
                "webAclMonthly": 5.0,
                "webAclRuleMonthly": 1.0,
                "interfaceEndpointHourly": 0.01,
                "perGb": {
                    "natProcessedGb": 0.05,
                    "internetEgressGb": 0.1,
                    "cloudfrontEgressGb": 0.1,
                    "s3StandardGbMonth": 0.02,
                    "logsIngestedGb": 0.5,
                    "interfaceEndpointProcessedGb": 0.01,
                    "flowLogsToS3Gb": 0.3,
                },
            }
        },
        "excluded": ["load balancer capacity units"],
    }
)


def pools(reserved_count: int = 2, term: str = "3yr", payment: str = "all_upfront") -> NodePoolsConfig:
    return NodePoolsConfig.model_validate(
        {
            "reserved": {
                "reservation": {"instanceType": "m6i.xlarge", "count": reserved_count, "term": term, "payment": payment},
                "minSize": 0,
                "desiredSize": 0,
                "maxSize": reserved_count,
            },
            "spot": {"instanceTypes": ["m6i.xlarge", "m5.xlarge"], "minSize": 0, "desiredSize": 0, "maxSize": 4},
        }
    )


COST = CostConfig.model_validate({"spotDiscount": {"m6i.xlarge": 0.5, "m5.xlarge": 0.6}})


def node_group(name: str, capacity: str, types: list[str], desired: int, **fields) -> object:
    inputs = {
        "capacityType": capacity,
        "instanceTypes": types,
        "scalingConfig": {"desiredSize": desired},
        "labels": {"insight.io/pool": name},
    }
    return make_record(name, NODE_GROUP, custom=False, remote=True, inputs=inputs, **fields)


def lines_of(records, node_pools=None, cost=COST):
    return estimate(records, "xx-test-1", node_pools or pools(), cost, PRICES)


def test_reserved_pool_at_the_reservations_effective_rate():
    e = lines_of([node_group("reserved", "ON_DEMAND", ["m6i.xlarge"], 2)])
    (line,) = e.lines
    assert line.monthly == pytest.approx(2 * 0.4 * 0.2 * HOURS)  # 16.0
    assert line.on_demand == pytest.approx(2 * 0.2 * HOURS)  # 40.0
    assert line.node and e.node_saving == pytest.approx(0.6)


def test_every_reserved_instance_bought_is_paid_for_and_usage_beyond_it_is_on_demand():
    unused = lines_of([node_group("reserved", "ON_DEMAND", ["m6i.xlarge"], 1)], pools(reserved_count=3)).lines[0]
    assert unused.monthly == pytest.approx(3 * 0.4 * 0.2 * HOURS)  # 24.0: two idle reservations still cost
    beyond = lines_of([node_group("reserved", "ON_DEMAND", ["m6i.xlarge"], 3)], pools(reserved_count=2)).lines[0]
    assert beyond.monthly == pytest.approx((2 * 0.4 + 1) * 0.2 * HOURS)  # 36.0


def test_reservation_term_and_payment_choose_the_rate():
    line = lines_of([node_group("reserved", "ON_DEMAND", ["m6i.xlarge"], 2)], pools(term="1yr", payment="no_upfront")).lines[0]
    assert line.monthly == pytest.approx(2 * 0.7 * 0.2 * HOURS)


def test_spot_pool_at_the_expected_discount_per_type_in_an_even_mix():
    line = lines_of([node_group("spot", "SPOT", ["m6i.xlarge", "m5.xlarge"], 4)]).lines[0]
    assert line.monthly == pytest.approx(4 * (0.2 * 0.5 + 0.1 * 0.4) / 2 * HOURS)  # 14.0
    assert line.on_demand == pytest.approx(4 * (0.2 + 0.1) / 2 * HOURS)  # 60.0


def test_on_demand_pool_outside_the_reservation_costs_the_same_both_ways():
    line = lines_of([node_group("batch", "ON_DEMAND", ["m5.xlarge"], 3)]).lines[0]
    assert line.monthly == line.on_demand == pytest.approx(3 * 0.1 * HOURS)


def test_node_disks_come_from_the_node_groups_launch_template():
    template = make_record(
        "lt", "aws:ec2/launchTemplate:LaunchTemplate", inputs={"blockDeviceMappings": [{"ebs": {"volumeSize": 50, "volumeType": "gp3"}}]}
    )
    group = node_group("spot", "SPOT", ["m5.xlarge"], 3, dependencies=[template.urn], input_dependencies=[template.urn])
    disks = next(line for line in lines_of([template, group]).lines if "disks" in line.item)
    assert disks.monthly == pytest.approx(3 * 50 * 0.1) and not disks.node


def test_a_missing_instance_price_is_an_error_naming_the_type_never_zero():
    with pytest.raises(MissingPrice, match=r"m7a\.xlarge in xx-test-1"):
        lines_of([node_group("spot", "SPOT", ["m7a.xlarge"], 1)], cost=CostConfig.model_validate({"spotDiscount": {"m7a.xlarge": 0.5}}))
    with pytest.raises(MissingPrice, match=r"no expected spot discount for m5\.xlarge"):
        lines_of([node_group("spot", "SPOT", ["m5.xlarge"], 1)], cost=CostConfig.model_validate({"spotDiscount": {}}))
    with pytest.raises(MissingPrice, match="no prices for region"):
        estimate([], "mars-1", pools(), COST, PRICES)


def test_an_unpriced_pool_type_stops_the_stack_before_anything_is_declared():
    sections = raw_sections("test")
    sections["nodePools"]["spot"]["instanceTypes"] = ["m6i.xlarge", "m6a.xlarge", "m7a.xlarge"]
    with pytest.raises(ConfigError) as err:
        run_stack("test", overrides={f"insight:{k}": v for k, v in sections.items()})
    message = err.value.render()
    assert (
        "Pulumi.test.yaml: insight:nodePools.spot.instanceTypes = 'm7a.xlarge': no on-demand price for instance type m7a.xlarge" in message
    )
    assert "insight:cost.spotDiscount" in message and "no expected discount for spot type(s) m7a.xlarge" in message


def test_spot_discount_out_of_range_is_rejected():
    sections = raw_sections("prod")
    sections["cost"]["spotDiscount"]["m5.xlarge"] = 0.95
    with pytest.raises(ConfigError, match=r"insight:cost\.spotDiscount\.m5\.xlarge = 0\.95: Input should be less than or equal to 0\.9"):
        run_stack("prod", overrides={f"insight:{k}": v for k, v in sections.items()})


@pytest.mark.parametrize(
    ("quantity", "expected"), [("10Gi", 10), ("512Mi", 0.5), ("1Ti", 1024), ("10G", 10e9 / 2**30), (2**31, 2), ("1.5Gi", 1.5)]
)
def test_storage_quantities_in_gib(quantity, expected):
    assert gib(quantity) == pytest.approx(expected)


def test_persistent_volumes_per_kind_with_operator_defaults():
    sts = make_record(
        "db",
        "kubernetes:apps/v1:StatefulSet",
        inputs={"spec": {"replicas": 3, "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "10Gi"}}}}]}},
    )
    es = make_record(
        "es",
        "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch",
        inputs={
            "spec": {"nodeSets": [{"count": 3, "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "100Gi"}}}}]}]}
        },
    )
    rabbit = make_record("mq", "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster", inputs={"spec": {"replicas": 3}})
    mongo = make_record("mongo", "kubernetes:mongodbcommunity.mongodb.com/v1:MongoDBCommunity", inputs={"spec": {"members": 1}})
    chart = make_record(
        "metrics",
        "kubernetes:helm.sh/v4:Chart",
        inputs={
            "values": {
                "prometheus": {
                    "prometheusSpec": {"storageSpec": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}}}
                }
            }
        },
    )
    assert [volume_gib(r) for r in (sts, es, rabbit, chart)] == [30, 300, 30, 20]
    assert volume_gib(mongo) == pytest.approx((10e9 + 2e9) / 2**30)
    stack = make_record("insight-test", "pulumi:pulumi:Stack", custom=False)
    platform = make_record("platform", "insight:platform:Platform", custom=False, parent=stack.urn)
    records = [stack, platform] + [make_record(r.name, r.type, parent=platform.urn, inputs=r.inputs) for r in (sts, es, rabbit)]
    (line,) = lines_of(records).lines
    assert (line.component, line.monthly) == ("platform", pytest.approx(360 * 0.1))


def test_fixed_items_load_balancers_and_traffic():
    apps = make_record("apps", "insight:apps:Apps", custom=False)
    nlb_by_annotation = {"metadata": {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "external"}}}
    records = [
        make_record("cluster", "eks:index:Cluster", custom=False, remote=True),
        make_record("nat", "aws:ec2/natGateway:NatGateway"),
        make_record("eip", "aws:ec2/eip:Eip"),
        apps,
        make_record("api", "kubernetes:core/v1:Service", parent=apps.urn, inputs={**nlb_by_annotation, "spec": {"type": "LoadBalancer"}}),
        make_record(
            "web",
            "kubernetes:core/v1:Service",
            parent=apps.urn,
            inputs={"spec": {"type": "LoadBalancer", "loadBalancerClass": "service.k8s.aws/nlb"}},
        ),
        make_record("legacy", "kubernetes:core/v1:Service", parent=apps.urn, inputs={"spec": {"type": "LoadBalancer"}}),
        make_record("internal", "kubernetes:core/v1:Service", parent=apps.urn, inputs={"spec": {"type": "ClusterIP"}}),
    ]
    cost = CostConfig.model_validate({"spotDiscount": {}, "usage": {"natProcessedGb": 100}})
    e = lines_of(records, cost=cost)
    by_item = {line.item: line.monthly for line in e.lines}
    assert by_item == pytest.approx(
        {
            "EKS control plane: 1": 0.1 * HOURS,
            "NAT gateway hours: 1": 0.05 * HOURS,
            "public IPv4 addresses: 1": 0.01 * HOURS,
            "network load balancers (hours): 2": 2 * 0.02 * HOURS,
            "classic load balancers (hours): 1": 0.04 * HOURS,
            "NAT data processed: 100 GB": 100 * 0.05,
        }
    )
    assert e.monthly == e.on_demand and e.stack_saving == 0  # no nodes: nothing for reservations or spot to save
    assert "data transfer out to the internet (set insight:cost.usage.internetEgressGb to price it)" in e.excluded
    assert "load balancer capacity units" in e.excluded


S3_GATEWAY = {"vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.xx-test-1.s3"}
USAGE = {"natProcessedGb": 100, "logsIngestedGb": 10, "natS3Share": 0.6, "flowLogShare": 0.8}


def test_the_s3_gateway_endpoint_takes_its_share_off_the_nat_for_free():
    cost = CostConfig.model_validate({"spotDiscount": {}, "usage": USAGE})
    with_endpoint = lines_of([make_record("network-s3", "aws:ec2/vpcEndpoint:VpcEndpoint", inputs=S3_GATEWAY)], cost=cost)
    by_item = {line.item: line.monthly for line in with_endpoint.lines}
    assert by_item["NAT data processed, 60% to S3 through the gateway endpoint: 60 GB"] == 0
    assert by_item["NAT data processed: 40 GB"] == pytest.approx(40 * 0.05)
    # No endpoint declared (or an interface one): every GB still goes through the NAT, whatever the share says.
    interface = {**S3_GATEWAY, "vpcEndpointType": "Interface"}
    for records in ([], [make_record("network-s3", "aws:ec2/vpcEndpoint:VpcEndpoint", inputs=interface)]):
        by_item = {line.item: line.monthly for line in lines_of(records, cost=cost).lines}
        assert by_item["NAT data processed: 100 GB"] == pytest.approx(100 * 0.05)


def test_flow_logs_in_s3_are_priced_as_s3_delivery_not_cloudwatch_ingestion():
    cost = CostConfig.model_validate({"spotDiscount": {}, "usage": USAGE})
    to_s3 = make_record("network", "aws:ec2/flowLog:FlowLog", inputs={"logDestinationType": "s3"})
    by_item = {line.item: line.monthly for line in lines_of([to_s3], cost=cost).lines}
    assert by_item["CloudWatch Logs ingested, 80% VPC flow logs delivered to S3 (Parquet): 8 GB"] == pytest.approx(8 * 0.3)
    assert by_item["CloudWatch Logs ingested: 2 GB"] == pytest.approx(2 * 0.5)
    to_cloudwatch = make_record("network", "aws:ec2/flowLog:FlowLog", inputs={"logDestinationType": "cloud-watch-logs"})
    by_item = {line.item: line.monthly for line in lines_of([to_cloudwatch], cost=cost).lines}
    assert by_item["CloudWatch Logs ingested: 10 GB"] == pytest.approx(10 * 0.5)


def test_an_interface_endpoint_pays_off_above_its_hours_over_the_per_gb_difference():
    # 2 AZs x 0.01 $/h x 100 h = 2 $ a month; each GB saves 0.05 - 0.01 = 0.04 $: 50 GB.
    assert interface_endpoint_break_even_gb(PRICES.region("xx-test-1"), 2, HOURS) == pytest.approx(50)


def test_a_misspelt_usage_figure_is_rejected_naming_the_keys_allowed():
    sections = raw_sections("staging")
    sections["cost"]["usage"] = {"natProcesedGb": 500}
    with pytest.raises(ConfigError, match=r"insight:cost\.usage\.natProcesedGb = 500: unknown key; allowed keys here: .*natProcessedGb"):
        run_stack("staging", overrides={f"insight:{k}": v for k, v in sections.items()})
