"""Container stdout reaches Elasticsearch: Fluent Bit on every node, admitted where it runs, sending to a Logstash
input that exists, on a port its Service serves; the drills count it on every node."""

import re

from drills.capacity import DAEMONSETS
from drills.workloads import container_requests, tolerates
from judges.admission import rejected
from judges.pod_security import violations
from judges.stack import stack_pods
from offline.manifests import manifests
from offline.runner import Run
from settings.scheduling import SPOT_TAINT_KEY


def shipper(run: Run) -> dict:
    (daemonset,) = [o for o in manifests(run) if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "fluent-bit"]
    return daemonset


def config(run: Run) -> str:
    (cm,) = [o for o in manifests(run) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "fluent-bit"]
    return cm["data"]["fluent-bit.conf"]


def test_every_nodes_container_logs_are_tailed(run: Run) -> None:
    spec = shipper(run)["spec"]["template"]["spec"]
    assert tolerates(spec, SPOT_TAINT_KEY), "spot nodes' logs are only on spot nodes"
    host_paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    # /var/log/containers holds links into /var/log/pods: the whole /var/log is mounted at the same path.
    assert host_paths[mounts["/var/log"]] == "/var/log" and "Path /var/log/containers/*.log" in config(run)
    assert spec["containers"][0]["resources"]["requests"], "a DaemonSet without requests overcommits every node"


def test_shipped_logs_reach_a_logstash_input_on_a_port_its_service_serves(run: Run) -> None:
    host, port = re.search(r"\[OUTPUT\][^\[]*Host (\S+)\s+Port (\d+)", config(run)).groups()  # type: ignore[union-attr]
    service, namespace, _ = host.split(".")
    objects = manifests(run)
    (svc,) = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service and o["metadata"]["namespace"] == namespace]
    assert int(port) in {p["port"] for p in svc["spec"]["ports"]}
    (logstash,) = [o for o in objects if o["kind"] == "Logstash"]
    assert f"tcp {{ port => {port} codec => json_lines" in logstash["spec"]["pipelines"][0]["config.string"]


def test_the_shipper_is_admitted_in_its_namespace_and_would_not_be_below_privileged(run: Run) -> None:
    pods, _ = stack_pods(run)
    (pod,) = [p for p in pods if "fluent-bit" in p.origin]
    assert not rejected([pod], manifests(run))
    assert any("hostPath" in line for line in violations(pod.spec, "baseline")), "hostPath needs the privileged level"


def test_the_drills_count_the_shipper_on_every_node(run: Run) -> None:
    (fact,) = [d for d in DAEMONSETS if d.name == "fluent-bit"]
    requests = container_requests(shipper(run)["spec"]["template"]["spec"]["containers"])
    assert (fact.requests.cpu_m, fact.requests.mem_mi) == (requests.cpu_m, requests.mem_mi)
