"""Network: enough AZs, private nodes, flow logs, nothing open to the world but the edge's TLS port."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .base import Registry, Resource, as_list, covers_everything, dig, of_type, truthy

rules = Registry()

SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
# Adopts the VPC's default group and owns all its rules, in both directions, even when it lists none.
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUPS = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
NODE_GROUPS = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
TLS_PORT = 443
# Subnet tags the network sets for the load balancer controller: they say which side a subnet is on.
PUBLIC_ROLE_TAG = "kubernetes.io/role/elb"
PRIVATE_ROLE_TAG = "kubernetes.io/role/internal-elb"


def is_public_subnet(subnet: Resource) -> bool:
    return truthy(subnet.get("mapPublicIpOnLaunch")) or PUBLIC_ROLE_TAG in subnet.get("tags", default={})


def is_private_subnet(subnet: Resource) -> bool:
    return PRIVATE_ROLE_TAG in subnet.get("tags", default={})


def _zones_spanned(subnets: Sequence[Resource]) -> tuple[int, list[str]]:
    """The fewest AZs the subnets can be in. AWS places a subnet by zone name or zone id (the account's name for a zone
    may be any id), so a name and an id may be the same zone; a subnet with neither goes where AWS picks."""
    names = {str(s.get("availabilityZone")) for s in subnets if s.get("availabilityZone")}
    ids = {str(s.get("availabilityZoneId")) for s in subnets if s.get("availabilityZoneId")}
    return max(len(names), len(ids)), sorted(names | ids)


@rules.stack("net-az-count", "An AZ outage must leave capacity: at least 2 AZs, 3 in prod.")
def az_count(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for vpc in of_type(resources, VPC):
        spanned, zones = _zones_spanned([s for s in of_type(resources, SUBNET) if s.depends_on(vpc) and is_private_subnet(s)])
        minimum = vpc.policy.min_azs
        if spanned < minimum:
            yield vpc, f"private subnets surely span {spanned} AZ(s) ({', '.join(zones)}); {vpc.policy.name} needs {minimum}"


@rules.resource("net-private-no-public-ip", "Private subnets must never hand out public addresses.", [SUBNET])
def private_no_public_ip(subnet: Resource) -> Iterator[str]:
    if is_private_subnet(subnet) and truthy(subnet.get("mapPublicIpOnLaunch")):
        yield "private subnet sets mapPublicIpOnLaunch"


@rules.stack("net-nodes-private", "Nodes, and the data on their volumes, live only in private subnets.")
def nodes_private(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    public = [s for s in of_type(resources, SUBNET) if is_public_subnet(s)]
    for group in of_type(resources, *NODE_GROUPS):
        placed = [s.name for s in public if group.depends_on(s)]
        if placed:
            yield group, f"node group placed in public subnet(s) {', '.join(placed)}"


@rules.stack("net-flow-logs", "Every VPC records its traffic (ALL) for forensics.")
def flow_logs(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for vpc in of_type(resources, VPC):
        logs = [f for f in of_type(resources, FLOW_LOG) if f.depends_on(vpc) and f.get("trafficType") == "ALL"]
        if not logs:
            yield vpc, "no flow log with trafficType ALL"


# AWS (EC2 IpPermission): "-1" is every protocol and every port, whatever the port range says; so is any protocol
# but tcp and udp for this rule (icmp types, GRE, ...). The provider takes names in any case, numbers and "all".
ALL_PROTOCOLS = "-1"
PROTOCOL_NAMES = {"all": ALL_PROTOCOLS, "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
PORTED_PROTOCOLS = ("tcp", "udp")


@dataclass(frozen=True)
class Grant:
    """What one ingress permission admits: a protocol on a port range (None: every port), from some address ranges."""

    source: str
    protocol: str
    ports: tuple[int, int] | None
    cidrs: tuple[object, ...]

    def admits(self, protocol: str, port: int | None) -> bool:
        if self.protocol == ALL_PROTOCOLS:
            return True
        if self.protocol != protocol:
            return False
        return self.ports is None or port is None or self.ports[0] <= port <= self.ports[1]


def _protocol(value: object) -> str:
    name = str(value).strip().lower()
    return PROTOCOL_NAMES.get(name, name)


def _port(value: Any) -> int | None:
    """The provider takes a port as a number or its digits ("443")."""
    try:
        return None if isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _cidrs(rule: Any) -> list[object]:
    return as_list(dig(rule, "cidrBlocks")) + as_list(dig(rule, "ipv6CidrBlocks"))


def _grant(source: str, rule: Any, cidrs: list[object]) -> Grant:
    protocol = _protocol(dig(rule, "protocol", default=dig(rule, "ipProtocol")))
    low, high = _port(dig(rule, "fromPort")), _port(dig(rule, "toPort"))
    ports = (low, high) if protocol in PORTED_PROTOCOLS and low is not None and high is not None else None
    return Grant(source, protocol, ports, tuple(c for c in cidrs if c))


def _grants(r: Resource) -> list[Grant]:
    """The ingress permissions a security group (inline) or a standalone rule declares."""
    if r.type in SECURITY_GROUPS:
        inline = [rule for rule in as_list(r.get("ingress")) if isinstance(rule, dict)]
        return [_grant(f"{r.name} ingress[{i}]", rule, _cidrs(rule)) for i, rule in enumerate(inline)]
    if r.type == SG_RULE:
        return [_grant(r.name, r.inputs, _cidrs(r.inputs))] if r.get("type") == "ingress" else []
    return [_grant(r.name, r.inputs, [r.get("cidrIpv4"), r.get("cidrIpv6")])]


def _world_reach(grants: Sequence[Grant]) -> str | None:
    """A protocol and port other than TLS that the grants together admit from every address, if any.

    Probing every range's ends (and the port after TLS) is enough: if the world reaches a port, it reaches the
    highest start among the ranges admitting it, or, when that start is TLS, the next port."""
    ports = sorted({p for g in grants if g.ports for p in g.ports} | {0, TLS_PORT + 1})
    probes = [(protocol, port) for protocol in PORTED_PROTOCOLS for port in ports if (protocol, port) != ("tcp", TLS_PORT)]
    probes += [(p, None) for p in sorted({g.protocol for g in grants} - {*PORTED_PROTOCOLS, ALL_PROTOCOLS})]
    for protocol, port in probes:
        admitting = [g for g in grants if g.admits(protocol, port)]
        if covers_everything(c for g in admitting for c in g.cidrs):
            where = f"{protocol} port {port}" if port is not None else f"protocol {protocol}"
            return f"{where} open to the world through {', '.join(g.source for g in admitting)}"
    return None


@rules.stack("net-no-world-ingress", "Only the public load balancers' TLS port may be reached from 0.0.0.0/0.")
def no_world_ingress(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    """A group's inline rules and the standalone rules on it add up: ranges split over several still make the world."""
    groups = of_type(resources, *SECURITY_GROUPS)
    standalone = of_type(resources, SG_RULE, SG_INGRESS_RULE)
    judged = [(g, _grants(g) + [grant for r in standalone if r.depends_on(g) for grant in _grants(r)]) for g in groups]
    # A rule on a group the stack does not declare (the cluster's, made by EKS) is judged on its own.
    judged += [(r, _grants(r)) for r in standalone if not any(r.depends_on(g) for g in groups)]
    for owner, grants in judged:
        if found := _world_reach(grants):
            yield owner, found


def _direction(rule: Resource) -> str:
    if rule.type == SG_RULE:
        return str(rule.get("type"))
    return "ingress" if rule.type == SG_INGRESS_RULE else "egress"


def _inline(group: Resource, direction: str) -> bool:
    """Whether the group owns the rules of a direction: it lists them, even as an empty list (which removes all the
    others on its next update); the VPC's default group owns both directions whatever it lists."""
    return group.type == DEFAULT_SECURITY_GROUP or group.inputs.get(direction) is not None


@rules.stack("net-sg-rules-not-mixed", "Inline and standalone rules on one security group fight over it on every update.")
def sg_rules_not_mixed(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    standalone = of_type(resources, SG_RULE, SG_INGRESS_RULE, SG_EGRESS_RULE)
    for group in of_type(resources, *SECURITY_GROUPS):
        fighting = [r.name for r in standalone if r.depends_on(group) and _inline(group, _direction(r))]
        if fighting:
            yield group, f"owns its rules inline and has standalone rules {', '.join(fighting)}"
