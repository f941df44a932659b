"""The deploy critical path and the serialisation warnings on small hand-made graphs."""

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from costing.deploy import deploy_estimate
from costing.durations import CUSTOM_RESOURCE_READINESS, DURATIONS, KUBERNETES_OBJECT, NOT_AWAITED, duration_of, seconds_for
from offline.recorder import Record
from tests.helpers import make_record

VPC = "aws:ec2/vpc:Vpc"
NAT = "aws:ec2/natGateway:NatGateway"
CLUSTER = "eks:index:Cluster"
NODES = "eks:index:ManagedNodeGroup"
STS = "kubernetes:apps/v1:StatefulSet"
CHART = "kubernetes:helm.sh/v4:Chart"
BUCKET = "aws:s3/bucket:Bucket"
KUBE_CALL = KUBERNETES_OBJECT.seconds


def sec(type_: str) -> int:
    return DURATIONS[type_].seconds


def after(*deps: Record, explicit: Sequence[Record] = ()) -> dict[str, Any]:
    """Dependencies as the recorder keeps them: every one in `dependencies`, the input-carried ones also apart."""
    return {"dependencies": [d.urn for d in (*deps, *explicit)], "input_dependencies": [d.urn for d in deps]}


def names(estimate) -> list[str]:
    return [s.name for s in estimate.path]


def test_the_longest_chain_wins_and_is_printed_in_order():
    vpc = make_record("vpc", VPC)
    nat = make_record("nat", NAT, **after(vpc))
    cluster = make_record("cluster", CLUSTER, custom=False, remote=True, **after(vpc))
    nodes = make_record("nodes", NODES, custom=False, remote=True, **after(cluster))
    d = deploy_estimate([vpc, nat, cluster, nodes])
    assert names(d) == ["vpc", "cluster", "nodes"]
    assert d.total == sec(VPC) + sec(CLUSTER) + sec(NODES)
    assert [s.finish for s in d.path] == [sec(VPC), sec(VPC) + sec(CLUSTER), d.total]
    assert d.warnings == ()


def test_independent_resources_run_in_parallel():
    d = deploy_estimate([make_record("a", NAT), make_record("b", NAT), make_record("c", VPC)])
    assert d.total == sec(NAT)


def test_a_component_is_done_when_its_children_are():
    component = make_record("edge", "insight:edge:Edge", custom=False)
    slow = make_record("nat", NAT, parent=component.urn)
    waiting = make_record("after-edge", VPC, **after(explicit=[component]))
    d = deploy_estimate([component, slow, waiting])
    assert d.total == sec(NAT) + sec(VPC)
    assert names(d) == ["nat", "after-edge"]


def test_kubernetes_objects_wait_for_their_provider_and_pods_for_nodes():
    cluster = make_record("cluster", CLUSTER, custom=False, remote=True)
    provider = make_record("k8s", "pulumi:providers:kubernetes", **after(cluster))
    nodes = make_record("nodes", NODES, custom=False, remote=True, **after(cluster))
    deployment = make_record("web", "kubernetes:apps/v1:Deployment", provider=f"{provider.urn}::id-1")
    config = make_record("cfg", "kubernetes:core/v1:ConfigMap", provider=f"{provider.urn}::id-1")
    d = deploy_estimate([cluster, provider, nodes, deployment, config])
    assert names(d) == ["cluster", "nodes", "web"]
    assert d.path[-1].via == "nodes"
    assert d.total == sec(CLUSTER) + sec(NODES) + sec("kubernetes:apps/v1:Deployment")


def test_volumes_wait_for_the_ebs_csi_driver():
    csi = make_record("ebs-csi", "aws:eks/addon:Addon", inputs={"addonName": "aws-ebs-csi-driver"})
    claim = make_record(
        "data", "kubernetes:core/v1:PersistentVolumeClaim", inputs={"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    )
    d = deploy_estimate([csi, claim])
    assert names(d) == ["ebs-csi", "data"] and d.path[-1].via == "volumes"


def test_an_explicit_dependency_no_input_needs_is_flagged_with_the_time_it_adds():
    nat = make_record("nat", NAT)
    bucket = make_record("logs", BUCKET, **after(explicit=[nat]))
    (warning,) = deploy_estimate([nat, bucket]).warnings
    assert warning.urn == bucket.urn and warning.seconds == sec(NAT)
    assert "logs" in warning.message and "depends_on on nat" in warning.message and "no input" in warning.message


def test_an_input_dependency_or_a_known_need_is_not_flagged():
    nat = make_record("nat", NAT)
    through_input = make_record("route", "aws:ec2/routeTable:RouteTable", **after(nat))
    igw = make_record("igw", "aws:ec2/internetGateway:InternetGateway")
    nodes = make_record("nodes", NODES, custom=False, remote=True)
    addon = make_record("coredns", "aws:eks/addon:Addon", **after(explicit=[nodes]))
    nat_after_igw = make_record("nat2", NAT, **after(explicit=[igw]))
    assert deploy_estimate([nat, through_input, igw, nodes, addon, nat_after_igw]).warnings == ()


def test_a_short_explicit_wait_is_not_worth_a_warning():
    vpc = make_record("vpc", VPC)
    bucket = make_record("logs", BUCKET, **after(explicit=[vpc]))
    assert deploy_estimate([vpc, bucket]).warnings == ()


def test_charts_waiting_on_each_other_are_flagged_but_objects_needing_a_chart_are_not():
    operator = make_record("eck-operator", CHART, custom=False, remote=True)
    other = make_record("rabbitmq-operator", CHART, custom=False, remote=True, **after(explicit=[operator]))
    cr = make_record("es", "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch", **after(explicit=[operator]))
    warnings = deploy_estimate([operator, other, cr]).warnings
    assert [w.urn for w in warnings] == [other.urn]
    assert "charts and operators install in parallel" in warnings[0].message


def test_ordered_ready_statefulsets_start_pods_one_by_one_and_are_flagged():
    ordered = make_record("mq", STS, inputs={"spec": {"replicas": 3}})
    parallel = make_record("redis", STS, inputs={"spec": {"replicas": 3, "podManagementPolicy": "Parallel"}})
    single = make_record("zipkin", STS, inputs={"spec": {"replicas": 1}})
    d = deploy_estimate([ordered, parallel, single])
    assert seconds_for(STS, ordered.inputs, True, False) == 3 * sec(STS)
    assert seconds_for(STS, parallel.inputs, True, False) == sec(STS)
    assert d.total == 3 * sec(STS) and names(d) == ["mq"] and "3 replicas one after another" in d.path[0].why
    (warning,) = d.warnings
    assert warning.urn == ordered.urn and warning.seconds == 2 * sec(STS) and "Parallel" in warning.message


def test_durations_follow_what_pulumi_awaits():
    lb = {"spec": {"type": "LoadBalancer"}}
    assert (
        duration_of("kubernetes:core/v1:Service", lb, True, False).seconds
        > duration_of("kubernetes:core/v1:Service", {}, True, False).seconds
    )
    skip = {"metadata": {"annotations": {"pulumi.com/skipAwait": "true"}}}
    assert duration_of("kubernetes:apps/v1:Deployment", skip, True, False).seconds < sec("kubernetes:apps/v1:Deployment")
    es = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
    awaited = {"metadata": {"annotations": {"pulumi.com/waitFor": "jsonpath={.status.health}=green"}}}
    assert duration_of(es, awaited, True, False).seconds > duration_of(es, {}, True, False).seconds
    cdn = "aws:cloudfront/distribution:Distribution"
    assert duration_of(cdn, {"waitForDeployment": False}, True, False).seconds < sec(cdn)
    assert duration_of("insight:edge:Edge", {}, False, False).seconds == 0
    assert duration_of("aws:s3/bucket:Bucket", {}, True, False).why == "one cloud API call"


def test_a_job_runs_until_the_custom_resource_it_waits_for_is_ready():
    es_type = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
    es = make_record("es", es_type)
    job = make_record("snapshot-setup", "kubernetes:batch/v1:Job", **after(explicit=[es]))
    reader = make_record("dashboards", "kubernetes:core/v1:ConfigMap", **after(explicit=[es]))
    d = deploy_estimate([es, job, reader])
    readiness = CUSTOM_RESOURCE_READINESS["Elasticsearch"].seconds
    job_seconds = sec("kubernetes:batch/v1:Job")
    assert d.total == KUBE_CALL + readiness + job_seconds
    assert names(d) == ["es", "snapshot-setup"] and f"first runs {readiness} s until es is ready" in d.path[-1].why
    awaited = make_record("es", es_type, inputs={"metadata": {"annotations": {"pulumi.com/waitFor": "jsonpath={.status.health}=green"}}})
    assert deploy_estimate([awaited, job]).total == readiness + job_seconds  # Pulumi waited: the Job starts on a ready cluster


def test_a_job_pulumi_does_not_await_holds_nothing():
    es = make_record("es", "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    job = make_record(
        "snapshot-setup",
        "kubernetes:batch/v1:Job",
        inputs={"metadata": {"annotations": {"pulumi.com/skipAwait": "true"}}},
        **after(explicit=[es]),
    )
    assert deploy_estimate([es, job]).total == KUBE_CALL + NOT_AWAITED.seconds


def test_waiting_for_an_enclosing_component_is_no_cycle():
    component = make_record("platform", "insight:platform:Platform", custom=False)
    child = make_record("job", "kubernetes:batch/v1:Job", parent=component.urn, **after(explicit=[component]))
    assert deploy_estimate([component, child]).total == sec("kubernetes:batch/v1:Job")


def test_a_child_of_a_custom_resource_still_waits_for_it():
    role = make_record("role", "aws:iam/role:Role")
    attachment = make_record("attach", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", parent=role.urn, **after(role))
    assert names(deploy_estimate([role, attachment])) == ["role", "attach"]


TYPES = sorted(DURATIONS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TYPES), st.sets(st.integers(min_value=0, max_value=30), max_size=3)), min_size=1, max_size=30))
def test_the_path_adds_up_to_the_total_and_no_chain_is_longer(spec):
    """Random DAGs (each resource may wait for earlier ones): the printed steps sum to the total, which bounds every chain."""
    records: list[Record] = []
    for i, (type_, picks) in enumerate(spec):
        deps = [records[p] for p in picks if p < i]
        records.append(make_record(f"r{i}", type_, **after(*deps)))
    d = deploy_estimate(records)
    assert sum(s.seconds for s in d.path) == d.total
    assert [s.finish for s in d.path] == sorted({s.finish for s in d.path})
    for r in records:  # any single chain r <- dependency is no longer than the total
        own = seconds_for(r.type, r.inputs, r.custom, r.remote)
        assert own + max((seconds_for(by.type, by.inputs, True, False) for by in records if by.urn in r.dependencies), default=0) <= d.total


def test_a_components_own_depends_on_is_not_flagged_since_children_do_not_inherit_it():
    nat = make_record("nat", NAT)
    component = make_record("apps", "insight:apps:Apps", custom=False, **after(explicit=[nat]))
    child = make_record("bucket", BUCKET, parent=component.urn)
    d = deploy_estimate([nat, component, child])
    assert d.warnings == () and d.total == sec(NAT)
