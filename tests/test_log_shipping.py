"""Container stdout reaches Elasticsearch: Fluent Bit on every node, admitted where it runs, sending to a Logstash
input that exists, on a port its Service serves; the drills count it on every node."""

import json
import re
from fnmatch import fnmatchcase
from typing import Any

from pyhocon import ConfigFactory

from catalog import CLUSTER
from components.k8s.platform.logging import CONTAINER_LOGS_PORT
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


def kubelet_log_file(pod: Pod, container: str) -> str:
    pod_name = pod.origin.rsplit("/", 1)[-1] + "-5d8f7c-x2x9q"
    return f"/var/log/containers/{pod_name}_{pod.namespace}_{container}-{'0' * 64}.log"


def misrouted(text: str, objects: list[dict], pods: list[Pod]) -> list[str]:
    """Each container's lines must be read once: the services' (logback JSON on stdout, no appender) by the `apps`
    input, every other container's by the `kube` one, the shipper's own by none (it would loop)."""
    problems = []
    for pod in pods:
        for container in [c["name"] for c in pod.spec.get("initContainers", []) + pod.spec["containers"]]:
            log_file = kubelet_log_file(pod, container)
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
    outputs = {int(s["port"]): s for kind, s in parsed if kind == "OUTPUT"}
    for tag in ("apps", "kube"):
        # The filter finds pod, namespace and container in the tag only under the prefix the input's tag gives it.
        assert filters[tag]["kube_tag_prefix"] == f"{tag}.var.log.containers."
    # The services' JSON becomes fields (trace ids, MDC) and keeps its own @timestamp in the appender's input; the
    # other lines are stamped by the shipper.
    app_stream = outputs[CLUSTER.infra["logstash"].port]
    assert (filters["apps"]["merge_log"], filters["apps"]["keep_log"], app_stream["json_date_key"]) == ("On", "Off", "false")
    assert outputs[CONTAINER_LOGS_PORT]["json_date_key"] == "@timestamp"
    assert filters["kube"]["merge_log"] == "Off"


def test_a_changed_shipper_config_rolls_its_pods(run: Run) -> None:
    annotations = shipper(run)["spec"]["template"]["metadata"]["annotations"]
    assert "insight.io/config-hash" in annotations, "Fluent Bit reads its config once: an unrolled pod keeps the old one"


def test_on_one_host_the_appender_is_the_one_path() -> None:
    """Compose ships no container stdout (json-file logs stay on the host): the TCP appender carries every line."""
    for spec in compose_catalog().services:
        assert logging_output(spec.application_conf) == "logstash", spec.name


# One line of each kind an app container prints, and a platform container's (JSON with the same field, unmerged).
LOGBACK_LINE = json.dumps(
    {
        "@timestamp": "2026-11-30T18:00:00.000Z",
        "@version": "1",
        "message": "order 42 placed",
        "logger_name": "io.insight.web.Orders",
        "thread_name": "http-nio-8080-exec-1",
        "level": "INFO",
        "level_value": 20000,
        "traceId": "4bf92f3577b34da6",
    }
)
CONSOLE_LINE = "2026-11-30 18:00:00.000  INFO 1 --- [exec-1] io.insight.web.Orders : order 42 placed"
JVM_LINE = 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space'
PLATFORM_LINE = '{"level":"info","logger_name":"manager","msg":"reconciled"}'


def matches(section: dict[str, str], tag: str) -> bool:
    """`Match` is a glob, `Match_Regex` an expression anchored at the tag's start (src/flb_router.c, v4.0.13)."""
    if "match_regex" in section:
        return re.match(section["match_regex"], tag) is not None
    return fnmatchcase(tag, section["match"])


def filtered(parsed: list[tuple[str, dict[str, str]]], tag: str, record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (tag, record) pairs the filters hand to the router, as the pinned Fluent Bit runs them, in order:
    kubernetes merges a JSON object's keys at the root, dropping `log` only when it merged with Keep_Log Off;
    rewrite_tag re-emits a record whose rule key matches (a search) under its new tag through every filter again, and
    the original goes on only when the rule keeps it (filter_kubernetes/kubernetes.c, filter_rewrite_tag/rewrite_tag.c)."""
    for position, (kind, f) in enumerate(parsed):
        if kind != "FILTER" or not matches(f, tag):
            continue
        if f["name"] == "kubernetes":
            merged = json_object(record["log"]) if f["merge_log"] == "On" else None
            if merged is not None:
                record = {**{k: v for k, v in record.items() if k != "log" or f.get("keep_log") != "Off"}, **merged}
        elif f["name"] == "rewrite_tag":
            key, regex, new_tag, keep = f["rule"].split()
            value = record.get(key.removeprefix("$"))
            if isinstance(value, str) and re.search(regex, value):
                kept = filtered(parsed[position + 1 :], tag, record) if keep == "true" else []
                return filtered(parsed, new_tag.replace("$TAG", tag), record) + kept
        else:
            raise AssertionError(f"the routing model does not know filter {f['name']}")
    return [(tag, record)]


def json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def destinations(text: str, log_file: str, line: str) -> list[int]:
    """The Logstash ports one line of this container log reaches, once per output that sends it."""
    parsed = sections(text)
    ports = []
    for input_tag in readers(text, log_file):
        tag = f"{input_tag}.{log_file.lstrip('/').replace('/', '.')}"
        for final_tag, _ in filtered(parsed, tag, {"log": line, "stream": "stdout"}):
            ports += [int(o["port"]) for kind, o in parsed if kind == "OUTPUT" and matches(o, final_tag)]
    return ports


def wrong_streams(text: str, pods: list[Pod]) -> dict[str, list[int]]:
    """Each sample line must reach exactly one output: the services' logback JSON the app stream (the port their
    appender used, where dashboards count), anything else an app prints and every platform line the containers one.
    Returns the lines that did not, with the ports they reached."""
    (app,) = [p for p in pods if p.origin == f"{APPS_NAMESPACE}/Deployment/web"]
    platform = next(p for p in pods if p.namespace not in (APPS_NAMESPACE, "monitoring"))
    samples = [
        (app, LOGBACK_LINE, [CLUSTER.infra["logstash"].port]),
        (app, CONSOLE_LINE, [CONTAINER_LOGS_PORT]),
        (app, JVM_LINE, [CONTAINER_LOGS_PORT]),
        (platform, PLATFORM_LINE, [CONTAINER_LOGS_PORT]),
    ]
    reached = {line: destinations(text, kubelet_log_file(pod, pod.spec["containers"][0]["name"]), line) for pod, line, _ in samples}
    return {line: reached[line] for _, line, expected in samples if reached[line] != expected}


def test_each_line_reaches_one_stream_by_what_it_is(run: Run) -> None:
    pods, _ = stack_pods(run)
    assert wrong_streams(config(run), pods) == {}


def test_a_line_routed_by_namespace_only_twice_or_not_at_all_is_caught(run: Run) -> None:
    pods, _ = stack_pods(run)
    text = config(run)
    rule, containers = "Rule $logger_name .+ ", r"Match_Regex ^(apps|kube)\."
    assert rule in text and containers in text
    # Without the JSON condition every app line goes to the app stream: a service ignoring the key counts twice there.
    assert wrong_streams(text.replace(rule, "Rule $stream .+ "), pods) == {CONSOLE_LINE: [5000], JVM_LINE: [5000]}
    # A rule that matches nothing leaves the services' JSON in the containers stream.
    assert wrong_streams(text.replace(rule, "Rule $loggerName .+ "), pods) == {LOGBACK_LINE: [5170]}
    # The containers output not taking the apps' other lines loses them; taking every tag doubles the JSON.
    assert wrong_streams(text.replace(containers, r"Match_Regex ^kube\."), pods) == {CONSOLE_LINE: [], JVM_LINE: []}
    assert wrong_streams(text.replace(containers, "Match *"), pods) == {LOGBACK_LINE: [5000, 5170]}
