"""Metrics per stack: kube-prometheus-stack in the cluster, or the Datadog agent reporting to the SaaS."""

from dataclasses import dataclass

import pulumi

from components.outputs import register_declared
from settings import versions
from settings.endpoints import NAMESPACES
from settings.platform import MetricsBackend, MetricsConfig, ResourcesConfig

from .. import pods
from .charts import pinned_chart
from .context import PlatformContext
from .foundations import ANYWHERE, allow_egress, allow_ingress
from .secrets import generated_password, secret

NAMESPACE = NAMESPACES["monitoring"]
DATADOG_SECRET = "datadog-api-key"
GRAFANA_ADMIN_SECRET = "grafana-admin"
# The node agents' and cluster agent's shared key, stored in the state: with no token the chart (3.130.1,
# templates/secret-cluster-agent-token.yaml) renders `randAlphaNum 32` at every render, so every preview shows a
# change and every `up` restarts the agents through their `checksum/clusteragent_token` annotation.
CLUSTER_AGENT_TOKEN_SECRET = "datadog-cluster-agent-token"
# templates/kpi-telemetry-configmap.yaml renders `uuidv4` and `now` into this ConfigMap at every render; values
# cannot turn it off, so its data is kept as first created (no pod template reads it through a checksum).
KPI_TELEMETRY_CONFIGMAP = "kpi-telemetry-configmap"
# Stated, not namespace defaults (512Mi would be OOM-killed once the cluster's series are loaded).
PROMETHEUS_RESOURCES = ResourcesConfig(cpu="500m", cpu_limit="2", memory="3Gi")
# EKS runs the control plane outside the cluster: no scheduler, controller-manager or etcd to scrape, and
# kube-proxy binds its metrics to 127.0.0.1. Scraping them would only raise permanent Down alerts.
EKS_HIDDEN_COMPONENTS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
EKS_HIDDEN_RULES = ("etcd", "kubeControllerManager", "kubeProxy", "kubeSchedulerAlerting", "kubeSchedulerRecording")
# Webhook pods and ports per backend: datadog values clusterAgent.admissionController.port. kube-prometheus-stack
# registers none (HOOK_SWITCHES).
WEBHOOKS: dict[str, tuple[dict[str, str], list[int]]] = {"datadog": ({"app": "datadog-cluster-agent"}, [8000])}
# helm.v4.Chart renders with hooks disabled and drops hook templates (pulumi-kubernetes
# provider/pkg/provider/helm/v4/chart.go): whatever a hook creates never exists. Per chart, the values (dotted
# paths, set explicitly) that turn off every hook template listed in schemas/chart-hooks.json and what depends on
# them. kube-prometheus-stack 77.6.2: the admission-webhook certificate Secret `<release>-admission` exists only
# through the pre-install Job job-patch/job-createSecret.yaml, and the operator mounts it whenever
# `prometheusOperator.tls.enabled` (templates/prometheus-operator/deployment.yaml): without the webhooks the
# operator serves plain HTTP on 8080 and PrometheusRules are not validated at admission (the operator still
# rejects invalid ones when it reconciles). The CRD upgrade Job is a hook too.
HOOK_SWITCHES: dict[str, dict[str, bool]] = {
    versions.KUBE_PROMETHEUS_STACK.name: {
        "prometheusOperator.admissionWebhooks.enabled": False,
        "prometheusOperator.tls.enabled": False,
        "crds.upgradeJob.enabled": False,
    },
    versions.DATADOG.name: {"providers.gke.autopilot": False},
}


def switched_off(chart: str) -> dict:
    """HOOK_SWITCHES of `chart` as a values tree."""
    tree: dict = {}
    for path, value in HOOK_SWITCHES[chart].items():
        *parents, leaf = path.split(".")
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return tree


# Prometheus keeps the `prometheus.io/*` pod annotation convention (settings.platform.metrics_annotations).
ANNOTATED_PODS_JOB = {
    "job_name": "annotated-pods",
    "kubernetes_sd_configs": [{"role": "pod"}],
    "relabel_configs": [
        {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep", "regex": "true"},
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "action": "replace",
            "target_label": "__metrics_path__",
            "regex": "(.+)",
        },
        {
            "source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
            "action": "replace",
            "regex": "([^:]+)(?::\\d+)?;(\\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ],
}


def prometheus_values(cfg: MetricsConfig, storage_class: str, stable_nodes: dict[str, str]) -> dict:
    return {
        **{component: {"enabled": False} for component in EKS_HIDDEN_COMPONENTS},
        "defaultRules": {"rules": dict.fromkeys(EKS_HIDDEN_RULES, False)},
        # The grafana subchart (9.4.5) reads the admin login from this Secret instead of the published default.
        "grafana": {"admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"}},
        "prometheus": {
            "prometheusSpec": {
                "resources": pods.resources(PROMETHEUS_RESOURCES),
                "retention": f"{cfg.retention_days}d",
                "priorityClassName": pods.PLATFORM_PRIORITY_CLASS,
                "nodeSelector": stable_nodes,
                "additionalScrapeConfigs": [ANNOTATED_PODS_JOB],
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": storage_class,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{cfg.storage_gib}Gi"}},
                        }
                    }
                },
            }
        },
        # Alertmanager keeps the chart's `null` receiver, by choice: only `test` runs Prometheus (staging and prod
        # report to Datadog, where monitors page), and nobody is paged for `test`; its alerts show in the UIs.
        "alertmanager": {"alertmanagerSpec": {"nodeSelector": stable_nodes}},
        # Node exporter runs on every node, spot ones included.
        "prometheus-node-exporter": {"tolerations": pods.every_node_tolerations()},
        **switched_off(versions.KUBE_PROMETHEUS_STACK.name),
    }


def datadog_values(cfg: MetricsConfig, cluster_name: str) -> dict:
    return {
        "datadog": {
            "apiKeyExistingSecret": DATADOG_SECRET,
            "site": cfg.site,
            "clusterName": cluster_name,
            "kubelet": {"tlsVerify": False},  # EKS kubelets serve self-signed certificates
            # Logs go to the ELK stack; Datadog gets metrics and autodiscovered checks.
            "logs": {"enabled": False},
        },
        "clusterAgent": {"enabled": True, "replicas": 2, "tokenExistingSecret": CLUSTER_AGENT_TOKEN_SECRET},
        # The agent runs on every node, spot ones included.
        "agents": {"tolerations": pods.every_node_tolerations()},
        **switched_off(versions.DATADOG.name),
    }


def keep_first_telemetry(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """The chart's KPI telemetry ConfigMap keeps the data of its first create (see KPI_TELEMETRY_CONFIGMAP)."""
    if args.type_ != "kubernetes:core/v1:ConfigMap" or not args.name.endswith(KPI_TELEMETRY_CONFIGMAP):
        return None
    return pulumi.ResourceTransformResult(
        args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(ignore_changes=["data"]))
    )


@dataclass(frozen=True)
class MetricsArgs:
    config: MetricsConfig


class Metrics(pulumi.ComponentResource):
    backend: MetricsBackend

    def __init__(self, name: str, context: PlatformContext, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Metrics", name, None, opts)
        cfg = args.config
        depends_on = list(context.ready)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        transforms: list[pulumi.ResourceTransform] = []
        if cfg.backend == "prometheus":
            login = {"admin-user": "admin", "admin-password": generated_password(f"{name}-grafana-admin", self)}
            depends_on.append(secret(GRAFANA_ADMIN_SECRET, NAMESPACE, login, child))
            chart, values = (
                versions.KUBE_PROMETHEUS_STACK,
                prometheus_values(cfg, context.cluster.storage.data, pods.stable_selector(context.cluster.placement)),
            )
        else:
            api_key = pulumi.Config("insight").require_secret("datadogApiKey")
            depends_on.append(secret(DATADOG_SECRET, NAMESPACE, {"api-key": api_key}, child))
            token = generated_password(f"{name}-cluster-agent-token", self)
            depends_on.append(secret(CLUSTER_AGENT_TOKEN_SECRET, NAMESPACE, {"token": token}, child))
            chart, values = versions.DATADOG, datadog_values(cfg, context.cluster.name)
            transforms.append(keep_first_telemetry)
        self.chart = pinned_chart(
            f"{name}-{chart.name}",
            chart,
            namespace=NAMESPACE,
            values=values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, transforms=transforms),
        )
        # Scrapers and agents reach every pod, the kubelets and the vendor's intake.
        allow_egress("allow-collectors-out", NAMESPACE, {}, [{}], self)
        allow_ingress("allow-collectors-in", NAMESPACE, {}, [], [{"podSelector": {}}], self)
        # The API server calls the admission webhook the chart registers (Datadog's admission controller).
        if cfg.backend in WEBHOOKS:
            allow_ingress("allow-webhook", NAMESPACE, *WEBHOOKS[cfg.backend], [ANYWHERE], self)
        self.backend = cfg.backend
        register_declared(self)
