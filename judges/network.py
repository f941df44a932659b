"""The traffic judge over a whole stack: every needed flow admitted, every forbidden flow blocked."""

from dataclasses import dataclass

from catalog import Catalog

from .flows import (
    catalog_flows,
    dns_flows,
    env_url_flows,
    infrastructure_flows,
    load_balancer_flows,
    must_stay_blocked,
    scrape_flows,
    services,
)
from .stack import Install, Obj, Pod, namespaces
from .traffic import Address, Flow, blocked


@dataclass(frozen=True)
class Cluster:
    objects: list[Obj]
    pods: list[Pod]
    installs: list[Install]
    catalog: Catalog
    vpc: Address

    @property
    def policies(self) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == "NetworkPolicy"]

    @property
    def namespace_labels(self) -> dict[str, dict[str, str]]:
        return {name: ns["metadata"].get("labels") or {} for name, ns in namespaces(self.objects).items()}


def needed(c: Cluster) -> list[Flow]:
    svcs = services(c.objects)
    charts = {i.name for i in c.installs}
    return (
        catalog_flows(c.catalog, svcs, c.pods)
        + env_url_flows(c.pods, svcs)
        + load_balancer_flows(c.objects, c.pods, c.vpc)
        + scrape_flows(c.objects, c.pods)
        + dns_flows(c.pods)
        + infrastructure_flows(c.objects, svcs, c.pods, charts, c.vpc)
    )


def failures(c: Cluster) -> list[str]:
    """A needed flow that is blocked, or a forbidden one that is not: one line each (empty: all good)."""
    svcs = services(c.objects)
    lines = [f"needed, blocked: {f.name}: {'; '.join(r)}" for f in needed(c) if (r := blocked(f, c.policies, svcs, c.namespace_labels))]
    lines += [
        f"forbidden, admitted: {f.name}"
        for f in must_stay_blocked(c.catalog, svcs, c.pods)
        if not blocked(f, c.policies, svcs, c.namespace_labels)
    ]
    return lines
