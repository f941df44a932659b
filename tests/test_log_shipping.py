"""Container stdout reaches Elasticsearch: Fluent Bit on every node, admitted where it runs, sending to a Logstash
input that exists, on a port its Service serves; the drills count it on every node."""

import re
from fnmatch import fnmatchcase
from typing import Any

from pyhocon import ConfigFactory

from catalog import CLUSTER
from drills.capacity import DAEMONSETS
from drills.workloads import container_requests, tolerates
from judges.admission import rejected
from judges.pod_security import violations
from judges.stack import Pod, stack_pods
from offline.manifests import manifests
from offline.runner import Run
from onprem.bundle import compose_catalog
from settings.endpoints import APPS_NAMESPACE
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


def sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """The classic-mode config as Fluent Bit reads it: `[KIND]` headers, then one `Key value` a line."""
    parsed: list[tuple[str, dict[str, str]]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("["):
            parsed.append((line.strip("[]"), {}))
        elif line:
            key, value = line.split(None, 1)
            parsed[-1][1][key.lower()] = value
    return parsed


def readers(text: str, log_file: str) -> list[str]:
    """Tags of the tail inputs that read this file: glob Path, fnmatch Exclude_Path (in_tail/tail_scan_glob.c, v4.0.13)."""
    inputs = [s for kind, s in sections(text) if kind == "INPUT" and s["name"] == "tail"]
    return [
        s["tag"].removesuffix(".*")
        for s in inputs
        if fnmatchcase(log_file, s["path"]) and not any(fnmatchcase(log_file, p) for p in s.get("exclude_path", "").split(",") if p)
    ]


def logging_output(application_conf: str) -> str:
    tree: Any = ConfigFactory.parse_string(application_conf, resolve=False)
    return tree.get_string("insight.logging.output")


def log_output(objects: list[dict], pod: Pod) -> str:
    """`insight.logging.output` in the application.conf the pod mounts: where its logback sends its lines."""
    (name,) = [v["configMap"]["name"] for v in pod.spec["volumes"] if "configMap" in v]
    (cm,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"] == {**o["metadata"], "name": name, "namespace": pod.namespace}
    ]
    return logging_output(cm["data"]["application.conf"])


def misrouted(text: str, objects: list[dict], pods: list[Pod]) -> list[str]:
    """Each container's lines must be read once: the services' (logback JSON on stdout, no appender) by the `apps`
    input, every other container's by the `kube` one, the shipper's own by none (it would loop)."""
    problems = []
    for pod in pods:
        pod_name = pod.origin.rsplit("/", 1)[-1] + "-5d8f7c-x2x9q"
        for container in [c["name"] for c in pod.spec.get("initContainers", []) + pod.spec["containers"]]:
            log_file = f"/var/log/containers/{pod_name}_{pod.namespace}_{container}-{'0' * 64}.log"
            if pod.origin == "monitoring/DaemonSet/fluent-bit":
                expected = []
            elif pod.namespace == APPS_NAMESPACE:
                expected = ["apps"]
                if log_output(objects, pod) != "stdout":
                    problems.append(f"{pod.origin}: logback's TCP appender still ships what stdout ships")
            else:
                expected = ["kube"]
            if readers(text, log_file) != expected:
                problems.append(f"{pod.origin} {container}: read by {readers(text, log_file)}, expected {expected}")
    return problems


def test_every_container_is_read_once_and_the_services_only_from_stdout(run: Run) -> None:
    objects = manifests(run)
    pods, _ = stack_pods(run)
    assert any(p.namespace == APPS_NAMESPACE for p in pods) and not misrouted(config(run), objects, pods)


def test_a_misrouted_container_or_a_service_shipping_twice_is_caught(run: Run) -> None:
    objects = manifests(run)
    pods, _ = stack_pods(run)
    text = config(run)
    everything_excluded = text.replace("Exclude_Path ", "Exclude_Path /var/log/containers/*,")
    assert any("expected ['kube']" in p for p in misrouted(everything_excluded, objects, pods))
    apps_tailed_twice = text.replace(",/var/log/containers/*_apps_*.log", "")
    assert any("expected ['apps']" in p for p in misrouted(apps_tailed_twice, objects, pods))
    appender_kept = [
        dict(o, data={"application.conf": o["data"]["application.conf"].replace('output = "stdout"', 'output = "logstash"')})
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "web-config"
        else o
        for o in objects
    ]
    assert misrouted(text, appender_kept, pods) == ["apps/Deployment/web: logback's TCP appender still ships what stdout ships"]


def test_each_path_keeps_its_fields_and_lands_where_its_lines_were_counted(run: Run) -> None:
    parsed = sections(config(run))
    filters = {s["match"].removesuffix(".*"): s for kind, s in parsed if kind == "FILTER" and s["name"] == "kubernetes"}
    outputs = {s["match"].removesuffix(".*"): s for kind, s in parsed if kind == "OUTPUT"}
    for tag in ("apps", "kube"):
        # The filter finds pod, namespace and container in the tag only under the prefix the input's tag gives it.
        assert filters[tag]["kube_tag_prefix"] == f"{tag}.var.log.containers."
    # The services' JSON becomes fields (trace ids, MDC) and goes to the appender's input; no second @timestamp.
    assert (filters["apps"]["merge_log"], filters["apps"]["keep_log"], outputs["apps"]["json_date_key"]) == ("On", "Off", "false")
    assert outputs["apps"]["port"] == str(CLUSTER.infra["logstash"].port)
    assert filters["kube"]["merge_log"] == "Off"


def test_a_changed_shipper_config_rolls_its_pods(run: Run) -> None:
    annotations = shipper(run)["spec"]["template"]["metadata"]["annotations"]
    assert "insight.io/config-hash" in annotations, "Fluent Bit reads its config once: an unrolled pod keeps the old one"


def test_on_one_host_the_appender_is_the_one_path() -> None:
    """Compose ships no container stdout (json-file logs stay on the host): the TCP appender carries every line."""
    for spec in compose_catalog().services:
        assert logging_output(spec.application_conf) == "logstash", spec.name
