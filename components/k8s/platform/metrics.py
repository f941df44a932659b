"""Metrics per stack: kube-prometheus-stack in the cluster, or the Datadog agent reporting to the SaaS."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from settings import versions
from settings.endpoints import NAMESPACES
from settings.platform import MetricsConfig

from . import pods
from .foundations import ANYWHERE, DATA_STORAGE_CLASS, allow_egress, allow_ingress
from .secrets import secret

NAMESPACE = NAMESPACES["monitoring"]
DATADOG_SECRET = "datadog-api-key"
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
        "prometheus": {
            "prometheusSpec": {
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
    def __init__(self, name: str, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Metrics", name, None, opts)
        cfg = args.config
        depends_on = list(args.depends_on)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.depends_on)
        if cfg.backend == "prometheus":
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
        self.register_outputs({"backend": cfg.backend})
