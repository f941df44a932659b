"""Intents of the rules in policy/rules/network.py (see tests/intents/__init__.py)."""

import ipaddress
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from ..test_policy_rules import FLOW_LOG, VPC, res
from . import Case, Intents

SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
NODE_GROUP_TYPES = st.sampled_from(["eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup"])
PRIVATE_TAG = {"kubernetes.io/role/internal-elb": "1"}  # the load balancer controller's sides of the network
PUBLIC_TAG = {"kubernetes.io/role/elb": "1"}
# Tags anyone may set: they must change no verdict.
USER_TAGS = st.dictionaries(
    st.sampled_from(["exempt", "policy-skip", "public", "private", "Name"]), st.sampled_from(["true", "*", "1"]), max_size=2
)
ABSENT = object()  # an input left out, as opposed to null


def inputs(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not ABSENT}


# -- net-az-count

ZONE_NAMES = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
ZONE_IDS = ["apne1-az4", "apne1-az1", "apne1-az2"]


def az_count() -> st.SearchStrategy[Case]:
    """Private subnets of the VPC must surely span 2 AZs (3 in prod). AWS places a subnet by zone name or zone id
    (which name an id has differs per account: a name and an id may be one zone); one with neither lands where AWS
    picks, possibly beside the others. Public subnets and other VPCs' subnets add nothing."""

    subnet = st.tuples(
        st.sampled_from([None, 0, 1, 2]),
        st.sampled_from(["availabilityZone", "availabilityZoneId"]),
        st.booleans(),
        st.booleans(),
        USER_TAGS,
    )

    def case(tier: str, subnets: list[tuple[int | None, str, bool, bool, dict[str, str]]]) -> Case:
        vpc = replace(VPC, tier=tier)
        resources = [vpc]
        names: set[str] = set()
        ids: set[str] = set()
        for i, (zone, key, private, of_this_vpc, tags) in enumerate(subnets):
            spelled = None if zone is None else (ZONE_NAMES if key == "availabilityZone" else ZONE_IDS)[zone]
            body = {key: spelled, "tags": {**tags, **(PRIVATE_TAG if private else PUBLIC_TAG)}}
            resources.append(res(SUBNET, body, f"s{i}", deps=(vpc.urn,) if of_this_vpc else ()))
            if private and of_this_vpc and spelled:
                (names if key == "availabilityZone" else ids).add(spelled)
        # At worst every id is the zone of some name (or the reverse): the larger set is what is sure.
        surely = max(len(names), len(ids))
        return Case(resources, violates=surely < (3 if tier == "prod" else 2), tier=tier)

    return st.builds(case, st.sampled_from(["test", "staging", "prod"]), st.lists(subnet, max_size=5))


# -- net-private-no-public-ip

# Spellings of the subnet's boolean the provider accepts (the bridge converts "true"/"false" for a bool field).
MAP_PUBLIC_IP = st.sampled_from([True, False, "true", "false", None, ABSENT])


def private_no_public_ip() -> st.SearchStrategy[Case]:
    """A private subnet hands out public addresses when mapPublicIpOnLaunch is true, however spelled; public ones may."""

    def case(subnets: list[tuple[str, Any, dict[str, str]]]) -> Case:
        side_tags = {"private": PRIVATE_TAG, "public": PUBLIC_TAG, "untagged": {}}
        resources = [
            res(SUBNET, inputs(mapPublicIpOnLaunch=value, tags={**tags, **side_tags[side]}), f"s{i}")
            for i, (side, value, tags) in enumerate(subnets)
        ]
        return Case(resources, violates=any(side == "private" and value in (True, "true") for side, value, _ in subnets))

    return st.lists(st.tuples(st.sampled_from(["private", "public", "untagged"]), MAP_PUBLIC_IP, USER_TAGS), min_size=1, max_size=3).map(
        case
    )


# -- net-nodes-private


def nodes_private() -> st.SearchStrategy[Case]:
    """A node group placed in any public subnet (the load balancers' side, or one that maps public addresses,
    whatever its tags) breaks it; being in the same stack as public subnets does not."""
    subnet = st.tuples(st.sampled_from(["private", "public"]), st.sampled_from([True, "true", False, None]), USER_TAGS)
    group = st.tuples(NODE_GROUP_TYPES, st.sets(st.integers(0, 3), min_size=1))

    def case(subnets: list[tuple[str, Any, dict[str, str]]], groups: list[tuple[str, set[int]]]) -> Case:
        made = [
            res(SUBNET, {"mapPublicIpOnLaunch": maps, "tags": {**tags, **(PRIVATE_TAG if side == "private" else PUBLIC_TAG)}}, f"s{i}")
            for i, (side, maps, tags) in enumerate(subnets)
        ]
        public = {s.urn for s, (side, maps, _) in zip(made, subnets, strict=True) if side == "public" or maps in (True, "true")}
        nodes = [
            res(kind, {"capacityType": "ON_DEMAND"}, f"g{i}", deps=tuple(made[j].urn for j in placed if j < len(made)))
            for i, (kind, placed) in enumerate(groups)
        ]
        return Case(made + nodes, violates=any(public & set(n.dependencies) for n in nodes))

    return st.builds(case, st.lists(subnet, min_size=1, max_size=4), st.lists(group, min_size=1, max_size=2))


# -- net-flow-logs

# AWS accepts exactly these traffic types (EC2 API CreateFlowLogs, TrafficType); any other spelling is refused.
TRAFFIC_TYPES = st.sampled_from(["ALL", "ACCEPT", "REJECT", "all", "All", "", None])


def flow_logs() -> st.SearchStrategy[Case]:
    """Every VPC is recorded only by a flow log of that VPC capturing ALL traffic; logs of another VPC or of part
    of the traffic do not count."""
    second = res(VPC.type, {"cidrBlock": "10.1.0.0/16"}, "vpc2")

    def case(two_vpcs: bool, logs: list[tuple[str | None, int | None]]) -> Case:
        vpcs = [VPC, second] if two_vpcs else [VPC]
        resources = [*vpcs] + [
            res(FLOW_LOG.type, {"trafficType": traffic}, f"fl{i}", deps=(vpcs[of].urn,) if of is not None and of < len(vpcs) else ())
            for i, (traffic, of) in enumerate(logs)
        ]
        recorded = {of for traffic, of in logs if traffic == "ALL" and of is not None and of < len(vpcs)}
        return Case(resources, violates=len(recorded) < len(vpcs))

    return st.builds(case, st.booleans(), st.lists(st.tuples(TRAFFIC_TYPES, st.sampled_from([0, 1, None])), max_size=3))


# -- net-no-world-ingress

TLS = ("tcp", 443)
# Every spelling the EC2 API and the provider take for a protocol, with what it means. AWS (IpPermission): "-1"
# is every protocol on every port whatever the range says; icmp ranges are types and codes, not ports.
PROTOCOLS = {"tcp": "tcp", "TCP": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "-1": "every", "all": "every"}
PORTS = [0, 22, 80, 442, 443, 444, 5432, 8080, 65535]


def world_pieces(family: int, prefix: int, drop: bool) -> list[str]:
    """All of IPv4 or IPv6 cut into 2**prefix ranges; without the last piece when `drop`."""
    pieces = [str(n) for n in ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0").subnets(new_prefix=prefix)]
    return pieces[:-1] if drop else pieces


def is_world(cidrs: list[str]) -> bool:
    v4 = [n for n in map(ipaddress.ip_network, cidrs) if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in map(ipaddress.ip_network, cidrs) if isinstance(n, ipaddress.IPv6Network)]
    return list(ipaddress.collapse_addresses(v4)) == [ipaddress.IPv4Network("0.0.0.0/0")] or list(ipaddress.collapse_addresses(v6)) == [
        ipaddress.IPv6Network("::/0")
    ]


SOURCES = st.one_of(
    st.builds(world_pieces, st.sampled_from([4, 6]), st.integers(0, 3), st.booleans()),
    st.sampled_from([["10.0.0.0/8"], ["2001:db8::/32"], [], ["0.0.0.0/0", "::/0"]]),
)


@st.composite
def permission(draw: st.DrawFn) -> dict[str, Any]:
    """One ingress permission: a protocol spelling, a port range (numbers or digits), address ranges, and where it is
    declared: inline on the group, as a standalone rule on it, or on a group the stack does not declare."""
    # The TLS port alone half of the time: the range that passes only with the right protocol and addresses.
    low, high = draw(st.one_of(st.just((443, 443)), st.lists(st.sampled_from(PORTS), min_size=2, max_size=2).map(sorted)))
    as_text = draw(st.booleans())
    return {
        "protocol": draw(st.sampled_from(sorted(PROTOCOLS))),
        "ports": (low, high),
        "from": str(low) if as_text else low,
        "to": str(high) if as_text else high,
        "cidrs": draw(SOURCES),
        "place": draw(st.sampled_from(["inline", "rule", "ingress-rule", "egress", "egress-rule", "elsewhere"])),
    }


def declare(p: dict[str, Any], i: int, group: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """(inline entries, standalone resources) declaring permission `p`."""
    v4 = [c for c in p["cidrs"] if ":" not in c]
    v6 = [c for c in p["cidrs"] if ":" in c]
    entry = {
        "protocol": p["protocol"],
        "fromPort": p["from"],
        "toPort": p["to"],
        "cidrBlocks": v4,
        "ipv6CidrBlocks": v6,
        "description": "edge",
    }
    on_group = () if p["place"] == "elsewhere" else (group.urn,)
    if p["place"] == "inline":
        return [entry], []
    if p["place"] in ("rule", "egress", "elsewhere"):
        kind = "egress" if p["place"] == "egress" else "ingress"
        return [], [res(SG_RULE, {**entry, "type": kind, "securityGroupId": "sg-x"}, f"r{i}", deps=on_group)]
    # The vpc rules take one range each: a permission of several ranges is several resources.
    kind = SG_EGRESS_RULE if p["place"] == "egress-rule" else SG_INGRESS_RULE
    ranges = [{"cidrIpv6" if ":" in c else "cidrIpv4": c} for c in p["cidrs"]] or [{"referencedSecurityGroupId": "sg-lb"}]
    body = {"ipProtocol": p["protocol"], "fromPort": p["from"], "toPort": p["to"]}
    return [], [res(kind, {**body, **r}, f"r{i}-{j}", deps=on_group) for j, r in enumerate(ranges)]


def world_reaches_more_than_tls(permissions: list[dict[str, Any]]) -> bool:
    """Whether some protocol and port other than TLS is admitted from every address by the permissions together."""
    ports = {q for p in permissions for end in p["ports"] for q in (end - 1, end, end + 1)}
    for protocol in ("tcp", "udp", "icmp"):
        for port in sorted(ports):
            if (protocol, port) == TLS:
                continue
            admitted = [
                c
                for p in permissions
                if PROTOCOLS[p["protocol"]] == "every"
                or (PROTOCOLS[p["protocol"]] == protocol and (protocol == "icmp" or p["ports"][0] <= port <= p["ports"][1]))
                for c in p["cidrs"]
            ]
            if is_world(admitted):
                return True
    return False


def no_world_ingress() -> st.SearchStrategy[Case]:
    """Only TCP 443 may be reached from everywhere. A group's inline and standalone ingress rules add up (ranges split
    over several rules still make the world, IPv6's as well); egress never counts; a rule on a group the stack does not
    declare is judged alone."""

    def case(kind: str, permissions: list[dict[str, Any]], tags: dict[str, str]) -> Case:
        group = res(kind, {"vpcId": "vpc-1", "tags": tags}, "sg")
        inline: list[dict[str, Any]] = []
        standalone: list[Any] = []
        for i, p in enumerate(permissions):
            entries, resources = declare(p, i, group)
            inline += entries
            standalone += resources
        if inline:
            group = replace(group, inputs={**group.inputs, "ingress": inline})
        ingress = [p for p in permissions if p["place"] in ("inline", "rule", "ingress-rule")]
        alone = [p for p in permissions if p["place"] == "elsewhere"]
        violates = world_reaches_more_than_tls(ingress) or any(world_reaches_more_than_tls([p]) for p in alone)
        return Case([group, *standalone], violates)

    return st.builds(
        case, st.sampled_from([SECURITY_GROUP, DEFAULT_SECURITY_GROUP]), st.lists(permission(), min_size=1, max_size=4), USER_TAGS
    )


def world_split() -> st.SearchStrategy[Case]:
    """The world cut into 2..16 ranges on one port, in one rule, in several inline rules or in several standalone rules,
    is still the world; without one piece it is not (ported from test_policy_properties.py)."""

    def case(prefix: int, drop: bool, port: int, place: str) -> Case:
        pieces = world_pieces(4, prefix, drop)
        rule = {"protocol": "tcp", "fromPort": port, "toPort": port}
        group = res(SECURITY_GROUP, {}, "sg")
        if place == "one-rule":
            resources = [replace(group, inputs={"ingress": [{**rule, "cidrBlocks": pieces}]})]
        elif place == "inline":
            resources = [replace(group, inputs={"ingress": [{**rule, "cidrBlocks": [c]} for c in pieces]})]
        else:
            resources = [group] + [
                res(SG_INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": c}, f"r{i}", deps=(group.urn,))
                for i, c in enumerate(pieces)
            ]
        return Case(resources, violates=not drop and port != 443)

    return st.builds(
        case,
        st.integers(1, 4),
        st.booleans(),
        st.sampled_from([22, 80, 443, 5432, 8080]),
        st.sampled_from(["one-rule", "inline", "standalone"]),
    )


# -- net-sg-rules-not-mixed

INLINE = st.sampled_from([ABSENT, None, [], [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"]}]])
STANDALONE = st.sampled_from([(SG_RULE, "ingress"), (SG_RULE, "egress"), (SG_INGRESS_RULE, "ingress"), (SG_EGRESS_RULE, "egress")])


def sg_rules_not_mixed() -> st.SearchStrategy[Case]:
    """A group owns the rules of a direction when it lists them inline, even as an empty list (the provider then
    revokes every other rule of that direction on its next update); the VPC's default group owns both directions
    whatever it lists. A standalone rule of a direction the group owns fights it; one on another group does not."""
    other = res(SECURITY_GROUP, {"tags": {"Name": "other"}}, "other")

    def case(kind: str, ingress: Any, egress: Any, rules: list[tuple[tuple[str, str], bool]], tags: dict[str, str]) -> Case:
        group = res(kind, inputs(ingress=ingress, egress=egress, tags=tags), "sg")
        standalone = [
            res(rule_type, {"type": direction, "cidrIpv4": "10.0.0.0/8"}, f"r{i}", deps=((group if on_group else other).urn,))
            for i, ((rule_type, direction), on_group) in enumerate(rules)
        ]
        owned = {
            d for d, inline in (("ingress", ingress), ("egress", egress)) if kind == DEFAULT_SECURITY_GROUP or inline not in (ABSENT, None)
        }
        return Case([group, other, *standalone], violates=any(on_group and direction in owned for (_, direction), on_group in rules))

    return st.builds(
        case,
        st.sampled_from([SECURITY_GROUP, DEFAULT_SECURITY_GROUP]),
        INLINE,
        INLINE,
        st.lists(st.tuples(STANDALONE, st.booleans()), max_size=3),
        USER_TAGS,
    )


INTENTS: Intents = {
    "net-az-count": az_count(),
    "net-private-no-public-ip": private_no_public_ip(),
    "net-nodes-private": nodes_private(),
    "net-flow-logs": flow_logs(),
    "net-no-world-ingress": st.one_of(no_world_ingress(), world_split()),
    "net-sg-rules-not-mixed": sg_rules_not_mixed(),
}
