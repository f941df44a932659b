"""Container stdout to the logging tier: Fluent Bit on every node tails the kubelet's logs and sends them to Logstash."""

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.meta.v1 import ObjectMetaArgsDict

from components.outputs import register_declared
from settings import versions
from settings.endpoints import ENDPOINTS, NAMESPACES
from settings.platform import metrics_annotations

from .. import pods
from .context import PlatformContext
from .foundations import allow_ingress
from .logging import CONTAINER_LOGS_PORT, LOGSTASH_POD_LABELS

# hostPath needs the privileged level: `monitoring` is already the one privileged namespace (node agents).
NAMESPACE = NAMESPACES["monitoring"]
NAME = "fluent-bit"
LABELS = pods.labels(NAME)
HTTP_PORT = 2020  # Fluent Bit's built-in HTTP server: health and Prometheus metrics
# Requests of the one pod per node (drills/capacity.py counts them as DaemonSet overhead on every node).
RESOURCES = {"cpu": "50m", "cpu_limit": "500m", "memory": "128Mi"}
# Read offsets: they survive a container restart; a replaced pod starts at the files' ends (a hostPath would keep
# them, but only root could create it).
STATE_DIR = "/var/fluent-bit/state"


def fluent_bit_config() -> str:
    """Tail every container's log (CRI format), add the pod's name, namespace and container, send JSON lines to
    Logstash's container input. No labels and no merged JSON bodies: `app` next to `app.kubernetes.io/name`, or
    two apps' same field with different types, would make Elasticsearch reject the documents."""
    logstash = ENDPOINTS["logstash"]
    return f"""[SERVICE]
    Flush 5
    HTTP_Server On
    HTTP_Listen 0.0.0.0
    HTTP_Port {HTTP_PORT}

[INPUT]
    Name tail
    Path /var/log/containers/*.log
    Exclude_Path /var/log/containers/{NAME}-*_{NAMESPACE}_*.log
    multiline.parser cri
    Tag kube.*
    DB {STATE_DIR}/tail.db
    Mem_Buf_Limit 32MB
    Skip_Long_Lines On

[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log Off
    Labels Off
    Annotations Off

[OUTPUT]
    Name tcp
    Match *
    Host {logstash.service}.{logstash.namespace}.svc
    Port {CONTAINER_LOGS_PORT}
    Format json_lines
    json_date_key @timestamp
    json_date_format iso8601
    Retry_Limit False
"""


class LogShipping(pulumi.ComponentResource):
    def __init__(self, name: str, context: PlatformContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:LogShipping", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        meta: ObjectMetaArgsDict = {"namespace": NAMESPACE, "name": NAME, "labels": LABELS}
        account = k8s.core.v1.ServiceAccount(f"{name}-fluent-bit", metadata=meta, opts=child)
        # The kubernetes filter reads pod and namespace metadata from the API server.
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-fluent-bit",
            metadata={"name": NAME, "labels": LABELS},
            rules=[
                pods.as_input(
                    k8s.rbac.v1.PolicyRuleArgs, {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}
                )
            ],
            opts=child,
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-fluent-bit",
            metadata={"name": NAME, "labels": LABELS},
            role_ref=pods.as_input(k8s.rbac.v1.RoleRefArgs, {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME}),
            subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
            opts=child,
        )
        config = k8s.core.v1.ConfigMap(f"{name}-fluent-bit", metadata=meta, data={"fluent-bit.conf": fluent_bit_config()}, opts=child)
        k8s.apps.v1.DaemonSet(
            f"{name}-fluent-bit",
            metadata=meta,
            spec=pods.as_input(
                k8s.apps.v1.DaemonSetSpecArgs,
                {
                    "selector": {"matchLabels": LABELS},
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "20%"}},
                    "template": {
                        "metadata": {
                            "labels": LABELS,
                            "annotations": metrics_annotations(context.metrics_backend, NAME, HTTP_PORT, "/api/v1/metrics/prometheus"),
                        },
                        "spec": {
                            "serviceAccountName": NAME,
                            # The token only where it is read (the kubernetes filter's default path), not everywhere.
                            "automountServiceAccountToken": False,
                            "priorityClassName": pods.PLATFORM_PRIORITY_CLASS,
                            "tolerations": pods.every_node_tolerations(),
                            # The runtime writes logs 0640 root:root: the root group reads them, no root user needed.
                            "securityContext": pods.pod_security(supplemental_groups=[0]),
                            "containers": [
                                {
                                    "name": NAME,
                                    "image": versions.FLUENT_BIT_IMAGE,
                                    "args": ["--config=/fluent-bit/etc/conf/fluent-bit.conf"],
                                    "ports": [{"name": "http", "containerPort": HTTP_PORT}],
                                    "resources": pods.small_resources(RESOURCES["cpu"], RESOURCES["cpu_limit"], RESOURCES["memory"]),
                                    "securityContext": pods.container_security(),
                                    "readinessProbe": pods.http_probe(HTTP_PORT, "/"),
                                    "livenessProbe": pods.http_probe(HTTP_PORT, "/", period=20),
                                    "volumeMounts": [
                                        {"name": "config", "mountPath": "/fluent-bit/etc/conf", "readOnly": True},
                                        # /var/log/containers links into /var/log/pods: both must be visible.
                                        {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                                        {"name": "state", "mountPath": STATE_DIR},
                                        {
                                            "name": "api-token",
                                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                            "readOnly": True,
                                        },
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "config", "configMap": {"name": NAME}},
                                {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
                                {"name": "state", "emptyDir": {"sizeLimit": "64Mi"}},
                                {
                                    "name": "api-token",
                                    "projected": {
                                        "sources": [
                                            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                                        ]
                                    },
                                },
                            ],
                        },
                    },
                },
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role, binding, config, *context.ready]),
        )
        # Logstash admits the shippers on the container-logs input only (monitoring's own egress is open).
        shippers = pods.namespace_peer(NAMESPACE, LABELS)
        allow_ingress("allow-log-shipper", NAMESPACES["logging"], LOGSTASH_POD_LABELS, [CONTAINER_LOGS_PORT], [shippers], self)
        register_declared(self)  # nothing to declare: it only sends
