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

GbPerMonth = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class Usage(Section):
    """Monthly volumes of the traffic-priced items; an item left out is listed as excluded, not zero."""

    nat_processed_gb: GbPerMonth | None = None
    internet_egress_gb: GbPerMonth | None = None
    cloudfront_egress_gb: GbPerMonth | None = None
    s3_standard_gb_month: GbPerMonth | None = None
    logs_ingested_gb: GbPerMonth | None = None
    # Assumptions about the volumes above, stated where the volumes are: the share of natProcessedGb that goes to
    # S3 in the region (ECR layers, snapshots, dumps), which the S3 gateway endpoint takes off the NAT, and the
    # share of logsIngestedGb that is VPC flow logs, which S3 delivery (Parquet) takes out of CloudWatch Logs.
    nat_s3_share: Share | None = None
    flow_log_share: Share | None = None


class CostConfig(Section):
    # Expected discount below on-demand per spot instance type (0.6 = pay 40%), from the region's spot price history.
    spot_discount: dict[str, Annotated[float, Field(ge=0, le=MAX_SPOT_DISCOUNT)]]
    usage: Usage = Usage()


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
