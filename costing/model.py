"""The monthly bill of one stack, as configured and as if every node ran on-demand.

Pure functions over the recorded resources (what the program declares) and the stack settings
(what only they know: the reservation's term and payment, expected spot discounts, traffic).
Node pools are priced at their desired size, the steady state the autoscaler starts from.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from offline.recorder import Record
from settings.cluster import NodePoolsConfig
from settings.cost import CostConfig, Usage

from .prices import MissingPrice, PriceTable, RegionPrices

NODE_GROUP = "eks:index:ManagedNodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
POOL_LABEL = "insight.io/pool"
EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"  # what a managed node group launches when it names no type
TRAFFIC = "traffic"


@dataclass(frozen=True)
class Line:
    component: str  # the top-level component that declares it (network, cluster, platform, ...)
    item: str
    monthly: float  # USD per month as configured
    on_demand: float  # the same item with every node on-demand
    node: bool = False  # EC2 instance hours: the part reservations and spot change


@dataclass(frozen=True)
class Estimate:
    region: str
    lines: tuple[Line, ...]
    excluded: tuple[str, ...]
    prices: PriceTable

    @property
    def monthly(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def on_demand(self) -> float:
        return sum(line.on_demand for line in self.lines)

    @property
    def node_monthly(self) -> float:
        return sum(line.monthly for line in self.lines if line.node)

    @property
    def node_on_demand(self) -> float:
        return sum(line.on_demand for line in self.lines if line.node)

    @property
    def node_saving(self) -> float:
        return saving(self.node_monthly, self.node_on_demand)

    @property
    def stack_saving(self) -> float:
        return saving(self.monthly, self.on_demand)


def saving(actual: float, on_demand: float) -> float:
    """Fraction below the all-on-demand price (0.6 = 60% cheaper)."""
    return 1 - actual / on_demand if on_demand else 0.0


def gib(quantity: str | int | float) -> float:
    """A Kubernetes storage quantity ("100Gi", "10G", "512Mi") in GiB, the unit EBS bills."""
    text = str(quantity).strip()
    units = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10, "k": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}
    for suffix, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text) / 2**30  # a bare number is bytes


def top_components(records: Iterable[Record]) -> dict[str, str]:
    """URN -> name of its outermost component below the stack (the stack's own children name themselves)."""
    by_urn = {r.urn: r for r in records}
    stack = next((r.urn for r in by_urn.values() if r.type == "pulumi:pulumi:Stack"), "")
    owner: dict[str, str] = {}
    for urn, record in by_urn.items():
        current = record
        while current.parent and current.parent != stack and current.parent in by_urn:
            current = by_urn[current.parent]
        owner[urn] = current.name
    return owner


# --- nodes -------------------------------------------------------------------------------------------


def _node_disk_gib(group: Record, templates: dict[str, Record]) -> float:
    for urn in group.dependencies:
        if urn in templates:
            return sum(m.get("ebs", {}).get("volumeSize", 0) for m in templates[urn].inputs.get("blockDeviceMappings", []))
    return 0.0


def spot_discount(cost: CostConfig, instance_type: str) -> float:
    try:
        return cost.spot_discount[instance_type]
    except KeyError:
        raise MissingPrice(f"no expected spot discount for {instance_type} in insight:cost.spotDiscount") from None


def node_lines(
    records: list[Record], owner: dict[str, str], *, pools: NodePoolsConfig, cost: CostConfig, prices: PriceTable, regional: RegionPrices
) -> Iterator[Line]:
    """Instances and their root volumes, per managed node group, at the desired size."""
    hours = prices.hours_per_month
    templates = {r.urn: r for r in records if r.type == LAUNCH_TEMPLATE}
    reservation = pools.reserved.reservation
    for group in (r for r in records if r.type == NODE_GROUP):
        inputs = group.inputs
        count = int(inputs.get("scalingConfig", {}).get("desiredSize", 0))
        types: list[str] = inputs.get("instanceTypes") or [EKS_DEFAULT_INSTANCE_TYPE]
        pool = inputs.get("labels", {}).get(POOL_LABEL, group.name)
        on_demand_hourly = fmean(regional.instance_hourly(t) for t in types)
        if inputs.get("capacityType") == "SPOT":
            # No allocation strategy is predictable: assume an even mix of the interchangeable types.
            hourly = fmean(regional.instance_hourly(t) * (1 - spot_discount(cost, t)) for t in types)
            item = f"{pool} pool: {count} x spot {'/'.join(types)}"
            yield Line(owner[group.urn], item, count * hourly * hours, count * on_demand_hourly * hours, node=True)
        elif types == [reservation.instance_type]:
            # Reserved Instances are billing: every one bought is paid for, used or not; usage beyond them is on-demand.
            rate = prices.reserved_rate(reservation.term, reservation.payment)
            covered = min(count, reservation.count)
            item = f"{pool} pool: {count} x {types[0]}, {reservation.count} reserved ({reservation.term} {reservation.payment})"
            monthly = (reservation.count * rate + (count - covered)) * on_demand_hourly * hours
            yield Line(owner[group.urn], item, monthly, count * on_demand_hourly * hours, node=True)
        else:
            item = f"{pool} pool: {count} x on-demand {'/'.join(types)}"
            yield Line(owner[group.urn], item, count * on_demand_hourly * hours, count * on_demand_hourly * hours, node=True)
        disk = count * _node_disk_gib(group, templates)
        if disk:
            monthly = disk * regional.ebs_gp3_gb_month
            yield Line(owner[group.urn], f"{pool} pool: node disks, {disk:g} GiB gp3", monthly, monthly)


# --- persistent volumes --------------------------------------------------------------------------------


def _claims_gib(templates: Iterable[dict[str, Any]]) -> float:
    return sum(gib(t.get("spec", {}).get("resources", {}).get("requests", {}).get("storage", 0)) for t in templates)


def _chart_claims_gib(values: Any) -> float:
    """Claims a chart's values ask for in the prometheus-operator style (`...storageSpec.volumeClaimTemplate`), one replica each."""
    if isinstance(values, dict):
        own = _claims_gib([values["volumeClaimTemplate"]]) if isinstance(values.get("volumeClaimTemplate"), dict) else 0.0
        return own + sum(_chart_claims_gib(v) for k, v in values.items() if k != "volumeClaimTemplate")
    if isinstance(values, list):
        return sum(_chart_claims_gib(v) for v in values)
    return 0.0


def volume_gib(record: Record) -> float:
    """GiB of EBS the object claims, with each operator's defaults where the spec leaves storage out."""
    kind = record.type.rsplit(":", 1)[-1]
    if kind in ("Chart", "Release"):
        return _chart_claims_gib(record.inputs.get("values", {}))
    spec = record.inputs.get("spec", {})
    if kind == "StatefulSet":
        return int(spec.get("replicas", 1)) * _claims_gib(spec.get("volumeClaimTemplates", []))
    if kind == "PersistentVolumeClaim":
        return gib(spec.get("resources", {}).get("requests", {}).get("storage", 0))
    if kind == "Elasticsearch":  # ECK: 1Gi per node when a node set names no claim
        return sum(int(s.get("count", 1)) * (_claims_gib(s.get("volumeClaimTemplates", [])) or 1) for s in spec.get("nodeSets", []))
    if kind == "Logstash":
        return int(spec.get("count", 1)) * _claims_gib(spec.get("volumeClaimTemplates", []))
    if kind == "RabbitmqCluster":  # the operator's default: 10Gi per replica
        return int(spec.get("replicas", 1)) * gib(spec.get("persistence", {}).get("storage", "10Gi"))
    if kind == "MongoDBCommunity":  # the operator's defaults: a 10G data and a 2G logs volume per member
        claims = spec.get("statefulSet", {}).get("spec", {}).get("volumeClaimTemplates", [])
        return int(spec.get("members", 1)) * (_claims_gib(claims) or gib("10G") + gib("2G"))
    return 0.0


def volume_lines(records: list[Record], owner: dict[str, str], regional: RegionPrices) -> Iterator[Line]:
    per_component: defaultdict[str, float] = defaultdict(float)
    for record in records:
        if record.type.startswith("kubernetes:"):
            per_component[owner[record.urn]] += volume_gib(record)
    for component, size in sorted(per_component.items()):
        if size:
            monthly = size * regional.ebs_gp3_gb_month
            yield Line(component, f"persistent volumes, {size:g} GiB gp3", monthly, monthly)


# --- everything else priced per hour or per month ----------------------------------------------------------


def load_balancer_kind(record: Record) -> str | None:
    """The load balancer a Service of type LoadBalancer gets from the AWS Load Balancer Controller (or in-tree)."""
    if record.type != "kubernetes:core/v1:Service" or record.inputs.get("spec", {}).get("type") != "LoadBalancer":
        return None
    annotations = record.inputs.get("metadata", {}).get("annotations", {})
    if record.inputs["spec"].get("loadBalancerClass") == "service.k8s.aws/nlb":
        return "network"
    if annotations.get("service.beta.kubernetes.io/aws-load-balancer-type") in ("external", "nlb", "nlb-ip"):
        return "network"
    return "classic"  # the in-tree cloud provider's default


def fixed_lines(records: list[Record], owner: dict[str, str], prices: PriceTable, regional: RegionPrices) -> Iterator[Line]:
    hours = prices.hours_per_month
    counts: Counter[tuple[str, str]] = Counter()
    monthly_each = {
        "EKS control plane": regional.eks_control_plane_hourly * hours,
        "NAT gateway hours": regional.nat_gateway_hourly * hours,
        "public IPv4 addresses": regional.public_ipv4_hourly * hours,
        "network load balancers (hours)": regional.network_load_balancer_hourly * hours,
        "application load balancers (hours)": regional.application_load_balancer_hourly * hours,
        "classic load balancers (hours)": regional.classic_load_balancer_hourly * hours,
        "KMS keys": regional.kms_key_monthly,
        "hosted zones": regional.hosted_zone_monthly,
        "Secrets Manager secrets": regional.secret_monthly,
        "WAF web ACLs": regional.web_acl_monthly,
        "WAF rules": regional.web_acl_rule_monthly,
    }
    kinds = {
        "eks:index:Cluster": "EKS control plane",
        "aws:eks/cluster:Cluster": "EKS control plane",
        "aws:ec2/natGateway:NatGateway": "NAT gateway hours",
        "aws:ec2/eip:Eip": "public IPv4 addresses",
        "aws:kms/key:Key": "KMS keys",
        "aws:route53/zone:Zone": "hosted zones",
        "aws:secretsmanager/secret:Secret": "Secrets Manager secrets",
        "aws:wafv2/webAcl:WebAcl": "WAF web ACLs",
        "aws:lb/loadBalancer:LoadBalancer": "application load balancers (hours)",
    }
    for record in records:
        component = owner[record.urn]
        kind = kinds.get(record.type)
        if record.type == "aws:lb/loadBalancer:LoadBalancer" and record.inputs.get("loadBalancerType") == "network":
            kind = "network load balancers (hours)"
        if kind:
            counts[(component, kind)] += 1
        if record.type == "aws:wafv2/webAcl:WebAcl":
            counts[(component, "WAF rules")] += len(record.inputs.get("rules", []))
        lb = load_balancer_kind(record)
        if lb:
            counts[(component, f"{lb} load balancers (hours)")] += 1
    for (component, kind), n in sorted(counts.items()):
        if n:
            monthly = n * monthly_each[kind]
            yield Line(component, f"{kind}: {n}", monthly, monthly)


USAGE_ITEMS = {
    "nat_processed_gb": ("natProcessedGb", "NAT data processed"),
    "internet_egress_gb": ("internetEgressGb", "data transfer out to the internet"),
    "cloudfront_egress_gb": ("cloudfrontEgressGb", "CloudFront data transfer out"),
    "s3_standard_gb_month": ("s3StandardGbMonth", "S3 Standard storage"),
    "logs_ingested_gb": ("logsIngestedGb", "CloudWatch Logs ingested"),
}
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"


@dataclass(frozen=True)
class Offload:
    """Traffic the declared resources move off a priced path: a share of one usage volume, and where it goes."""

    source: str  # the Usage field it comes out of
    share: float
    label: str
    per_gb_key: str | None  # its price on the new path (None: free)


def offloads(records: list[Record], usage: Usage) -> list[Offload]:
    """What the S3 gateway endpoint and S3 flow-log delivery, when declared, take off NAT and CloudWatch Logs."""
    moved: list[Offload] = []
    gateway = any(
        r.type == VPC_ENDPOINT and r.inputs.get("vpcEndpointType") == "Gateway" and str(r.inputs.get("serviceName", "")).endswith(".s3")
        for r in records
    )
    if gateway and usage.nat_s3_share:
        moved.append(Offload("nat_processed_gb", usage.nat_s3_share, "to S3 through the gateway endpoint", None))
    flow_to_s3 = any(r.type == FLOW_LOG and r.inputs.get("logDestinationType") == "s3" for r in records)
    if flow_to_s3 and usage.flow_log_share:
        moved.append(Offload("logs_ingested_gb", usage.flow_log_share, "VPC flow logs delivered to S3 (Parquet)", "flowLogsToS3Gb"))
    return moved


def usage_lines(usage: Usage, regional: RegionPrices, moved: Iterable[Offload] = ()) -> tuple[list[Line], list[str]]:
    """Traffic-priced items from the configured monthly volumes; the ones left out are listed, not zeroed.

    A volume an offload moves is priced on its new path (a line of its own), the rest on the old one.
    """
    by_source = {o.source: o for o in moved}
    lines: list[Line] = []
    excluded: list[str] = []
    for field, (key, label) in USAGE_ITEMS.items():
        volume = getattr(usage, field)
        if volume is None:
            excluded.append(f"{label} (set insight:cost.usage.{key} to price it)")
            continue
        offload = by_source.get(field)
        if offload:
            off = volume * offload.share
            volume -= off
            monthly = off * regional.per_gb[offload.per_gb_key] if offload.per_gb_key else 0.0
            lines.append(Line(TRAFFIC, f"{label}, {offload.share:.0%} {offload.label}: {off:g} GB", monthly, monthly))
        monthly = volume * regional.per_gb[key]
        lines.append(Line(TRAFFIC, f"{label}: {volume:g} GB", monthly, monthly))
    return lines, excluded


def interface_endpoint_break_even_gb(regional: RegionPrices, azs: int, hours: float) -> float:
    """GB a month through one interface endpoint (one ENI per AZ) above which it costs less than the NAT it replaces."""
    hourly = azs * regional.interface_endpoint_hourly * hours
    return hourly / (regional.per_gb["natProcessedGb"] - regional.per_gb["interfaceEndpointProcessedGb"])


def estimate(records: list[Record], region: str, pools: NodePoolsConfig, cost: CostConfig, prices: PriceTable) -> Estimate:
    regional = prices.region(region)
    owner = top_components(records)
    traffic, unpriced = usage_lines(cost.usage, regional, offloads(records, cost.usage))
    lines = [
        *node_lines(records, owner, pools=pools, cost=cost, prices=prices, regional=regional),
        *volume_lines(records, owner, regional),
        *fixed_lines(records, owner, prices, regional),
        *traffic,
    ]
    return Estimate(region, tuple(lines), (*unpriced, *prices.excluded), prices)
