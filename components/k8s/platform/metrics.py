"""Metrics per stack: kube-prometheus-stack in the cluster, or the Datadog agent reporting to the SaaS."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.outputs import register_declared
from settings import versions
from settings.endpoints import NAMESPACES
from settings.platform import MetricsBackend, MetricsConfig, ResourcesConfig

from . import pods
from .foundations import ANYWHERE, DATA_STORAGE_CLASS, allow_egress, allow_ingress
from .secrets import generated_password, secret

NAMESPACE = NAMESPACES["monitoring"]
DATADOG_SECRET = "datadog-api-key"
GRAFANA_ADMIN_SECRET = "grafana-admin"
# Stated, not namespace defaults (512Mi would be OOM-killed once the cluster's series are loaded).
PROMETHEUS_RESOURCES = ResourcesConfig(cpu="500m", cpu_limit="2", memory="3Gi")
# EKS runs the control plane outside the cluster: no scheduler, controller-manager or etcd to scrape, and
# kube-proxy binds its metrics to 127.0.0.1. Scraping them would only raise permanent Down alerts.
EKS_HIDDEN_COMPONENTS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
EKS_HIDDEN_RULES = ("etcd", "kubeControllerManager", "kubeProxy", "kubeSchedulerAlerting", "kubeSchedulerRecording")
# Webhook pods and ports per backend: datadog values clusterAgent.admissionController.port; kube-prometheus-stack
# values prometheusOperator.tls.internalPort (the operator serves its webhook there).
WEBHOOKS: dict[str, tuple[dict[str, str], list[int]]] = {
    "datadog": ({"app": "datadog-cluster-agent"}, [8000]),
    "prometheus": ({"app": "kube-prometheus-stack-operator"}, [10250]),
}

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


def prometheus_values(cfg: MetricsConfig) -> dict:
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
                "nodeSelector": {"insight.io/pool": "reserved"},
                "additionalScrapeConfigs": [ANNOTATED_PODS_JOB],
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": DATA_STORAGE_CLASS,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{cfg.storage_gib}Gi"}},
                        }
                    }
                },
            }
        },
        # Alertmanager keeps the chart's `null` receiver, by choice: only `test` runs Prometheus (staging and prod
        # report to Datadog, where monitors page), and nobody is paged for `test`; its alerts show in the UIs.
        "alertmanager": {"alertmanagerSpec": {"nodeSelector": {"insight.io/pool": "reserved"}}},
        # Node exporter runs on every node, spot ones included.
        "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}]},
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
        "clusterAgent": {"enabled": True, "replicas": 2},
        # The agent runs on every node, spot ones included.
        "agents": {"tolerations": [{"operator": "Exists"}]},
    }


@dataclass(frozen=True)
class MetricsArgs:
    config: MetricsConfig
    cluster_name: str
    depends_on: list[pulumi.Resource]


class Metrics(pulumi.ComponentResource):
    backend: MetricsBackend

    def __init__(self, name: str, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Metrics", name, None, opts)
        cfg = args.config
        depends_on = list(args.depends_on)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.depends_on)
        if cfg.backend == "prometheus":
            login = {"admin-user": "admin", "admin-password": generated_password(f"{name}-grafana-admin", self)}
            depends_on.append(secret(GRAFANA_ADMIN_SECRET, NAMESPACE, login, child))
            chart, values = versions.KUBE_PROMETHEUS_STACK, prometheus_values(cfg)
        else:
            api_key = pulumi.Config("insight").require_secret("datadogApiKey")
            depends_on.append(secret(DATADOG_SECRET, NAMESPACE, {"api-key": api_key}, child))
            chart, values = versions.DATADOG, datadog_values(cfg, args.cluster_name)
        self.chart = k8s.helm.v4.Chart(
            f"{name}-{chart.name}",
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=NAMESPACE,
            values=values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        # Scrapers and agents reach every pod, the kubelets and the vendor's intake.
        allow_egress("allow-collectors-out", NAMESPACE, {}, [{}], self)
        allow_ingress("allow-collectors-in", NAMESPACE, {}, [], [{"podSelector": {}}], self)
        # The API server calls the admission webhook the chart registers (Datadog's admission controller,
        # prometheus-operator's validating webhook).
        allow_ingress("allow-webhook", NAMESPACE, *WEBHOOKS[cfg.backend], [ANYWHERE], self)
        self.backend = cfg.backend
        register_declared(self)
