"""AppService under the mock runtime, per stack: every object it creates and what the catalog decides in it."""

import hashlib
import json
from functools import cache
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from catalog import Catalog, load_catalog
from components.aws.handle import EKS_POOLS, IrsaIdentity, NlbEdge, ebs_storage
from components.k8s.apps import Apps, AppsArgs, load_service_catalog
from components.k8s.apps.workload import CONFIG_HASH_ANNOTATION
from offline.recorder import Record
from offline.runner import Run, run_stack
from settings import AWS_STACKS, StackConfig, load_stack_config
from settings.scheduling import POOL_LABEL, SPOT_TAINT_KEY

DOMAIN = {"test": "test.insight.example", "staging": "staging.insight.example", "prod": "insight.example"}
OIDC_URL = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"


def repository(stack: str, service: str) -> str:
    return f"111111111111.dkr.ecr.us-west-2.amazonaws.com/insight-{stack}/{service}"


def _program() -> None:
    """The apps layer alone, with stand-ins for what the cluster, registry and edge provide."""
    cfg = load_stack_config()
    assert isinstance(cfg, StackConfig), "the apps layer with AWS stand-ins: AWS stacks only"
    catalog = load_service_catalog(cfg.environment, account=cfg.account_id)
    aws_provider = aws.Provider("aws", region=cfg.region)  # type: ignore[arg-type]
    k8s_provider = k8s.Provider("k8s", kubeconfig="{}")
    Apps(
        "apps",
        AppsArgs(
            catalog=catalog,
            version=cfg.release.version,
            repository_urls={s.name: repository(cfg.environment, s.name) for s in catalog.services},
            metrics_backend="prometheus",
            identity=IrsaIdentity(f"arn:aws:iam::111111111111:oidc-provider/{OIDC_URL}", OIDC_URL),
            storage=ebs_storage("arn:aws:kms:us-west-2:111111111111:key/example"),
            placement=EKS_POOLS,
            edge=NlbEdge(
                zone_id="Z0EXAMPLE",
                domain=DOMAIN[cfg.environment],
                certificate_arn="arn:aws:acm:us-west-2:111111111111:certificate/example",
                logs_bucket=f"insight-{cfg.environment}-logs",
                deletion_protection=cfg.policy.lb_deletion_protection,
            ),
        ),
        pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": k8s_provider}),
    )


@cache
def apps_run(stack: str) -> Run:
    return run_stack(stack, program=_program)


@cache
def catalog_of(stack: str) -> Catalog:
    return load_catalog(stack)


@pytest.fixture(params=AWS_STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return request.param


def k8s_object(run: Run, kind: str, name: str) -> Record:
    found = [r for r in run.of_type(kind) if r.inputs.get("metadata", {}).get("name") == name]
    assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
    return found[0]


def workload(run: Run, stack: str, name: str) -> Record:
    kind = catalog_of(stack).get(name).deploy.kind
    return k8s_object(run, f"kubernetes:apps/v1:{kind}", name)


def pod_spec(run: Run, stack: str, name: str) -> dict[str, Any]:
    return workload(run, stack, name).inputs["spec"]["template"]["spec"]


def test_every_service_gets_its_whole_set_of_objects(stack: str) -> None:
    run = apps_run(stack)
    for spec in catalog_of(stack).services:
        for kind in ("ServiceAccount", "Service"):
            assert k8s_object(run, f"kubernetes:core/v1:{kind}", spec.name).inputs["metadata"]["namespace"] == "apps"
        k8s_object(run, "kubernetes:core/v1:ConfigMap", f"{spec.name}-config")
        k8s_object(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", spec.name)
        k8s_object(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", spec.name)
        workload(run, stack, spec.name)
        assert run.one("aws:iam/role:Role", f"{spec.name}-irsa")
        component = run.one("insight:app_service:AppService", spec.name)
        assert component.parent == run.one("insight:apps:Apps").urn


def test_configmap_holds_the_rendered_file_and_the_pods_carry_its_hash(stack: str) -> None:
    run = apps_run(stack)
    for spec in catalog_of(stack).services:
        data = k8s_object(run, "kubernetes:core/v1:ConfigMap", f"{spec.name}-config").inputs["data"]["application.conf"]
        assert data == spec.application_conf
        annotations = workload(run, stack, spec.name).inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations[CONFIG_HASH_ANNOTATION] == hashlib.sha256(data.encode()).hexdigest()
        assert annotations["prometheus.io/port"] == "9990"


def test_per_cluster_shape_comes_from_the_hocon_overrides(stack: str) -> None:
    run = apps_run(stack)
    replicas = {"test": 1, "staging": 2, "prod": 3}[stack]
    for spec in catalog_of(stack).services:
        assert workload(run, stack, spec.name).inputs["spec"]["replicas"] == replicas
    volume = workload(run, stack, "indexer").inputs["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
    assert volume == {"storage": {"test": "20Gi", "staging": "100Gi", "prod": "500Gi"}[stack]}
    hpa = k8s_object(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "api-gateway").inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == {"test": (1, 3), "staging": (2, 4), "prod": (3, 20)}[stack]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"}


def test_multi_replica_services_get_a_disruption_budget_single_ones_none(stack: str) -> None:
    run = apps_run(stack)
    budgets = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in run.of_type("kubernetes:policy/v1:PodDisruptionBudget")}
    expected = {s.name for s in catalog_of(stack).services if s.deploy.autoscaling.min_replicas >= 2}
    assert set(budgets) == expected
    assert expected == (set() if stack == "test" else {s.name for s in catalog_of(stack).services})
    assert all(b["maxUnavailable"] == 1 for b in budgets.values())


def test_images_are_the_services_repository_tagged_with_the_stack_release(stack: str) -> None:
    run = apps_run(stack)
    version = {"test": "-SNAPSHOT", "staging": "-rc.", "prod": ""}[stack]
    for spec in catalog_of(stack).services:
        image = pod_spec(run, stack, spec.name)["containers"][0]["image"]
        repo, _, tag = image.rpartition(":")
        assert repo == repository(stack, spec.name)
        assert version in tag and (stack != "prod" or "-" not in tag)


def test_rollouts_keep_capacity(stack: str) -> None:
    run = apps_run(stack)
    for spec in catalog_of(stack).services:
        inputs = workload(run, stack, spec.name).inputs["spec"]
        if spec.deploy.kind == "Deployment":
            assert inputs["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        else:
            assert inputs["updateStrategy"]["type"] == "RollingUpdate"
            assert inputs["podManagementPolicy"] == "Parallel"
            assert inputs["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
            assert inputs["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "insight-data"
            assert inputs["template"]["spec"]["priorityClassName"] == "insight-data"
    assert "spec.replicas" in workload(run, stack, "search").ignore_changes  # the HPA owns the count


def test_repo_sync_mirrors_onto_a_scratch_volume_not_tmp(stack: str) -> None:
    """/tmp is a 1 GiB emptyDir on the node's disk; the mirrors need an EBS volume of their own (issue 13 finding 11)."""
    spec = pod_spec(apps_run(stack), stack, "repo-sync")
    work_dir = next(
        line.split("=")[1].strip().strip('"')
        for line in catalog_of(stack).get("repo-sync").application_conf.splitlines()
        if "workDir" in line
    )
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if work_dir.startswith(m["mountPath"]) and m["mountPath"] != "/")
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    claim = volume["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "insight-scratch" and int(claim["resources"]["requests"]["storage"][:-2]) >= 20


def test_pods_are_locked_down_probed_and_sized(stack: str) -> None:
    run = apps_run(stack)
    for spec in catalog_of(stack).services:
        pod = pod_spec(run, stack, spec.name)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "admin"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "admin"}
        requests = spec.deploy.resources.requests
        assert container["resources"]["requests"] == {"cpu": requests.cpu, "memory": requests.memory}
        zones = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zones[0]["whenUnsatisfiable"] == "DoNotSchedule"
        assert zones[0]["labelSelector"] == {"matchLabels": {"app.kubernetes.io/name": spec.name}}
    prod_cpu = pod_spec(run, stack, "api-gateway")["containers"][0]["resources"]["requests"]["cpu"]
    assert prod_cpu == ("500m" if stack == "prod" else "250m")


def test_stateless_services_prefer_spot_stateful_ones_need_the_reserved_pool(stack: str) -> None:
    run = apps_run(stack)
    indexer = pod_spec(run, stack, "indexer")
    assert not indexer.get("tolerations")
    terms = indexer["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["reserved"]}]}]
    search = pod_spec(run, stack, "search")
    assert search["tolerations"] == [{"key": SPOT_TAINT_KEY, "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    preferred = search["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["preference"]["matchExpressions"] == [{"key": POOL_LABEL, "operator": "In", "values": ["spot"]}]


def test_credentials_reach_pods_only_from_secrets(stack: str) -> None:
    run = apps_run(stack)
    env = {e["name"]: e for e in pod_spec(run, stack, "code-analysis")["containers"][0]["env"]}
    assert env["RABBITMQ_PASSWORD"] == {
        "name": "RABBITMQ_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "rabbitmq-credentials", "key": "password"}},
    }
    assert env["SENTRY_DSN"]["valueFrom"] == {"secretKeyRef": {"name": "sentry", "key": "dsn"}}
    assert "REDIS_PASSWORD" not in env  # only what its application.conf substitutes
    for config_map in run.of_type("kubernetes:core/v1:ConfigMap"):
        text = json.dumps(config_map.inputs)
        assert "offline-secret" not in text and "[secret]" not in text
        assert "${SENTRY_DSN}" in text  # the pod's JVM resolves it; Pulumi never does


def test_public_services_get_an_nlb_and_a_record_internal_ones_stay_in_cluster(stack: str) -> None:
    run = apps_run(stack)
    gateway = k8s_object(run, "kubernetes:core/v1:Service", "api-gateway-public").inputs
    assert gateway["spec"]["type"] == "LoadBalancer"
    assert gateway["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert gateway["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP"}]
    annotations = gateway["metadata"]["annotations"]
    prefix = "service.beta.kubernetes.io/aws-load-balancer"
    assert annotations[f"{prefix}-scheme"] == "internet-facing"
    assert annotations[f"{prefix}-nlb-target-type"] == "ip"
    assert annotations[f"{prefix}-ssl-cert"].startswith("arn:aws:acm:")
    assert annotations[f"{prefix}-ssl-ports"] == "443"
    attributes = annotations[f"{prefix}-attributes"].split(",")
    assert "load_balancing.cross_zone.enabled=true" in attributes
    assert f"access_logs.s3.bucket=insight-{stack}-logs" in attributes
    assert ("deletion_protection.enabled=true" in attributes) is (stack == "prod")
    records = {r.inputs["name"]: r.inputs for r in run.of_type("aws:route53/record:Record")}
    assert set(records) == {f"api.{DOMAIN[stack]}", f"www.{DOMAIN[stack]}"}
    assert records[f"api.{DOMAIN[stack]}"]["type"] == "CNAME"
    assert ".elb." in records[f"api.{DOMAIN[stack]}"]["records"][0]  # the NLB's name from the Service status
    for name in ("search", "api-gateway"):  # in-cluster callers of a public service keep its catalog address
        in_cluster = k8s_object(run, "kubernetes:core/v1:Service", name).inputs["spec"]
        assert in_cluster["type"] == "ClusterIP" and [p["port"] for p in in_cluster["ports"]] == [80]


def test_network_policy_admits_only_declared_clients(stack: str) -> None:
    run = apps_run(stack)

    def policy(name: str) -> dict[str, Any]:
        return k8s_object(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs["spec"]

    def client_names(spec: dict[str, Any]) -> set[str]:
        return {
            p["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for r in spec["ingress"]
            for p in r["from"]
            if "podSelector" in p and "namespaceSelector" not in p
        }

    assert client_names(policy("search")) == {"api-gateway"}
    assert client_names(policy("indexer")) == {"search"}
    assert client_names(policy("code-analysis")) == {"api-gateway"}
    assert not any("ipBlock" in p for r in policy("search")["ingress"] for p in r["from"])
    assert any(p.get("ipBlock") == {"cidr": "0.0.0.0/0"} for r in policy("web")["ingress"] for p in r["from"])
    egress_ports = {port["port"] for r in policy("indexer")["egress"] for port in r["ports"]}
    assert {53, 27017, 5000, 9411, 443} <= egress_ports and 5672 not in egress_ports  # mongodb, not rabbitmq
    assert policy("indexer")["policyTypes"] == ["Ingress", "Egress"]


def test_irsa_roles_carry_exactly_the_declared_access(stack: str) -> None:
    run = apps_run(stack)
    policies = {r.name: json.loads(r.inputs["policy"]) for r in run.of_type("aws:iam/policy:Policy")}
    assert policies == {}  # no shipped service declares AWS access: its role carries none
    trust = json.loads(run.one("aws:iam/role:Role", "search-irsa").inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition[f"{OIDC_URL}:sub"] == "system:serviceaccount:apps:search"
    account = k8s_object(run, "kubernetes:core/v1:ServiceAccount", "search").inputs
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("search-irsa")
