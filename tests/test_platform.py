"""The platform layer per stack: what exists, HA and placement, persistence, backups, secrets, isolation."""

import json
import re
from fnmatch import fnmatch
from typing import Any

import pytest

from components.aws.handle import DATA_CLASS
from components.k8s.platform.foundations import PSA_LEVELS
from judges.pod_security import violations
from judges.stack import stack_pods
from offline.manifests import manifests
from offline.runner import Run
from settings.endpoints import APP_SECRETS, APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.scheduling import POOL_LABEL, SPOT_TAINT_KEY
from tests.conftest import declared, raw_sections

CHART = "kubernetes:helm.sh/v4:Chart"
QUORUM = {"Elasticsearch": "logs", "RabbitmqCluster": "rabbitmq", "MongoDBCommunity": "mongodb", "StatefulSet": "redis-node"}


def objects(run: Run, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
    return [o for o in manifests(run) if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)]


def one(run: Run, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects(run, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)}"
    return found[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template each kind (built-in or custom resource) carries."""
    spec = obj["spec"]
    return {
        "Elasticsearch": lambda: spec["nodeSets"][0]["podTemplate"]["spec"],
        "RabbitmqCluster": lambda: {**spec["override"]["statefulSet"]["spec"]["template"]["spec"], "affinity": spec["affinity"]},
        "MongoDBCommunity": lambda: spec["statefulSet"]["spec"]["template"]["spec"],
        "Logstash": lambda: spec["podTemplate"]["spec"],
    }.get(obj["kind"], lambda: spec["template"]["spec"])()


def replicas(obj: dict[str, Any]) -> int:
    spec = obj["spec"]
    return spec.get("replicas") or spec.get("members") or spec["nodeSets"][0]["count"]


def charts(run: Run) -> set[str]:
    return {r.inputs["chart"] for r in run.of_type(CHART)}


def test_metrics_backend_per_stack(run: Run) -> None:
    expected = {"test": "kube-prometheus-stack", "staging": "datadog", "prod": "datadog"}[run.stack]
    unexpected = {"kube-prometheus-stack", "datadog"} - {expected}
    assert expected in charts(run) and not unexpected & charts(run)
    datadog_key = [o for o in objects(run, "Secret", "monitoring") if o["metadata"]["name"] == "datadog-api-key"]
    assert bool(datadog_key) == (expected == "datadog")


def test_operators_and_controllers_are_installed_pinned(run: Run) -> None:
    assert {"eck-operator", "mongodb-kubernetes", "aws-load-balancer-controller", "cluster-autoscaler"} <= charts(run)
    for chart in run.of_type(CHART):
        assert chart.inputs["version"][0].isdigit(), chart.name
    assert run.one("kubernetes:yaml/v2:ConfigFile").inputs["file"].endswith("/cluster-operator.yml")


def test_every_autoscaler_has_the_resource_metrics_api_behind_it(run: Run) -> None:
    """An HPA reads metrics.k8s.io; without metrics-server it never acts (issue 13 finding 4)."""
    assert run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    server = [c.inputs for c in run.of_type(CHART) if c.inputs["chart"] == "metrics-server"]
    assert [(c["version"], c["namespace"]) for c in server] == [("3.13.1", "kube-system")]
    pods = [p for p in stack_pods(run)[0] if "metrics-server" in p.origin]
    assert pods and all(violations(p.spec, "restricted") == [] for p in pods)  # admitted wherever it runs
    assert server[0]["values"]["replicas"] >= 2 and server[0]["values"]["podDisruptionBudget"]["enabled"]


def test_prometheus_fits_eks_and_owns_its_credentials_and_resources(run: Run) -> None:
    """kube-prometheus-stack's defaults assume a self-hosted control plane, a published Grafana password and
    namespace-default memory (issue 13 finding 10)."""
    stack = [c for c in run.of_type(CHART) if c.inputs["chart"] == "kube-prometheus-stack"]
    if not stack:
        pytest.skip("this stack reports to Datadog")
    values = stack[0].inputs["values"]
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}, component
    assert not any(values["defaultRules"]["rules"].values())
    admin = values["grafana"]["admin"]
    login = next(o for o in objects(run, "Secret", "monitoring") if o["metadata"]["name"] == admin["existingSecret"])
    assert set(login["stringData"]) == {admin["userKey"], admin["passwordKey"]}
    assert run.one("random:index/randomPassword:RandomPassword", "platform-metrics-grafana-admin")
    memory = values["prometheus"]["prometheusSpec"]["resources"]["limits"]["memory"]
    assert memory.endswith("Gi") and int(memory[:-2]) >= 2


def test_app_rollouts_drain_before_their_pods_stop(run: Run) -> None:
    """A rolled pod is ready only once the NLB sees it (the LBC's readiness gate, injected by namespace label), and a
    terminating one keeps serving while its endpoint drains (issue 13 finding 11)."""
    apps = one(run, "Namespace", APPS_NAMESPACE)["metadata"]["labels"]
    assert apps["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    workloads = [o for o in manifests(run) if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["namespace"] == APPS_NAMESPACE]
    assert workloads
    for o in workloads:
        spec = o["spec"]["template"]["spec"]
        sleep = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert 5 <= sleep < spec["terminationGracePeriodSeconds"] - 10, o["metadata"]["name"]


def test_custom_resources_wait_for_their_operator(run: Run) -> None:
    operators = {r.urn for r in run.records if r.type in (CHART, "kubernetes:yaml/v2:ConfigFile")}
    for record in run.records:
        if record.type.split(":")[1].split("/")[0] in ("elasticsearch.k8s.elastic.co", "rabbitmq.com", "mongodbcommunity.mongodb.com"):
            assert operators & set(record.dependencies), record.name


@pytest.mark.parametrize("kind", QUORUM)
def test_quorum_systems_have_three_zone_spread_members_in_prod_only(run: Run, kind: str) -> None:
    obj = one(run, kind, QUORUM[kind])
    spread = pod_spec(obj).get("topologySpreadConstraints", [])
    zone = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
    if run.stack == "prod":
        assert replicas(obj) == 3
        assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule" and zone[0]["maxSkew"] == 1
    else:
        assert replicas(obj) == 1 and not zone


def test_prod_quorum_systems_allow_one_disruption(run: Run) -> None:
    pdbs = {o["metadata"]["name"]: o["spec"] for o in objects(run, "PodDisruptionBudget")}
    # ECK's own budget is health-aware (a disruption only while green); a spec of ours would replace it.
    assert "podDisruptionBudget" not in one(run, "Elasticsearch", "logs")["spec"]
    for name in ("rabbitmq", "mongodb", "redis-node"):
        if run.stack == "prod":
            assert pdbs[name]["maxUnavailable"] == 1
        else:
            assert name not in pdbs  # a single member: a PDB would block every node drain


def test_stateful_pods_require_the_reserved_pool_and_never_tolerate_spot(run: Run) -> None:
    stateful = [one(run, k, n) for k, n in QUORUM.items()] + [one(run, "Logstash", "logs")]
    for obj in stateful:
        spec = pod_spec(obj)
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["reserved"]}]}], obj["kind"]
        assert not any(t.get("key") == SPOT_TAINT_KEY for t in spec.get("tolerations", [])), obj["kind"]
        assert spec["priorityClassName"] in ("insight-data", "insight-platform")


def test_stateless_platform_pods_tolerate_and_prefer_spot(run: Run) -> None:
    for spec in (pod_spec(one(run, "Deployment", "zipkin")), one(run, "Kibana", "logs")["spec"]["podTemplate"]["spec"]):
        assert {"key": SPOT_TAINT_KEY, "operator": "Equal", "value": "true", "effect": "NoSchedule"} in spec["tolerations"]
        preferred = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert preferred[0]["preference"]["matchExpressions"][0]["values"] == ["spot"]


def test_data_storage_class_is_encrypted_gp3_retained_expandable_and_late_bound(run: Run) -> None:
    sc = one(run, "StorageClass", DATA_CLASS)
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true"
    assert (sc["reclaimPolicy"], sc["allowVolumeExpansion"], sc["volumeBindingMode"]) == ("Retain", True, "WaitForFirstConsumer")


def test_every_persistent_volume_uses_the_data_class_with_the_configured_size(run: Run) -> None:
    es = one(run, "Elasticsearch", "logs")["spec"]["nodeSets"][0]["volumeClaimTemplates"][0]["spec"]
    rabbit = one(run, "RabbitmqCluster", "rabbitmq")["spec"]["persistence"]
    mongo = one(run, "MongoDBCommunity", "mongodb")["spec"]["statefulSet"]["spec"]["volumeClaimTemplates"][0]["spec"]
    redis = one(run, "StatefulSet", "redis-node")["spec"]["volumeClaimTemplates"][0]["spec"]
    sizes = {"test": (30, 10, 20, 5), "staging": (50, 20, 50, 10), "prod": (200, 50, 200, 20)}[run.stack]
    assert [
        es["resources"]["requests"]["storage"],
        rabbit["storage"],
        mongo["resources"]["requests"]["storage"],
        redis["resources"]["requests"]["storage"],
    ] == [f"{s}Gi" for s in sizes]
    assert {es["storageClassName"], rabbit["storageClassName"], mongo["storageClassName"], redis["storageClassName"]} == {DATA_CLASS}


def test_redis_persists_with_aof_unless_cache_only(run: Run) -> None:
    conf = one(run, "ConfigMap", "redis-config")["data"]["redis.conf"]
    cache_only = run.stack == "test"
    assert ("appendonly no" in conf) == cache_only and ("appendonly yes" in conf) == (not cache_only)


def test_rabbitmq_declares_quorum_queues_by_default(run: Run) -> None:
    assert "default_queue_type = quorum" in one(run, "RabbitmqCluster", "rabbitmq")["spec"]["rabbitmq"]["additionalConfig"]


def test_elasticsearch_snapshots_go_to_the_backups_bucket_through_a_scoped_role(run: Run) -> None:
    es_sa = one(run, "ServiceAccount", "elasticsearch")
    assert es_sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("-es-snapshots")
    assert pod_spec(one(run, "Elasticsearch", "logs"))["serviceAccountName"] == "elasticsearch"
    policy = run.one("aws:iam/policy:Policy", "platform-logging-es-snapshots-policy").inputs["policy"]
    assert "s3:*" not in policy and "/elasticsearch/*" in policy
    (job,) = [o for o in objects(run, "Job", "logging") if o["metadata"]["name"].startswith("es-snapshot-setup-")]
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    retention = {"test": 7, "staging": 14, "prod": 30}[run.stack]
    assert "/_snapshot/s3-backups" in script and f'"expire_after": "{retention}d"' in script
    assert '"bucket": "insight-' in script


def setup_requests(run: Run) -> dict[str, dict[str, Any]]:
    """The Elasticsearch setup Job's PUT requests, path -> JSON body, parsed back from its script."""
    (job,) = [o for o in objects(run, "Job", "logging") if o["metadata"]["name"].startswith("es-snapshot-setup-")]
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    found = re.findall(r"-X PUT '(https://[^']+)' -H 'Content-Type: application/json' -d '([^']+)'", script)
    assert len(found) == script.count(" -X PUT "), "every request is a quoted URL with a JSON body"
    return {url.split("/", 3)[3]: json.loads(body) for url, body in found}  # https://host:port/<path?query>


def test_logs_and_spans_are_deleted_after_the_stacks_retention(run: Run) -> None:
    days = f"{raw_sections(run.stack)['platform']['elasticsearch']['retentionDays']}d"
    requests = setup_requests(run)

    def deletes_after(policy: str) -> bool:
        phases = requests[f"_ilm/policy/{policy}"]["policy"]["phases"]
        return phases["delete"] == {"min_age": days, "actions": {"delete": {}}}

    # Logstash's data streams (logs-generic-default) take their settings from the built-in `logs` template, which
    # composes logs@custom last: the policy there applies, and it rolls over (a data stream's write index must).
    pipeline = one(run, "Logstash", "logs")["spec"]["pipelines"][0]["config.string"]
    assert "data_stream => true" in pipeline and "ilm_" not in pipeline
    logs_policy = requests["_component_template/logs@custom"]["template"]["settings"]["index.lifecycle.name"]
    assert deletes_after(logs_policy) and "rollover" in requests[f"_ilm/policy/{logs_policy}"]["policy"]["phases"]["hot"]["actions"]
    assert requests["logs-*-*/_settings?allow_no_indices=true"] == {"index.lifecycle.name": logs_policy}

    # Zipkin's daily indices (no alias, so no rollover) through a legacy template merged over Zipkin's own at order 0;
    # composable templates (ES_TEMPLATE_PRIORITY) or another index prefix would leave it unmatched.
    zipkin_env = {e["name"]: e for e in one(run, "Deployment", "zipkin")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "ES_TEMPLATE_PRIORITY" not in zipkin_env and "ES_INDEX" not in zipkin_env
    template = requests["_template/zipkin-retention"]
    spans_policy = template["settings"]["index.lifecycle.name"]
    assert template["order"] > 0 and any(fnmatch("zipkin-span-2026-11-30", p) for p in template["index_patterns"])
    assert deletes_after(spans_policy) and set(requests[f"_ilm/policy/{spans_policy}"]["policy"]["phases"]) == {"delete"}


def test_prometheus_scrapes_mongodb_with_the_metrics_endpoints_login(run: Run) -> None:
    """MCK serves the metrics behind basic auth (spec.prometheus): an unauthenticated scrape only ever gets 401."""
    assert run.settings is not None
    if run.settings.platform.metrics.backend != "prometheus":
        pytest.skip("Datadog's check sends no login yet (README, Known limits of issue 13)")
    replica_set = one(run, "MongoDBCommunity", "mongodb")
    login = replica_set["spec"]["prometheus"]
    template = replica_set["spec"]["statefulSet"]["spec"]["template"]
    assert "prometheus.io/scrape" not in (template["metadata"].get("annotations") or {}), "the annotation job sends no login"
    (monitor,) = objects(run, "PodMonitor", "data")
    assert monitor["spec"]["selector"]["matchLabels"] == {"app": "mongodb-svc"}  # MCK labels its pods app=<name>-svc
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["portNumber"] == login.get("port", 9216)  # MCK's default metrics port
    auth = endpoint["basicAuth"]
    assert auth["username"]["name"] == auth["password"]["name"]
    scrape = run.one("kubernetes:core/v1:Secret", f"data-{auth['username']['name']}").inputs
    assert scrape["type"] == "kubernetes.io/basic-auth" and {auth["username"]["key"], auth["password"]["key"]} == {"username", "password"}


def test_mongodb_is_dumped_to_s3_on_schedule(run: Run) -> None:
    cron = one(run, "CronJob", "mongodb-backup")
    assert cron["spec"]["schedule"] == {"test": "0 3 * * *", "staging": "0 3 * * *", "prod": "0 18 * * *"}[run.stack]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mongodb-backup"
    assert "mongodump" in pod["initContainers"][0]["command"][2] and "aws s3 cp" in pod["containers"][0]["command"][2]
    bucket = next(e["value"] for e in pod["containers"][0]["env"] if e["name"] == "BUCKET")
    assert bucket.startswith("insight-")


def test_contract_services_exist_with_their_ports(run: Run) -> None:
    services = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects(run, "Service")}
    operator_made = {
        "elasticsearch": ("Elasticsearch", "logs"),
        "rabbitmq": ("RabbitmqCluster", "rabbitmq"),
        "mongodb": ("MongoDBCommunity", "mongodb"),
    }
    for system, endpoint in ENDPOINTS.items():
        if system in operator_made:
            kind, name = operator_made[system]
            assert one(run, kind, name)["metadata"]["namespace"] == endpoint.namespace
        else:
            ports = [p["port"] for p in services[(endpoint.namespace, endpoint.service)]["spec"]["ports"]]
            assert endpoint.port in ports, system  # Logstash also serves the node shippers' input


def test_app_secrets_carry_the_contract_keys_and_only_masked_values(run: Run) -> None:
    secrets = {o["metadata"]["name"]: o for o in objects(run, "Secret", APPS_NAMESPACE)}
    for ref in APP_SECRETS.values():
        assert secrets[ref.name]["stringData"] == dict.fromkeys(ref.keys, "[secret]")


def test_no_secret_value_reaches_any_manifest_or_output(run: Run) -> None:
    text = repr(manifests(run)) + repr(run.outputs)
    assert "offline-password-" not in text and "offline-secret-" not in text


def test_every_namespace_is_labelled_for_pod_security_and_denies_by_default(run: Run) -> None:
    namespaces = {o["metadata"]["name"]: o["metadata"]["labels"] for o in objects(run, "Namespace")}
    assert set(namespaces) == set(PSA_LEVELS) and set(NAMESPACES.values()) <= set(namespaces)
    for ns, labels in namespaces.items():
        assert labels["pod-security.kubernetes.io/enforce"] == PSA_LEVELS[ns]
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        policies = {o["metadata"]["name"]: o["spec"] for o in objects(run, "NetworkPolicy", ns)}
        assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert policies["allow-dns"]["egress"][0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
        assert [o for o in objects(run, "ResourceQuota", ns)] and [o for o in objects(run, "LimitRange", ns)]


def test_apps_may_reach_each_data_service_on_its_port(run: Run) -> None:
    from_apps = {"matchLabels": {"kubernetes.io/metadata.name": APPS_NAMESPACE}}
    admitted = {
        (o["metadata"]["namespace"], p["port"])
        for o in objects(run, "NetworkPolicy")
        for rule in o["spec"].get("ingress", [])
        if {"namespaceSelector": from_apps} in rule["from"]
        for p in rule.get("ports", [])
    }
    assert {(e.namespace, e.port) for e in ENDPOINTS.values()} <= admitted


def test_every_container_is_sized_probed_and_locked_down(run: Run) -> None:
    workloads = [*objects(run, "Deployment"), *objects(run, "StatefulSet")]
    assert len(workloads) >= 3
    for obj in workloads:
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in spec["containers"]:
            assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]
            assert "readinessProbe" in c and "livenessProbe" in c, c["name"]
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]} and sc["readOnlyRootFilesystem"], c[
                "name"
            ]


def test_controllers_run_with_their_own_irsa_roles() -> None:
    run = declared("prod")
    values = {r.inputs["chart"]: r.inputs["values"] for r in run.of_type(CHART)}
    lbc = values["aws-load-balancer-controller"]
    assert lbc["clusterName"] == "insight-prod" and lbc["vpcId"]
    assert lbc["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("-lbc")
    autoscaler = values["cluster-autoscaler"]
    assert autoscaler["extraArgs"]["expander"] == "priority"
    assert autoscaler["expanderPriorities"] == {"50": [".*spot.*"], "30": [".*overflow.*"], "10": [".*reserved.*"]}
    trust = run.one("aws:iam/role:Role", "platform-controllers-autoscaler").inputs["assumeRolePolicy"]
    assert "system:serviceaccount:kube-system:cluster-autoscaler" in trust


def test_zipkin_is_ready_only_with_its_storage_but_never_restarted_for_it(run: Run) -> None:
    (container,) = one(run, "Deployment", "zipkin")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"  # includes the Elasticsearch check
    assert container["livenessProbe"]["httpGet"]["path"] == "/info"
    assert container["startupProbe"]["httpGet"]["path"] == "/info"
