"""EKS control plane and node pool settings, with the checks that keep them deployable."""

import difflib
import ipaddress
import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from .aws_catalog import INSTANCE_TYPES, SUPPORTED_KUBERNETES_VERSIONS, architecture
from .base import Cidr, Section
from .errors import Problem
from .network import LOG_RETENTION_DAYS
from .tiers import TierPolicy

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
OPEN_TO_WORLD = "0.0.0.0/0"
# Cluster-autoscaler treats a spot pool as one shape: types must match in vCPU and memory.
MIN_SPOT_TYPES = 3


def _known_instance_type(value: str) -> str:
    if value not in INSTANCE_TYPES:
        close = difflib.get_close_matches(value, INSTANCE_TYPES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"not a known EC2 instance type{hint} (known types: settings/aws_catalog.py)")
    return value


class ClusterConfig(Section):
    kubernetes_version: str
    endpoint_public_access: bool = False
    public_access_cidrs: list[Cidr] = []
    # People's VPN ranges: admitted to the private API endpoint (443 on the cluster security group).
    vpn_cidrs: list[Cidr] = []
    service_cidr: Cidr = Field(default="172.20.0.0/16", validate_default=True)  # type: ignore[assignment]
    admin_role_arns: list[str] = []
    # CloudWatch retention of the control-plane logs (/aws/eks/<cluster>/cluster).
    log_retention_days: int = 90
    # The identity that runs `pulumi up` (CI's deploy role). EKS makes it cluster admin when it creates the cluster.
    deployer_role_arn: str | None = None

    @field_validator("kubernetes_version")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(f"unsupported Kubernetes version; allowed: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @field_validator("admin_role_arns", "deployer_role_arn")
    @classmethod
    def _role_arns(cls, value: list[str] | str | None) -> list[str] | str | None:
        for arn in [value] if isinstance(value, str) else value or []:
            if not ROLE_ARN.match(arn):
                raise ValueError(f"'{arn}' is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
        return value


class Reservation(Section):
    """The Reserved Instances bought for this environment. RIs are billing: the reserved pool mirrors them."""

    instance_type: str
    count: int = Field(ge=1)
    term: Literal["1yr", "3yr"]
    payment: Literal["no_upfront", "partial_upfront", "all_upfront"]

    @field_validator("instance_type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _known_instance_type(value)


class PoolSize(Section):
    min_size: int = Field(ge=0)
    desired_size: int = Field(ge=0)
    max_size: int = Field(ge=1)
    disk_gib: int = Field(default=50, ge=20, le=1000)


class ReservedPool(PoolSize):
    reservation: Reservation
    # An On-Demand Capacity Reservation guarantees the capacity in the AZs; it costs the same while idle.
    capacity_reservation: bool = False


class SpotPool(PoolSize):
    instance_types: list[str]

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        for instance_type in value:
            _known_instance_type(instance_type)
        return value


class NodePoolsConfig(Section):
    reserved: ReservedPool
    spot: SpotPool


def check_endpoint(tier: TierPolicy, cluster: ClusterConfig) -> Iterator[Problem]:
    if not cluster.endpoint_public_access:
        return
    if not cluster.public_access_cidrs:
        yield Problem(
            "cluster.publicAccessCidrs", [], "public endpoint without CIDRs is open to 0.0.0.0/0; list the CIDRs allowed to reach it"
        )
    if not tier.open_api_endpoint and any(str(c) == OPEN_TO_WORLD or c.prefixlen == 0 for c in cluster.public_access_cidrs):
        yield Problem(
            "cluster.publicAccessCidrs",
            [str(c) for c in cluster.public_access_cidrs],
            f"{tier.name}'s API endpoint must not be open to 0.0.0.0/0",
        )


def check_admins(cluster: ClusterConfig) -> Iterator[Problem]:
    if cluster.deployer_role_arn in cluster.admin_role_arns:
        yield Problem(
            "cluster.adminRoleArns",
            cluster.deployer_role_arn,
            "is cluster.deployerRoleArn: EKS already makes the creator cluster admin, and a second access entry for it "
            "fails the first deploy (ResourceInUseException); remove it here",
        )


def check_cidr_overlap(vpc_cidr: ipaddress.IPv4Network, cluster: ClusterConfig) -> Iterator[Problem]:
    if vpc_cidr.overlaps(cluster.service_cidr):
        yield Problem("cluster.serviceCidr", str(cluster.service_cidr), f"overlaps network.vpcCidr {vpc_cidr}; pick a range outside it")


def check_pool_sizes(name: str, pool: PoolSize) -> Iterator[Problem]:
    if not pool.min_size <= pool.desired_size <= pool.max_size:
        yield Problem(
            f"nodePools.{name}",
            {"minSize": pool.min_size, "desiredSize": pool.desired_size, "maxSize": pool.max_size},
            "needs minSize <= desiredSize <= maxSize",
        )


def check_reserved_pool(pool: ReservedPool) -> Iterator[Problem]:
    if pool.max_size > pool.reservation.count:
        yield Problem(
            "nodePools.reserved.maxSize",
            pool.max_size,
            f"larger than the reservation it mirrors ({pool.reservation.count} x {pool.reservation.instance_type}); "
            "raise reservation.count or lower maxSize",
        )


def check_spot_pool(pool: SpotPool) -> Iterator[Problem]:
    types = pool.instance_types
    if len(set(types)) < MIN_SPOT_TYPES:
        yield Problem(
            "nodePools.spot.instanceTypes",
            types,
            f"needs at least {MIN_SPOT_TYPES} distinct interchangeable types to survive spot reclaims",
        )
    shapes = {t: INSTANCE_TYPES[t] for t in types}
    if len({(s.vcpu, s.memory_gib) for s in shapes.values()}) > 1:
        listed = ", ".join(f"{t}={s.vcpu}vCPU/{s.memory_gib:g}GiB" for t, s in shapes.items())
        yield Problem("nodePools.spot.instanceTypes", types, f"types must share vCPU and memory for the autoscaler ({listed})")
    if len({architecture(t) for t in types}) > 1:
        yield Problem("nodePools.spot.instanceTypes", types, "types must share one CPU architecture (x86_64 or arm64)")
