"""EKS control plane and node pool settings, with the checks that keep them deployable."""

import difflib
import ipaddress
import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from .aws_catalog import INSTANCE_TYPES, SUPPORTED_KUBERNETES_VERSIONS, architecture
from .base import Cidr, Section, covers_everything
from .errors import Problem
from .network import LOG_RETENTION_DAYS
from .tiers import TierPolicy

# ASCII only: Python's \w and \d also match look-alike letters and digits from other scripts.
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$")
# EKS service quota "nodes per managed node group" (EKS user guide, service quotas): a pool beyond it cannot exist.
MAX_POOL_NODES = 450
# Cluster-autoscaler treats a spot pool as one shape: types must match in vCPU and memory.
MIN_SPOT_TYPES = 3


def _known_instance_type(value: str) -> str:
    if value not in INSTANCE_TYPES:
        close = difflib.get_close_matches(value, INSTANCE_TYPES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"not a known EC2 instance type{hint} (known types: settings/aws_catalog.py)")
    return value


class ClusterConfig(Section):
    kubernetes_version: str = Field(description="EKS control-plane version (settings/aws_catalog.py lists the supported ones)")
    endpoint_public_access: bool = Field(default=False, description="whether the API endpoint is reachable from the internet")
    public_access_cidrs: list[Cidr] = Field(default=[], description="CIDRs allowed to reach a public API endpoint")
    vpn_cidrs: list[Cidr] = Field(
        default=[], description="people's VPN ranges, admitted to the private API endpoint (443 on the cluster security group)"
    )
    service_cidr: Cidr = Field(  # type: ignore[assignment]
        default="172.20.0.0/16", validate_default=True, description="the cluster's Service IP range, outside the VPC"
    )
    admin_role_arns: list[str] = Field(default=[], description="IAM roles given cluster-admin access entries")
    log_retention_days: int = Field(default=90, description="CloudWatch retention of the control-plane logs, in days")
    deployer_role_arn: str | None = Field(
        default=None, description="the role that runs `pulumi up` (CI's deploy role); EKS makes it admin at creation"
    )

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

    instance_type: str = Field(description="the reserved EC2 instance type")
    count: int = Field(ge=1, le=MAX_POOL_NODES, description="instances bought")
    term: Literal["1yr", "3yr"] = Field(description="reservation term")
    payment: Literal["no_upfront", "partial_upfront", "all_upfront"] = Field(description="reservation payment option")

    @field_validator("instance_type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _known_instance_type(value)


class PoolSize(Section):
    min_size: int = Field(ge=0, le=MAX_POOL_NODES, description="fewest nodes")
    desired_size: int = Field(ge=0, le=MAX_POOL_NODES, description="nodes at creation")
    max_size: int = Field(ge=1, le=MAX_POOL_NODES, description="most nodes")
    disk_gib: int = Field(default=50, ge=20, le=1000, description="root volume per node, GiB")


class ReservedPool(PoolSize):
    reservation: Reservation = Field(description="the Reserved Instances this pool mirrors")
    capacity_reservation: bool = Field(
        default=False, description="also an On-Demand Capacity Reservation: guaranteed capacity, paid while idle"
    )


class SpotPool(PoolSize):
    instance_types: list[str] = Field(description="at least 3 interchangeable types of one vCPU/memory shape and architecture")

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        for instance_type in value:
            _known_instance_type(instance_type)
        return value


class NodePoolsConfig(Section):
    reserved: ReservedPool = Field(description="the on-demand pool for stateful and critical pods")
    spot: SpotPool = Field(description="the spot pool for spot-tolerant pods")


def check_endpoint(tier: TierPolicy, cluster: ClusterConfig) -> Iterator[Problem]:
    if not cluster.endpoint_public_access:
        return
    if not cluster.public_access_cidrs:
        yield Problem(
            "cluster.publicAccessCidrs", [], "public endpoint without CIDRs is open to 0.0.0.0/0; list the CIDRs allowed to reach it"
        )
    if not tier.open_api_endpoint and covers_everything(cluster.public_access_cidrs):
        yield Problem(
            "cluster.publicAccessCidrs",
            [str(c) for c in cluster.public_access_cidrs],
            f"{tier.name}'s API endpoint must not be open to 0.0.0.0/0 (these ranges together cover it)",
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
