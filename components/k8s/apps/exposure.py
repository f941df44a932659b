"""Who reaches a service: its Service (a public load balancer and DNS name when the catalog says so) and its NetworkPolicy."""

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.core.v1 import ServicePortArgs, ServiceSpecArgs
from pulumi_kubernetes.networking.v1 import NetworkPolicySpecArgs

from catalog import SERVICE_PORT, ServiceSpec
from components.handle import PublicEdge
from settings.endpoints import ENDPOINTS, NAMESPACES

from .. import pods
from ..pods import NAME_LABEL, Obj, cidr_peer, namespace_peer, pods_peer, tcp_ports
from .workload import object_metadata, selector

PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def network_policy_spec(spec: ServiceSpec, clients: tuple[str, ...], callee_ports: dict[str, int]) -> Obj:
    """Ingress only from declared clients (the internet too for public services) and the metrics scraper;
    egress only to DNS, the infra endpoints and services its config names, and HTTPS outside the VPC."""
    http = tcp_ports(spec.deploy.port)
    admin = tcp_ports(spec.deploy.probes.port)
    ingress = [{"from": [pods_peer({NAME_LABEL: c})], "ports": http} for c in clients]
    if spec.public:
        # target type ip: the NLB connects to the pods' port itself.
        ingress.append({"from": [cidr_peer("0.0.0.0/0")], "ports": http})
        # The NLB health-checks the admin port from its own addresses inside the VPC.
        ingress.append({"from": [cidr_peer(cidr) for cidr in PRIVATE_RANGES], "ports": admin})
    ingress.append({"from": [namespace_peer(NAMESPACES["monitoring"])], "ports": admin})
    egress = [pods.dns_egress()]
    egress += [{"to": [namespace_peer(ENDPOINTS[name].namespace)], "ports": tcp_ports(ENDPOINTS[name].port)} for name in spec.uses]
    egress += [{"to": [pods_peer({NAME_LABEL: callee})], "ports": tcp_ports(callee_ports[callee])} for callee in spec.calls]
    # Sentry and the AWS APIs (STS for IRSA) answer on HTTPS outside the VPC.
    egress.append({"to": [cidr_peer("0.0.0.0/0", outside=PRIVATE_RANGES)], "ports": tcp_ports(443)})
    return {"podSelector": {"matchLabels": selector(spec)}, "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress}


def network_policy(
    name: str, spec: ServiceSpec, version: str, *, clients: tuple[str, ...], callee_ports: dict[str, int], parent: pulumi.Resource
) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-netpol",
        metadata=object_metadata(spec, version, spec.name),
        spec=pods.as_input(NetworkPolicySpecArgs, network_policy_spec(spec, clients, callee_ports)),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def load_balancer_hostname(status: k8s.core.v1.outputs.ServiceStatus | None) -> str:
    """The load balancer's DNS name from the Service status (the provider waits for it before the Service is ready)."""
    ingress = status.load_balancer.ingress if status is not None and status.load_balancer is not None else None
    if not ingress or not ingress[0].hostname:
        raise ValueError("the Service has no load balancer hostname in its status")
    return ingress[0].hostname


def service(name: str, spec: ServiceSpec, version: str, parent: pulumi.Resource) -> k8s.core.v1.Service:
    """Every service answers in-cluster at <name> on the catalog's service port: the address its callers' configs name."""
    return k8s.core.v1.Service(
        f"{name}-service",
        metadata=object_metadata(spec, version, spec.name),
        spec=ServiceSpecArgs(
            type="ClusterIP",
            selector=selector(spec),
            ports=[ServicePortArgs(name="http", port=SERVICE_PORT, target_port="http", protocol="TCP")],
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def public_service(name: str, spec: ServiceSpec, version: str, edge: PublicEdge, parent: pulumi.Resource) -> k8s.core.v1.Service:
    """A public service's load balancer: <name>-public on 443 only (TLS ends at the NLB); in-cluster callers keep <name>."""
    annotations = edge.load_balancer_annotations(spec.name, spec.deploy.probes.port, spec.deploy.probes.readiness.path)
    return k8s.core.v1.Service(
        f"{name}-public-service",
        metadata=object_metadata(spec, version, f"{spec.name}-public", annotations),
        spec=ServiceSpecArgs(
            type="LoadBalancer",
            load_balancer_class=edge.load_balancer_class,
            selector=selector(spec),
            ports=[ServicePortArgs(name="https", port=443, target_port="http", protocol="TCP")],
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def publish(name: str, spec: ServiceSpec, edge: PublicEdge, svc: k8s.core.v1.Service, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The service's public name, pointing at its load balancer."""
    return edge.publish(f"{name}-dns", spec.hostname or "", svc.status.apply(load_balancer_hostname), parent)
