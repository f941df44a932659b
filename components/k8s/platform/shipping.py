"""Container stdout to the logging tier: Fluent Bit on every node tails the kubelet's logs and sends them to Logstash.

The services' lines take this path only (their logback writes JSON to stdout, no TCP appender: README, finding 12):
stdout reaches the node's disk as it is written, so what the JVM prints outside logback and what it logged just before
dying are shipped too, where an appender's in-memory buffer dies with the process."""

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.meta.v1 import ObjectMetaArgsDict

from components.outputs import register_declared
from settings import versions
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import metrics_annotations

from .. import pods
from .context import PlatformContext
from .foundations import allow_ingress
from .logging import CONTAINER_LOGS_PORT, LOGSTASH_POD_LABELS, LOGSTASH_PORT
from .secrets import CONFIG_HASH_ANNOTATION, config_digest

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
# What each buffer may hold while Logstash is away (then its input pauses and the lines wait in their files): 64 MB
# of the 128Mi limit in all. The apps' tail keeps only their lines that are not logback JSON; the rest wait in the
# emitter that re-tags them (`logback_lines_only`).
BUFFERS = {"kube": "32MB", "apps": "8MB", "logback": "24MB"}


# The kubelet names each container's log <pod>_<namespace>_<container>-<id>.log; names hold no `_`.
LOG_DIR = "/var/log/containers"
# The catalog services (their logback writes JSON lines to stdout, README finding 12) and every other container.
APP_LOGS = f"{LOG_DIR}/*_{APPS_NAMESPACE}_*.log"
OWN_LOGS = f"{LOG_DIR}/{NAME}-*_{NAMESPACE}_*.log"  # its own lines would loop back through it


def tail(tag: str, path: str, exclude: list[str], state: str) -> str:
    excluded = f"\n    Exclude_Path {','.join(exclude)}" if exclude else ""
    return f"""[INPUT]
    Name tail
    Path {path}{excluded}
    multiline.parser cri
    Tag {tag}.*
    DB {STATE_DIR}/{state}.db
    Mem_Buf_Limit {BUFFERS[tag]}
    Skip_Long_Lines On
"""


def metadata(tag: str, merge_json: bool) -> str:
    merge = "Merge_Log On\n    Keep_Log Off" if merge_json else "Merge_Log Off"
    return f"""[FILTER]
    Name kubernetes
    Match {tag}.*
    Kube_Tag_Prefix {tag}{LOG_DIR.replace("/", ".")}.
    {merge}
    Labels Off
    Annotations Off
"""


# Behaviour of the pinned Fluent Bit (fluent/fluent-bit v4.0.13, commit 2a1d3c5d): filter_kubernetes/kubernetes.c merges a
# JSON-object line's keys at the record's root and, with Keep_Log Off, drops `log` only when it merged;
# filter_rewrite_tag/rewrite_tag.c re-emits a record whose rule key matches (a missing key never matches) through an
# emitter input, so filters matching the new tag run again, and drops the original when keep is false.
# The Logstash encoder writes `logger_name` on every event (logstash-logback-encoder README, "Standard Fields"):
# a merged record without it is not the services' logback JSON.
LOGBACK_FIELD = "logger_name"
LOGBACK_TAG = "logback"  # no filter matches it: the re-emitted record is not enriched twice


def logback_lines_only() -> str:
    """The `apps` records that are logback's JSON take the `logback` tag; the rest (a service's plain console pattern,
    the JVM's own lines) keep `apps` and go with every other container. Once the emitter's buffer is full it pauses
    the apps' tail, and drops the batch being filtered then (in_emitter/emitter.c: a busy emitter counts as emitted)."""
    return f"""[FILTER]
    Name rewrite_tag
    Match apps.*
    Rule ${LOGBACK_FIELD} .+ {LOGBACK_TAG}.$TAG false
    Emitter_Name {LOGBACK_TAG}
    Emitter_Mem_Buf_Limit {BUFFERS[LOGBACK_TAG]}
"""


def to_logstash(match: str, port: int, date_key: str) -> str:
    """`match` is the output's whole `Match` or `Match_Regex` line: the tags it sends."""
    logstash = ENDPOINTS["logstash"]
    return f"""[OUTPUT]
    Name tcp
    {match}
    Host {logstash.service}.{logstash.namespace}.svc
    Port {port}
    Format json_lines
    json_date_key {date_key}
    json_date_format iso8601
    Retry_Limit False
"""


def fluent_bit_config() -> str:
    """Every container's log (CRI format) is read by exactly one input, tagged with its pod's name, namespace and
    container, and sent as JSON lines to Logstash, each line to one input.

    The services' logback JSON (`apps.*`, then `logback.*`) is merged into the record, so trace ids and MDC stay
    fields, and sent to the input their TCP appender used, so it lands where dashboards and alerts count it, once.
    A line from the apps that is not that JSON keeps its text in `log` and goes, as before, with everything else
    (`kube.*`, unmerged) to the container-logs input: a service still running its appender counts once in the app
    stream, and the JVM's own lines (startup failures, OutOfMemoryError) never enter it without fields. Other
    containers stay unmerged: two systems' same field with different types, or `app` next to
    `app.kubernetes.io/name` from labels, would make Elasticsearch reject documents."""
    return "\n".join(
        [
            f"""[SERVICE]
    Flush 5
    HTTP_Server On
    HTTP_Listen 0.0.0.0
    HTTP_Port {HTTP_PORT}
""",
            tail("apps", APP_LOGS, [], "apps"),
            tail("kube", f"{LOG_DIR}/*.log", [OWN_LOGS, APP_LOGS], "tail"),
            metadata("apps", merge_json=True),
            metadata("kube", merge_json=False),
            logback_lines_only(),
            # logback's JSON carries its own @timestamp: a second key would be ambiguous.
            to_logstash(f"Match {LOGBACK_TAG}.*", LOGSTASH_PORT, "false"),
            to_logstash(r"Match_Regex ^(apps|kube)\.", CONTAINER_LOGS_PORT, "@timestamp"),
        ]
    )


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
        config_data = {"fluent-bit.conf": fluent_bit_config()}
        config = k8s.core.v1.ConfigMap(f"{name}-fluent-bit", metadata=meta, data=config_data, opts=child)
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
                            "annotations": {
                                **metrics_annotations(context.metrics_backend, NAME, HTTP_PORT, "/api/v1/metrics/prometheus"),
                                # Fluent Bit reads its config once at start: a changed config rolls the pods.
                                CONFIG_HASH_ANNOTATION: config_digest(config_data),
                            },
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
        # Logstash admits the shippers on the two inputs they send to (monitoring's own egress is open).
        shippers = pods.namespace_peer(NAMESPACE, LABELS)
        allow_ingress(
            "allow-log-shipper", NAMESPACES["logging"], LOGSTASH_POD_LABELS, [LOGSTASH_PORT, CONTAINER_LOGS_PORT], [shippers], self
        )
        register_declared(self)  # nothing to declare: it only sends
