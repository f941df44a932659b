"""Traffic as the cluster judges it: a flow passes when the destination Service serves the port the caller
uses, and the NetworkPolicies at BOTH ends admit it (source egress, destination ingress, on the pod's port,
named ports resolved on the destination pod). Pure functions over rendered objects.

Peers of a rule match as the NetworkPolicy API defines them: pods by namespace/pod selectors, addresses
outside the cluster by ipBlock (pod addresses are never assumed to fall in an ipBlock).
"""

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pods:
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, int], ...] = ()  # named container ports

    @staticmethod
    def of(namespace: str, labels: dict[str, str], ports: dict[str, int] | None = None) -> "Pods":
        return Pods(namespace, tuple(sorted(labels.items())), tuple(sorted((ports or {}).items())))

    def __str__(self) -> str:
        return f"{self.namespace}/{','.join(f'{k}={v}' for k, v in self.labels) or '*'}"


@dataclass(frozen=True)
class Address:
    ip: str
    name: str

    def __str__(self) -> str:
        return self.name


Endpoint = Pods | Address


@dataclass(frozen=True)
class Flow:
    name: str
    source: Endpoint
    destination: Endpoint
    port: int | str  # the pod's port (or its name); with `service`, the Service's port
    protocol: str = "TCP"
    service: tuple[str, str] | None = None  # (namespace, name) the caller addresses
    why: str = field(default="", compare=False)


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Label selector semantics; an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _in_block(ip: str, block: Obj) -> bool:
    addr = ipaddress.ip_address(ip)
    if addr not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(addr in ipaddress.ip_network(e) for e in block.get("except") or [])


def peer_matches(peer: Obj, policy_namespace: str, other: Endpoint, namespace_labels: dict[str, dict[str, str]]) -> bool:
    if "ipBlock" in peer:
        return isinstance(other, Address) and _in_block(other.ip, peer["ipBlock"])
    if not isinstance(other, Pods):
        return False
    if "namespaceSelector" in peer:
        ns_labels = {NAMESPACE_LABEL: other.namespace, **namespace_labels.get(other.namespace, {})}
        if not selects(peer["namespaceSelector"], ns_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], dict(other.labels))


def port_matches(rule_ports: list[Obj] | None, port: int, protocol: str, named: dict[str, int]) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str):
            want = named.get(want)
        if want is not None and (want == port or want <= port <= p.get("endPort", want)):
            return True
    return False


def _policy_types(policy: Obj) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def admits(  # noqa: PLR0917 (both directions share one signature)
    direction: str, pod: Pods, peer: Endpoint, port: int, protocol: str, named: dict[str, int], policies: list[Obj], ns_labels: dict
) -> bool:
    """Whether `pod`'s policies let traffic in from (Ingress) or out to (Egress) `peer` on `port`."""
    isolating = [
        p
        for p in policies
        if p["metadata"].get("namespace") == pod.namespace
        and direction in _policy_types(p)
        and selects(p["spec"].get("podSelector"), dict(pod.labels))
    ]
    if not isolating:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in isolating:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(peer_matches(x, pod.namespace, peer, ns_labels) for x in peers)
            if peer_ok and port_matches(rule.get("ports"), port, protocol, named):
                return True
    return False


def service_target(service: Obj, port: int, named: dict[str, int]) -> int | None:
    """The pod port a Service sends `port` to, or None when it does not serve that port."""
    for p in service["spec"].get("ports") or []:
        if p["port"] == port:
            target = p.get("targetPort", port)
            return named.get(target) if isinstance(target, str) else target
    return None


def blocked(flow: Flow, policies: list[Obj], services: dict[tuple[str, str], Obj], ns_labels: dict[str, dict[str, str]]) -> list[str]:
    """Why `flow` cannot happen (empty: it can)."""
    dst = flow.destination
    named = dict(dst.ports) if isinstance(dst, Pods) else {}
    port = flow.port
    if flow.service is not None:
        service = services.get(flow.service)
        if service is None:
            return [f"no Service {flow.service[0]}/{flow.service[1]}"]
        target = service_target(service, int(port), named)
        if target is None:
            served = [p["port"] for p in service["spec"].get("ports") or []]
            return [f"Service {flow.service[0]}/{flow.service[1]} does not serve port {port} (serves {served})"]
        port = target
    if isinstance(port, str):
        if port not in named:
            return [f"{dst} has no port named {port}"]
        port = named[port]
    reasons = []
    if isinstance(flow.source, Pods) and not admits("Egress", flow.source, dst, port, flow.protocol, named, policies, ns_labels):
        reasons.append(f"egress of {flow.source} does not admit {dst}:{port}/{flow.protocol}")
    if isinstance(dst, Pods) and not admits("Ingress", dst, flow.source, port, flow.protocol, named, policies, ns_labels):
        reasons.append(f"ingress of {dst} does not admit {flow.source} on {port}/{flow.protocol}")
    return reasons
