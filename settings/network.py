"""Network settings and the pure decisions made from them: which AZs, which subnets, how many NATs."""

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from .aws_catalog import REGION_AZS
from .base import Cidr, Section
from .errors import Problem
from .tiers import TierPolicy

# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class NetworkConfig(Section):
    vpc_cidr: Cidr
    az_count: int = Field(ge=1)
    private_subnet_prefix: int = Field(default=19, ge=16, le=28)
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    nat_strategy: Literal["per_az", "single"]
    flow_logs_retention_days: int = 90


@dataclass(frozen=True)
class SubnetPlan:
    az: str
    private: ipaddress.IPv4Network
    public: ipaddress.IPv4Network


def plan_subnets(vpc: ipaddress.IPv4Network, azs: tuple[str, ...], private_prefix: int, public_prefix: int) -> list[SubnetPlan]:
    """Private subnet i is the i-th private-sized block; public subnets share the VPC's last block.

    Adding an AZ never moves an existing subnet (moving one would replace it and every node in it).
    Raises ValueError when the VPC is too small for the request.
    """
    if not vpc.prefixlen <= private_prefix <= public_prefix:
        raise ValueError(
            f"needs vpcCidr prefix <= privateSubnetPrefix <= publicSubnetPrefix, got /{vpc.prefixlen}, /{private_prefix}, /{public_prefix}"
        )
    blocks = list(vpc.subnets(new_prefix=private_prefix))
    public_pool = list(blocks[-1].subnets(new_prefix=public_prefix))
    if len(azs) > len(blocks) - 1 or len(azs) > len(public_pool):
        room = min(len(blocks) - 1, len(public_pool))
        raise ValueError(
            f"{vpc} holds private /{private_prefix} and public /{public_prefix} subnets for at most {room} AZs, not {len(azs)}"
        )
    return [SubnetPlan(az, blocks[i], public_pool[i]) for i, az in enumerate(azs)]


def select_azs(region: str, az_count: int) -> tuple[str, ...]:
    return REGION_AZS[region][:az_count]


def nat_gateway_count(strategy: str, az_count: int) -> int:
    return az_count if strategy == "per_az" else 1


def check_network(tier: TierPolicy, region: str, net: NetworkConfig) -> Iterator[Problem]:
    offered = REGION_AZS.get(region)
    if offered is None:
        yield Problem("aws:region", region, f"unknown region; allowed: {', '.join(sorted(REGION_AZS))}")
        return
    minimum = tier.min_azs
    if not minimum <= net.az_count <= len(offered):
        yield Problem(
            "network.azCount", net.az_count, f"{tier.name} needs {minimum} to {len(offered)} AZs ({region} offers {', '.join(offered)})"
        )
        return
    if net.flow_logs_retention_days not in LOG_RETENTION_DAYS:
        yield Problem("network.flowLogsRetentionDays", net.flow_logs_retention_days, f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    try:
        plan_subnets(net.vpc_cidr, select_azs(region, net.az_count), net.private_subnet_prefix, net.public_subnet_prefix)
    except ValueError as err:
        yield Problem("network.vpcCidr", str(net.vpc_cidr), str(err))
