"""Traffic judge: each stack's needed flows pass both ends' NetworkPolicies and the Service's ports, the
forbidden ones stay blocked; the judge is shown failing on planted faults."""

import copy

from catalog import load_catalog
from judges.flows import vpc_address
from judges.network import Cluster, failures, needed
from judges.stack import installs, stack_pods
from offline.manifests import manifests
from offline.runner import Run
from settings import StackConfig


def cluster(run: Run, objects: list[dict] | None = None) -> Cluster:
    assert isinstance(run.settings, StackConfig), "the traffic judge reads the stack's VPC"
    return Cluster(
        objects if objects is not None else manifests(run),
        stack_pods(run)[0],
        installs(run),
        load_catalog(run.settings.environment),
        vpc_address(str(run.settings.network.vpc_cidr)),
    )


def find(objects: list[dict], kind: str, namespace: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"].get("namespace") == namespace and o["metadata"]["name"] == name)


def test_needed_flows_pass_and_forbidden_flows_stay_blocked(run: Run) -> None:
    assert failures(cluster(run)) == []


def test_needed_flows_are_derived_from_every_source(run: Run) -> None:
    names = " | ".join(f.name for f in needed(cluster(run)))
    for part in (
        "web calls api-gateway",
        "uses mongodb",
        "ES_HOSTS",
        "health check of web",
        "scrape of",
        "DNS from",
        "webhook",
        "metrics-server",
    ):
        assert part in names


def test_planted_removed_policy_rule_blocks_a_needed_flow(run: Run) -> None:
    objects = copy.deepcopy(manifests(run))
    web = find(objects, "NetworkPolicy", "apps", "web")
    web["spec"]["egress"] = [r for r in web["spec"]["egress"] if "6379" not in str(r)]
    assert any(line.startswith("needed, blocked: web uses redis: egress") for line in failures(cluster(run, objects)))


def test_planted_port_the_service_does_not_serve_is_caught(run: Run) -> None:
    objects = copy.deepcopy(manifests(run))
    for port in find(objects, "Service", "apps", "search")["spec"]["ports"]:
        port["port"] = 8081
    assert any("search: Service apps/search does not serve port" in line for line in failures(cluster(run, objects)))


def test_planted_open_ingress_to_the_data_namespace_is_caught(run: Run) -> None:
    objects = copy.deepcopy(manifests(run))
    allow_all = {"ingress": [{}], "podSelector": {}, "policyTypes": ["Ingress"]}
    objects.append({"kind": "NetworkPolicy", "metadata": {"namespace": "data", "name": "oops"}, "spec": allow_all})
    assert "forbidden, admitted: internet to mongodb" in failures(cluster(run, objects))
