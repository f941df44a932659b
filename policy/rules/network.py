"""Network: enough AZs, private nodes, flow logs, nothing open to the world but the edge's TLS port."""

from collections.abc import Iterator, Sequence
from typing import Any

from .base import Registry, Resource, as_list, covers_everything, dig, of_type, truthy

rules = Registry()

SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
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


@rules.stack("net-az-count", "An AZ outage must leave capacity: at least 2 AZs, 3 in prod.")
def az_count(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for vpc in of_type(resources, VPC):
        azs = {s.get("availabilityZone") for s in of_type(resources, SUBNET) if s.depends_on(vpc) and is_private_subnet(s)}
        minimum = vpc.policy.min_azs
        if len(azs) < minimum:
            yield vpc, f"private subnets span {len(azs)} AZ(s) ({', '.join(sorted(map(str, azs)))}); {vpc.policy.name} needs {minimum}"


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


def _cidrs(rule: Any) -> list[object]:
    return as_list(dig(rule, "cidrBlocks")) + as_list(dig(rule, "ipv6CidrBlocks"))


def _open_ports(from_port: object, to_port: object, cidrs: list[object]) -> str | None:
    """The offending range when a rule admits the world (its ranges together) on anything but the TLS port."""
    if not covers_everything(c for c in cidrs if c):
        return None
    if from_port == TLS_PORT and to_port == TLS_PORT:
        return None
    return f"ports {from_port}-{to_port} open to the world ({', '.join(str(c) for c in cidrs if c)})"


@rules.resource(
    "net-no-world-ingress",
    "Only the public load balancers' TLS port may be reached from 0.0.0.0/0.",
    [SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE],
)
def no_world_ingress(r: Resource) -> Iterator[str]:
    if r.type == SECURITY_GROUP:
        inline = [rule for rule in as_list(r.get("ingress")) if isinstance(rule, dict)]
        for rule in inline:
            if found := _open_ports(rule.get("fromPort"), rule.get("toPort"), _cidrs(rule)):
                yield f"inline ingress {found}"
        # Ranges split over several rules still add up to the world.
        non_tls = [rule for rule in inline if (rule.get("fromPort"), rule.get("toPort")) != (TLS_PORT, TLS_PORT)]
        if len(non_tls) > 1 and covers_everything(c for rule in non_tls for c in _cidrs(rule)):
            yield "inline ingress rules together open non-TLS ports to the world"
    elif r.type == SG_RULE:
        if r.get("type") == "ingress" and (found := _open_ports(r.get("fromPort"), r.get("toPort"), _cidrs(r.inputs))):
            yield f"ingress {found}"
    elif found := _open_ports(r.get("fromPort"), r.get("toPort"), [r.get("cidrIpv4"), r.get("cidrIpv6")]):
        yield f"ingress {found}"


@rules.stack("net-sg-rules-not-mixed", "Inline and standalone rules on one security group fight over it on every update.")
def sg_rules_not_mixed(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for group in of_type(resources, SECURITY_GROUP):
        if not (group.get("ingress") or group.get("egress")):
            continue
        standalone = [r.name for r in of_type(resources, SG_RULE, SG_INGRESS_RULE, SG_EGRESS_RULE) if r.depends_on(group)]
        if standalone:
            yield group, f"has inline rules and standalone rules {', '.join(standalone)}"
