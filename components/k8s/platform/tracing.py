"""Zipkin: spans from the services, stored in the logging tier's Elasticsearch under a user of its own."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.outputs import register_declared
from settings import versions
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import WorkloadConfig, metrics_annotations

from .. import pods
from .context import PlatformContext
from .foundations import allow_egress, allow_ingress, from_namespaces
from .logging import ZIPKIN_USER
from .secrets import secret

NAMESPACE = NAMESPACES["tracing"]
PORT = ENDPOINTS["zipkin"].port
LABELS = pods.labels("zipkin")
CREDENTIALS = "zipkin-elasticsearch"


@dataclass(frozen=True)
class TracingArgs:
    config: WorkloadConfig
    elasticsearch_password: pulumi.Input[str]


class Tracing(pulumi.ComponentResource):
    def __init__(self, name: str, context: PlatformContext, args: TracingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Tracing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        credentials = secret(CREDENTIALS, NAMESPACE, {"username": ZIPKIN_USER, "password": args.elasticsearch_password}, child)
        cfg = args.config
        es = ENDPOINTS["elasticsearch"]
        k8s.apps.v1.Deployment(
            f"{name}-zipkin",
            # Its readiness needs Elasticsearch formed (~5 min after the resource): awaiting it would hold the whole
            # first deploy past its target for a service nothing in the deploy needs. Kubernetes keeps rolling it out.
            metadata={"namespace": NAMESPACE, "name": "zipkin", "labels": LABELS, "annotations": {"pulumi.com/skipAwait": "true"}},
            spec=pods.as_input(
                k8s.apps.v1.DeploymentSpecArgs,
                {
                    "replicas": cfg.replicas,
                    "selector": {"matchLabels": LABELS},
                    "template": {
                        "metadata": {
                            "labels": LABELS,
                            "annotations": metrics_annotations(context.metrics_backend, "zipkin", PORT, "/prometheus"),
                        },
                        "spec": {
                            **pods.interruptible_placement(context.cluster.placement),
                            "priorityClassName": pods.PLATFORM_PRIORITY_CLASS,
                            "topologySpreadConstraints": pods.zone_spread(LABELS, cfg.replicas, context.cluster.placement),
                            "securityContext": pods.pod_security(),
                            "automountServiceAccountToken": False,
                            "containers": [
                                {
                                    "name": "zipkin",
                                    "image": versions.ZIPKIN_IMAGE,
                                    "ports": [{"name": "http", "containerPort": PORT}],
                                    "env": [
                                        {"name": "STORAGE_TYPE", "value": "elasticsearch"},
                                        {"name": "ES_HOSTS", "value": es.url},
                                        pods.secret_env("ES_USERNAME", CREDENTIALS, "username"),
                                        pods.secret_env("ES_PASSWORD", CREDENTIALS, "password"),
                                        # ECK's self-signed CA is PEM; the JVM client takes no PEM trust store. The
                                        # hop stays inside the cluster, behind both namespaces' network policies.
                                        {"name": "ES_SSL_NO_VERIFY", "value": "true"},
                                    ],
                                    "resources": pods.resources(cfg.resources),
                                    "securityContext": pods.container_security(),
                                    # /health includes the storage check: ready only while Elasticsearch answers, but an
                                    # Elasticsearch outage must not restart Zipkin, so startup and liveness ask /info.
                                    "readinessProbe": pods.http_probe(PORT, "/health"),
                                    "startupProbe": pods.slow_start(pods.http_probe(PORT, "/info"), minutes=3),
                                    "livenessProbe": pods.http_probe(PORT, "/info", period=20),
                                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                                }
                            ],
                            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                        },
                    },
                },
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[credentials, *context.ready]),
        )
        k8s.core.v1.Service(
            f"{name}-zipkin",
            metadata={"namespace": NAMESPACE, "name": ENDPOINTS["zipkin"].service, "labels": LABELS},
            spec=pods.as_input(
                k8s.core.v1.ServiceSpecArgs, {"selector": LABELS, "ports": [{"name": "http", "port": PORT, "targetPort": PORT}]}
            ),
            opts=child,
        )
        if cfg.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-zipkin",
                metadata={"namespace": NAMESPACE, "name": "zipkin"},
                spec=pods.as_input(k8s.policy.v1.PodDisruptionBudgetSpecArgs, pods.pdb_spec(LABELS)),
                opts=child,
            )
        allow_ingress("allow-zipkin-clients", NAMESPACE, LABELS, [PORT], from_namespaces(APPS_NAMESPACE, NAMESPACES["monitoring"]), self)
        allow_egress(
            "allow-zipkin-elasticsearch",
            NAMESPACE,
            LABELS,
            [{"to": from_namespaces(es.namespace), "ports": pods.tcp_ports(es.port)}],
            self,
        )
        register_declared(self)  # nothing to declare: other components reach it by its contract names
