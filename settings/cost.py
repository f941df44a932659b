"""`insight:cost`: what the estimate cannot read from the resources: expected spot discounts and traffic volumes."""

from collections.abc import Iterator
from typing import Annotated

from pydantic import Field

from costing.prices import MissingPrice, load_prices

from .base import Section
from .cluster import NodePoolsConfig
from .errors import Problem

# Spot prices move; a discount above this is a forecast, not a plan.
MAX_SPOT_DISCOUNT = 0.9

# Ten petabytes a month: a bound far above any plan, so a typo of extra zeros is caught.
GbPerMonth = Annotated[float, Field(ge=0, le=10_000_000)]
Share = Annotated[float, Field(ge=0, le=1)]


class Usage(Section):
    """Monthly volumes of the traffic-priced items; an item left out is listed as excluded, not zero."""

    nat_processed_gb: GbPerMonth | None = Field(default=None, description="GB a month through the NAT gateways")
    internet_egress_gb: GbPerMonth | None = Field(default=None, description="GB a month out to the internet")
    cloudfront_egress_gb: GbPerMonth | None = Field(default=None, description="GB a month served by CloudFront")
    s3_standard_gb_month: GbPerMonth | None = Field(default=None, description="GB-months stored in S3 Standard")
    logs_ingested_gb: GbPerMonth | None = Field(default=None, description="GB a month ingested by CloudWatch Logs")
    nat_s3_share: Share | None = Field(
        default=None,
        description="assumed share of natProcessedGb that goes to S3 in the region, which the S3 gateway endpoint takes off the NAT",
    )
    flow_log_share: Share | None = Field(
        default=None, description="assumed share of logsIngestedGb that is VPC flow logs, which S3 delivery takes out of CloudWatch Logs"
    )


class CostConfig(Section):
    spot_discount: dict[str, Annotated[float, Field(ge=0, le=MAX_SPOT_DISCOUNT)]] = Field(
        description="expected discount below on-demand per spot type (0.6 = pay 40%), from the spot price history"
    )
    usage: Usage = Field(default=Usage(), description="monthly volumes of the traffic-priced items")


def check_cost(region: str, node_pools: NodePoolsConfig, cost: CostConfig) -> Iterator[Problem]:
    missing = [t for t in node_pools.spot.instance_types if t not in cost.spot_discount]
    if missing:
        yield Problem(
            "cost.spotDiscount", cost.spot_discount, f"no expected discount for spot type(s) {', '.join(missing)}; add one per type"
        )
    prices = load_prices()
    try:
        regional = prices.region(region)
    except MissingPrice as err:
        yield Problem("aws:region", region, str(err))
        return
    for path, instance_type in (
        ("nodePools.reserved.reservation.instanceType", node_pools.reserved.reservation.instance_type),
        *(("nodePools.spot.instanceTypes", t) for t in node_pools.spot.instance_types),
    ):
        try:
            regional.instance_hourly(instance_type)
        except MissingPrice as err:
            yield Problem(path, instance_type, str(err))
