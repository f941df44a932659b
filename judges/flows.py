"""The flows a running stack needs, and those that must stay blocked.

Derived where the code knows them: app calls and infra use from the catalog (on the port the rendered config
names), URLs in platform pods' environment, public load balancers (traffic and health checks) from the
Service, scrapes from the pods' scrape annotations, DNS from every pod. The rest is declared below:
operators to what they manage, the API server to webhooks, egress to AWS and SaaS endpoints.
"""

import json
import re
from typing import Any

from catalog import Catalog
from catalog.layers import services_layer
from settings.endpoints import ENDPOINTS

from .stack import Pod
from .traffic import Address, Flow, Pods

Obj = dict[str, Any]
INTERNET = Address("203.0.113.10", "internet")
# The dump CronJob's pod template labels, all of them: a policy may select on any.
BACKUP_POD_LABELS = {"app.kubernetes.io/name": "mongodb-backup", "app.kubernetes.io/part-of": "insight-platform"}
KUBE_DNS = Pods.of("kube-system", {"k8s-app": "kube-dns"})
URL = re.compile(r"\b[a-z]+://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)")
HEALTH_PORT_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port"
# Pods that charts make, as their templates label them (judges/facts/pods.yaml cites the templates).
ECK_OPERATOR = Pods.of("elastic-system", {"control-plane": "elastic-operator"})
MONGODB_OPERATOR = Pods.of("data", {"app.kubernetes.io/name": "mongodb-kubernetes-operator"})
RABBITMQ_OPERATOR = Pods.of("rabbitmq-system", {"app.kubernetes.io/name": "rabbitmq-cluster-operator"})
DATADOG_CLUSTER_AGENT = Pods.of("monitoring", {"app": "datadog-cluster-agent"})
METRICS_SERVER = Pods.of("kube-system", {"app.kubernetes.io/name": "metrics-server"})
MONITORING = Pods.of("monitoring", {})
FLUENT_BIT = Pods.of("monitoring", {"app.kubernetes.io/name": "fluent-bit"})


def endpoint(pod: Pod) -> Pods:
    named = {p["name"]: p["containerPort"] for c in pod.spec.get("containers") or [] for p in c.get("ports") or [] if "name" in p}
    return Pods.of(pod.namespace, pod.labels, named)


def operator_services(objects: list[Obj]) -> list[Obj]:
    """The client Services operators create for their custom resources (ECK: <name>-es-http on 9200;
    RabbitMQ: <name> on 5672/15672/15692; MCK: <name>-svc on 27017), as Service objects."""

    def svc(ns: str, name: str, selector: dict[str, str], ports: list[int]) -> Obj:
        return {
            "kind": "Service",
            "metadata": {"namespace": ns, "name": name},
            "spec": {"selector": selector, "ports": [{"port": p} for p in ports]},
        }

    made = []
    for o in objects:
        ns, name = o.get("metadata", {}).get("namespace", ""), o.get("metadata", {}).get("name", "")
        if o["kind"] == "Elasticsearch":
            made.append(svc(ns, f"{name}-es-http", {"elasticsearch.k8s.elastic.co/cluster-name": name}, [9200]))
        elif o["kind"] == "RabbitmqCluster":
            made.append(svc(ns, name, {"app.kubernetes.io/name": name}, [5672, 15672, 15692]))
        elif o["kind"] == "MongoDBCommunity":
            made.append(svc(ns, f"{name}-svc", {"app": f"{name}-svc"}, [27017]))
    return made


def services(objects: list[Obj]) -> dict[tuple[str, str], Obj]:
    found = [o for o in objects if o["kind"] == "Service"] + operator_services(objects)
    return {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in found}


def behind(service: Obj, pods: list[Pod]) -> Pods:
    """The pods a Service selects, with the named ports of the first such rendered pod."""
    ns, selector = service["metadata"]["namespace"], service["spec"].get("selector") or {}
    for pod in pods:
        if pod.namespace == ns and pod.labels and all(pod.labels.get(k) == v for k, v in selector.items()):
            return Pods.of(ns, selector, dict(endpoint(pod).ports))
    return Pods.of(ns, selector)


def to_service(  # noqa: PLR0917 (a flow reads best positionally)
    name: str, source: Pods, ns: str, service: str, port: int, svcs: dict, pods: list[Pod]
) -> Flow:
    target = svcs.get((ns, service))
    dst = behind(target, pods) if target else Pods.of(ns, {})
    return Flow(name, source, dst, port, service=(ns, service))


def catalog_flows(catalog: Catalog, svcs: dict, pods: list[Pod]) -> list[Flow]:
    """Each service to every infra endpoint and service its config names, on the port the config names."""
    layer = services_layer([s.name for s in catalog.services])["services"]
    flows = []
    for spec in catalog.services:
        me = next((endpoint(p) for p in pods if p.namespace == "apps" and p.labels.get("app.kubernetes.io/name") == spec.name), None)
        me = me or Pods.of("apps", {"app.kubernetes.io/name": spec.name})
        for use in spec.uses:
            e = ENDPOINTS[use]
            flows.append(to_service(f"{spec.name} uses {use}", me, e.namespace, e.service, e.port, svcs, pods))
        for callee in spec.calls:
            service, ns = layer[callee]["host"].split(".")[:2]
            flows.append(to_service(f"{spec.name} calls {callee}", me, ns, service, layer[callee]["port"], svcs, pods))
    return flows


def env_url_flows(pods: list[Pod], svcs: dict) -> list[Flow]:
    flows = []
    for pod in pods:
        for c in pod.spec.get("containers") or []:
            for env in c.get("env") or []:
                for service, ns, port in URL.findall(str(env.get("value", ""))):
                    flows.append(to_service(f"{pod.origin} {env['name']}", endpoint(pod), ns, service, int(port), svcs, pods))
    return flows


def load_balancer_flows(objects: list[Obj], pods: list[Pod], vpc: Address) -> list[Flow]:
    """A public Service: the internet through its NLB to the pods (target type ip), health checks from the VPC."""
    flows = []
    for s in objects:
        if s["kind"] != "Service" or s["spec"].get("type") != "LoadBalancer":
            continue
        name, dst = s["metadata"]["name"], behind(s, pods)
        for p in s["spec"]["ports"]:
            flows.append(Flow(f"internet to {name} through its load balancer", INTERNET, dst, p.get("targetPort", p["port"])))
        health = (s["metadata"].get("annotations") or {}).get(HEALTH_PORT_ANNOTATION)
        if health and health != "traffic-port":
            flows.append(Flow(f"load balancer health check of {name}", vpc, dst, int(health)))
    return flows


def scrape_port(annotations: dict[str, str]) -> int | None:
    if "prometheus.io/port" in annotations:
        return int(annotations["prometheus.io/port"])
    for key, value in annotations.items():
        if key.endswith(".instances"):
            found = re.search(r"%%host%%:(\d+)", json.loads(json.dumps(value)))
            if found:
                return int(found.group(1))
    return None


def scrape_flows(objects: list[Obj], pods: list[Pod]) -> list[Flow]:
    flows = []
    for o in objects:
        template = (o.get("spec") or {}).get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        for key in ("override", "statefulSet"):  # operators' StatefulSet overrides carry the pod annotations
            nested = (o.get("spec") or {}).get(key) or {}
            nested = nested.get("statefulSet", nested) if key == "override" else nested
            annotations = annotations or ((nested.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {}
        port = scrape_port(annotations)
        if port is None:
            continue
        labels = (template.get("metadata") or {}).get("labels") or {}
        ns = o["metadata"]["namespace"]
        dst = next((endpoint(p) for p in pods if p.namespace == ns and p.labels and p.labels == labels), Pods.of(ns, labels))
        flows.append(Flow(f"scrape of {ns}/{o['kind']}/{o['metadata']['name']}", MONITORING, dst, port))
    return flows + monitor_flows(objects, pods)


def monitor_flows(objects: list[Obj], pods: list[Pod]) -> list[Flow]:
    """Prometheus to the pods a PodMonitor selects, on each endpoint's port (its number, or its name on the pod)."""
    flows = []
    for o in objects:
        if o["kind"] != "PodMonitor":
            continue
        ns, labels = o["metadata"]["namespace"], o["spec"]["selector"]["matchLabels"]
        dst = next((endpoint(p) for p in pods if p.namespace == ns and labels.items() <= (p.labels or {}).items()), Pods.of(ns, labels))
        for e in o["spec"]["podMetricsEndpoints"]:
            flows.append(Flow(f"scrape of {ns}/PodMonitor/{o['metadata']['name']}", MONITORING, dst, e.get("portNumber") or e["port"]))
    return flows


def dns_flows(pods: list[Pod]) -> list[Flow]:
    return [Flow(f"DNS from {p.origin}", endpoint(p), KUBE_DNS, 53, "UDP") for p in pods if p.labels]


def infrastructure_flows(
    objects: list[Obj], svcs: dict, pods: list[Pod], charts: set[str], vpc: Address, *, backups_port: int
) -> list[Flow]:
    """Declared: what no rendered object says, but the running system does."""
    es = [s for s in operator_services(objects) if s["metadata"]["name"].endswith("-es-http")]
    flows = [Flow("ECK reads Elasticsearch health and drives rolling changes", ECK_OPERATOR, behind(s, pods), 9200) for s in es]
    flows += [
        Flow("API server calls ECK's validating webhook", vpc, ECK_OPERATOR, 9443),
        Flow("ECK operator talks to the API server", ECK_OPERATOR, vpc, 443),
        Flow("API server calls the MongoDB operator's webhook", vpc, MONGODB_OPERATOR, 1993),
        Flow("MongoDB operator talks to the API server", MONGODB_OPERATOR, vpc, 443),
        to_service(
            "RabbitMQ operator manages users and policies", RABBITMQ_OPERATOR, "messaging", ENDPOINTS["rabbitmq"].service, 15672, svcs, pods
        ),
        to_service(
            "RabbitMQ user setup Job",
            Pods.of("messaging", {"app.kubernetes.io/name": "rabbitmq-user-setup"}),
            "messaging",
            ENDPOINTS["rabbitmq"].service,
            15672,
            svcs,
            pods,
        ),
        to_service(
            "Elasticsearch snapshot setup Job",
            Pods.of("logging", {"app.kubernetes.io/name": "elasticsearch-snapshot-setup"}),
            "logging",
            ENDPOINTS["elasticsearch"].service,
            9200,
            svcs,
            pods,
        ),
        Flow("Elasticsearch snapshots to the backup store", behind(es[0], pods), INTERNET, backups_port),
        Flow(
            "MongoDB backup uploads to the backup store",
            Pods.of("data", BACKUP_POD_LABELS),
            INTERNET,
            backups_port,
        ),
        to_service("Fluent Bit ships container stdout to Logstash", FLUENT_BIT, "logging", ENDPOINTS["logstash"].service, 5170, svcs, pods),
        to_service(
            "Fluent Bit ships the apps' JSON stdout to Logstash", FLUENT_BIT, "logging", ENDPOINTS["logstash"].service, 5000, svcs, pods
        ),
        Flow("Fluent Bit reads pod metadata from the API server", FLUENT_BIT, vpc, 443),
        Flow("apps reach Sentry and STS", Pods.of("apps", {"app.kubernetes.io/name": "web"}), INTERNET, 443),
    ]
    if "datadog" in charts:
        flows += [
            Flow("API server calls the Datadog admission controller", vpc, DATADOG_CLUSTER_AGENT, 8000),
            Flow("Datadog ships to its intake", DATADOG_CLUSTER_AGENT, INTERNET, 443),
        ]
    # kube-prometheus-stack registers no admission webhook (components/k8s/platform/metrics.py HOOK_SWITCHES).
    if "metrics-server" in charts:
        # values.yaml 3.13.1: containerPort 10250 (the APIService's backend); kubelets answer on 10250.
        flows += [
            Flow("API server calls metrics-server (APIService metrics.k8s.io)", vpc, METRICS_SERVER, 10250),
            Flow("metrics-server reads every kubelet", METRICS_SERVER, vpc, 10250),
        ]
    return flows


def must_stay_blocked(catalog: Catalog, svcs: dict, pods: list[Pod]) -> list[Flow]:
    """The internet never reaches a data store; a service reaches only the stores its config declares."""
    stores = ("mongodb", "redis", "rabbitmq", "elasticsearch")
    flows = []
    for store in stores:
        e = ENDPOINTS[store]
        dst = behind(svcs[(e.namespace, e.service)], pods) if (e.namespace, e.service) in svcs else Pods.of(e.namespace, {})
        flows.append(Flow(f"internet to {store}", INTERNET, dst, e.port))
    for spec in catalog.services:
        me = Pods.of("apps", {"app.kubernetes.io/name": spec.name})
        for store in set(stores) - set(spec.uses):
            e = ENDPOINTS[store]
            flows.append(to_service(f"{spec.name} to undeclared {store}", me, e.namespace, e.service, e.port, svcs, pods))
    return flows


def vpc_address(vpc_cidr: str) -> Address:
    """An address inside the cluster's network (the VPC on AWS): where load balancer health checks and the control
    plane's calls come from."""
    import ipaddress

    return Address(str(ipaddress.ip_network(vpc_cidr).network_address + 10), "the VPC (load balancer, API server)")
