"""The price table shipped as data (costing/prices.yaml): typed, loaded once, strict about gaps."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).with_name("prices.yaml")


class MissingPrice(LookupError):
    """A price the table does not hold: the estimate stops rather than counting it as zero."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class RegionPrices:
    region: str
    ec2_hourly: dict[str, float]
    eks_control_plane_hourly: float
    nat_gateway_hourly: float
    public_ipv4_hourly: float
    ebs_gp3_gb_month: float
    network_load_balancer_hourly: float
    application_load_balancer_hourly: float
    classic_load_balancer_hourly: float
    kms_key_monthly: float
    hosted_zone_monthly: float
    secret_monthly: float
    web_acl_monthly: float
    web_acl_rule_monthly: float
    interface_endpoint_hourly: float
    per_gb: dict[str, float]

    def instance_hourly(self, instance_type: str) -> float:
        try:
            return self.ec2_hourly[instance_type]
        except KeyError:
            raise MissingPrice(
                f"no on-demand price for instance type {instance_type} in {self.region} in {PRICES_FILE.name}; "
                f"priced there: {', '.join(sorted(self.ec2_hourly))}"
            ) from None


@dataclass(frozen=True)
class PriceTable:
    source: str
    date: str
    hours_per_month: float
    reserved_effective_rate: dict[str, dict[str, float]]
    regions: dict[str, RegionPrices]
    excluded: tuple[str, ...]

    def region(self, region: str) -> RegionPrices:
        try:
            return self.regions[region]
        except KeyError:
            raise MissingPrice(f"no prices for region {region} in {PRICES_FILE.name}; priced: {', '.join(sorted(self.regions))}") from None

    def reserved_rate(self, term: str, payment: str) -> float:
        """Effective hourly rate of a standard Reserved Instance as a fraction of on-demand."""
        try:
            return self.reserved_effective_rate[term][payment]
        except KeyError:
            raise MissingPrice(f"no reserved effective rate for term {term}, payment {payment} in {PRICES_FILE.name}") from None


_REGION_KEYS = {
    "ec2Hourly": "ec2_hourly",
    "eksControlPlaneHourly": "eks_control_plane_hourly",
    "natGatewayHourly": "nat_gateway_hourly",
    "publicIpv4Hourly": "public_ipv4_hourly",
    "ebsGp3GbMonth": "ebs_gp3_gb_month",
    "networkLoadBalancerHourly": "network_load_balancer_hourly",
    "applicationLoadBalancerHourly": "application_load_balancer_hourly",
    "classicLoadBalancerHourly": "classic_load_balancer_hourly",
    "kmsKeyMonthly": "kms_key_monthly",
    "hostedZoneMonthly": "hosted_zone_monthly",
    "secretMonthly": "secret_monthly",
    "webAclMonthly": "web_acl_monthly",
    "webAclRuleMonthly": "web_acl_rule_monthly",
    "interfaceEndpointHourly": "interface_endpoint_hourly",
    "perGb": "per_gb",
}


def parse_prices(document: dict[str, Any]) -> PriceTable:
    regions = {
        name: RegionPrices(region=name, **{_REGION_KEYS[k]: v for k, v in values.items()}) for name, values in document["regions"].items()
    }
    return PriceTable(
        source=document["source"],
        date=str(document["date"]),
        hours_per_month=float(document["hoursPerMonth"]),
        reserved_effective_rate=document["reservedEffectiveRate"],
        regions=regions,
        excluded=tuple(document.get("excluded", ())),
    )


@cache
def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    return parse_prices(yaml.safe_load(path.read_text()))
