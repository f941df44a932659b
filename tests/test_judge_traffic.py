"""Traffic judge: each stack's needed flows pass both ends' NetworkPolicies and the Service's ports, the
forbidden ones stay blocked; the judge is shown failing on planted faults."""

import copy

import pytest

from catalog import load_catalog
from judges.network import Cluster, failures, needed, surroundings
from judges.stack import installs, stack_pods
from offline.manifests import manifests
from offline.runner import Run
from settings import STACKS, StackConfig
from tests.conftest import declared


@pytest.fixture(params=STACKS)
def run(request: pytest.FixtureRequest) -> Run:
    """Every stack, onprem too: the customer's cluster gets the same policies."""
    return declared(request.param)


def cluster(run: Run, objects: list[dict] | None = None) -> Cluster:
    assert run.settings is not None, "the traffic judge reads the stack's network and backup store"
    network, backups_port = surroundings(run.settings)
    return Cluster(
        objects if objects is not None else manifests(run),
        stack_pods(run)[0],
        installs(run),
        load_catalog(run.settings.environment),
        network,
        backups_port,
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
        *(["health check of web"] if isinstance(run.settings, StackConfig) else []),  # the NLB's; on site, the customer's LB
        "scrape of",
        "DNS from",
        "webhook",
        # On site the customer's cluster serves the metrics API itself (README "On-prem").
        *(["metrics-server"] if isinstance(run.settings, StackConfig) else []),
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


def test_planted_backup_egress_on_https_only_blocks_the_onprem_store() -> None:
    """The customer's store listens on its endpoint's port (Pulumi.onprem.yaml: 9000), not S3's 443."""
    run = declared("onprem")
    objects = copy.deepcopy(manifests(run))
    find(objects, "NetworkPolicy", "logging", "allow-elasticsearch-s3")["spec"]["egress"] = [{"ports": [{"protocol": "TCP", "port": 443}]}]
    assert any(line.startswith("needed, blocked: Elasticsearch snapshots to the backup store") for line in failures(cluster(run, objects)))


def test_planted_backup_policy_off_the_dump_pods_blocks_the_onprem_upload() -> None:
    run = declared("onprem")
    objects = copy.deepcopy(manifests(run))
    find(objects, "NetworkPolicy", "data", "allow-mongodb-backup-s3")["spec"]["podSelector"] = {"matchLabels": {"app": "other"}}
    assert any(line.startswith("needed, blocked: MongoDB backup uploads to the backup store") for line in failures(cluster(run, objects)))
