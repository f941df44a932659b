"""Redis without Bitnami: a replicated StatefulSet watched by Sentinel, behind HAProxy that follows the master.

The services keep one address (the contract's `redis:6379`): HAProxy sends every connection to whichever
node answers `role:master`, so a Sentinel failover needs no client support.
"""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.outputs import register_declared
from settings import versions
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import RedisConfig, metrics_annotations

from .. import pods
from .context import PlatformContext
from .foundations import allow_ingress, from_namespaces
from .secrets import CONFIG_HASH_ANNOTATION, SECRETS_HASH_ANNOTATION, app_secret, config_digest, generated_password, secret, secrets_digest

NAMESPACE = NAMESPACES["data"]
SERVICE = ENDPOINTS["redis"].service
PORT = ENDPOINTS["redis"].port
SENTINEL_PORT = 26379
EXPORTER_PORT = 9121
NODES = "redis-node"
HEADLESS = "redis-headless"
SENTINEL_SERVICE = "redis-sentinel"
MASTER_SET = "insight"
NODE_LABELS = pods.labels("redis", "node")
PROXY_LABELS = pods.labels("redis", "proxy")
AUTH_SECRET = "redis-auth"
REDIS_UID = 999  # the redis user of the official image
HAPROXY_UID = 99  # the haproxy user of the official image


def node_host(index: int) -> str:
    return f"{NODES}-{index}.{HEADLESS}.{NAMESPACE}.svc.cluster.local"


def redis_conf(cache_only: bool) -> str:
    persistence = 'appendonly no\nsave ""\n' if cache_only else "appendonly yes\nappendfsync everysec\n"
    return f"port {PORT}\ndir /data\nprotected-mode no\n{persistence}"


def sentinel_quorum(replicas: int) -> int:
    return replicas // 2 + 1


# Each script asks the running Sentinels for the current master first, so a restarted node rejoins as a replica.
_FIND_MASTER = f"""FQDN="$(hostname).{HEADLESS}.{NAMESPACE}.svc.cluster.local"
MASTER="$(redis-cli -h {SENTINEL_SERVICE} -p {SENTINEL_PORT} sentinel get-master-addr-by-name {MASTER_SET} 2>/dev/null | head -n 1 || true)"
[ -n "$MASTER" ] || MASTER="{node_host(0)}"
"""

START_REDIS = f"""set -e
{_FIND_MASTER}cp /config/redis.conf /work/redis.conf
printf 'requirepass %s\\nmasterauth %s\\nreplica-announce-ip %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" "$FQDN" >> /work/redis.conf
[ "$MASTER" = "$FQDN" ] || echo "replicaof $MASTER {PORT}" >> /work/redis.conf
exec redis-server /work/redis.conf
"""


def start_sentinel(quorum: int) -> str:
    return f"""set -e
{_FIND_MASTER}cat > /work/sentinel.conf <<EOF
port {SENTINEL_PORT}
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $FQDN
sentinel monitor {MASTER_SET} $MASTER {PORT} {quorum}
sentinel auth-pass {MASTER_SET} $REDIS_PASSWORD
sentinel down-after-milliseconds {MASTER_SET} 5000
sentinel failover-timeout {MASTER_SET} 60000
sentinel parallel-syncs {MASTER_SET} 1
EOF
exec redis-sentinel /work/sentinel.conf
"""


def haproxy_cfg(replicas: int) -> str:
    servers = "\n".join(
        f"  server node{i} {node_host(i)}:{PORT} check inter 1s fall 2 rise 2 resolvers cluster init-addr none" for i in range(replicas)
    )
    return f"""global
  maxconn 4096
defaults
  mode tcp
  timeout connect 4s
  timeout client 330s
  timeout server 330s
resolvers cluster
  parse-resolv-conf
  hold valid 5s
frontend health
  mode http
  bind :8404
  monitor-uri /healthz
frontend redis
  bind :{PORT}
  default_backend master
backend master
  option tcp-check
  tcp-check connect
  tcp-check send "AUTH ${{REDIS_PASSWORD}}"\\r\\n
  tcp-check expect string +OK
  tcp-check send info\\ replication\\r\\n
  tcp-check expect string role:master
  tcp-check send QUIT\\r\\n
  tcp-check expect string +OK
{servers}
"""


@dataclass(frozen=True)
class RedisArgs:
    config: RedisConfig


def volume_claim(gib: int, storage_class: str) -> dict:
    return {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        },
    }


class Redis(pulumi.ComponentResource):
    def __init__(self, name: str, context: PlatformContext, args: RedisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Redis", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        cfg = args.config
        password = generated_password(f"{name}-redis", self)
        auth = secret(AUTH_SECRET, NAMESPACE, {"password": password}, child)
        app_secret("redis", {"password": password}, child)
        config_data = {
            "redis.conf": redis_conf(cfg.cache_only),
            "start-redis.sh": START_REDIS,
            "start-sentinel.sh": start_sentinel(sentinel_quorum(cfg.replicas)),
            "haproxy.cfg": haproxy_cfg(cfg.replicas),
        }
        config = k8s.core.v1.ConfigMap(
            f"{name}-redis", metadata={"namespace": NAMESPACE, "name": "redis-config"}, data=config_data, opts=child
        )
        # Redis, Sentinel and HAProxy read their config and the password at start only: both roll them.
        rolls = {CONFIG_HASH_ANNOTATION: config_digest(config_data), SECRETS_HASH_ANNOTATION: secrets_digest({"password": password})}
        after_config = pulumi.ResourceOptions(parent=self, depends_on=[auth, config, *context.ready])
        password_env = pods.secret_env("REDIS_PASSWORD", AUTH_SECRET, "password")
        ping = ["sh", "-c", 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping | grep -q PONG']
        k8s.core.v1.Service(
            f"{name}-redis-headless",
            metadata={"namespace": NAMESPACE, "name": HEADLESS, "labels": NODE_LABELS},
            spec=pods.as_input(
                k8s.core.v1.ServiceSpecArgs,
                {
                    "clusterIP": "None",
                    # Nodes find each other before they are ready (replication, Sentinel discovery).
                    "publishNotReadyAddresses": True,
                    "selector": NODE_LABELS,
                    "ports": [{"name": "redis", "port": PORT}, {"name": "sentinel", "port": SENTINEL_PORT}],
                },
            ),
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-redis-sentinel",
            metadata={"namespace": NAMESPACE, "name": SENTINEL_SERVICE, "labels": NODE_LABELS},
            spec={"selector": NODE_LABELS, "ports": [{"name": "sentinel", "port": SENTINEL_PORT}]},
            opts=child,
        )
        self.nodes = k8s.apps.v1.StatefulSet(
            f"{name}-redis",
            metadata={"namespace": NAMESPACE, "name": NODES, "labels": NODE_LABELS},
            spec=pods.as_input(
                k8s.apps.v1.StatefulSetSpecArgs,
                {
                    "replicas": cfg.replicas,
                    "serviceName": HEADLESS,
                    "podManagementPolicy": "Parallel",
                    # Deleting or scaling down the set never deletes a node's data.
                    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                    "selector": {"matchLabels": NODE_LABELS},
                    "template": {
                        "metadata": {
                            "labels": NODE_LABELS,
                            "annotations": {**metrics_annotations(context.metrics_backend, "exporter", EXPORTER_PORT), **rolls},
                        },
                        "spec": {
                            "priorityClassName": pods.DATA_PRIORITY_CLASS,
                            **pods.stable_placement(context.cluster.placement),
                            "topologySpreadConstraints": pods.zone_spread(NODE_LABELS, cfg.replicas, context.cluster.placement),
                            "securityContext": pods.pod_security(REDIS_UID),
                            "automountServiceAccountToken": False,
                            "containers": [
                                {
                                    "name": "redis",
                                    "image": versions.REDIS_IMAGE,
                                    "command": ["sh", "/config/start-redis.sh"],
                                    "ports": [{"name": "redis", "containerPort": PORT}],
                                    "env": [password_env],
                                    "resources": pods.resources(cfg.resources),
                                    "securityContext": pods.container_security(),
                                    "readinessProbe": pods.exec_probe(ping),
                                    "startupProbe": pods.slow_start(pods.exec_probe(ping)),
                                    "livenessProbe": pods.exec_probe(ping, period=20),
                                    "volumeMounts": [
                                        {"name": "config", "mountPath": "/config", "readOnly": True},
                                        {"name": "work", "mountPath": "/work"},
                                        {"name": "data", "mountPath": "/data"},
                                    ],
                                },
                                {
                                    "name": "sentinel",
                                    "image": versions.REDIS_IMAGE,
                                    "command": ["sh", "/config/start-sentinel.sh"],
                                    "ports": [{"name": "sentinel", "containerPort": SENTINEL_PORT}],
                                    "env": [password_env],
                                    "resources": pods.small_resources(),
                                    "securityContext": pods.container_security(),
                                    "readinessProbe": pods.tcp_probe(SENTINEL_PORT),
                                    "livenessProbe": pods.tcp_probe(SENTINEL_PORT, period=20),
                                    "volumeMounts": [
                                        {"name": "config", "mountPath": "/config", "readOnly": True},
                                        {"name": "sentinel-work", "mountPath": "/work"},
                                    ],
                                },
                                {
                                    "name": "exporter",
                                    "image": versions.REDIS_EXPORTER_IMAGE,
                                    "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT}],
                                    "env": [password_env],
                                    "resources": pods.small_resources(),
                                    "securityContext": pods.container_security(),
                                    "readinessProbe": pods.http_probe(EXPORTER_PORT, "/health"),
                                    "livenessProbe": pods.http_probe(EXPORTER_PORT, "/health", period=20),
                                },
                            ],
                            "volumes": [
                                {"name": "config", "configMap": {"name": "redis-config"}},
                                {"name": "work", "emptyDir": {"sizeLimit": "16Mi"}},
                                {"name": "sentinel-work", "emptyDir": {"sizeLimit": "16Mi"}},
                            ],
                        },
                    },
                    "volumeClaimTemplates": [volume_claim(cfg.storage_gib, context.cluster.storage.data)],
                },
            ),
            opts=pulumi.ResourceOptions.merge(after_config, pulumi.ResourceOptions(protect=context.protect)),
        )
        proxies = 2 if cfg.replicas > 1 else 1
        k8s.apps.v1.Deployment(
            f"{name}-redis-proxy",
            metadata={"namespace": NAMESPACE, "name": "redis-proxy", "labels": PROXY_LABELS},
            spec=pods.as_input(
                k8s.apps.v1.DeploymentSpecArgs,
                {
                    "replicas": proxies,
                    "selector": {"matchLabels": PROXY_LABELS},
                    "template": {
                        "metadata": {"labels": PROXY_LABELS, "annotations": rolls},
                        "spec": {
                            "priorityClassName": pods.DATA_PRIORITY_CLASS,
                            **pods.stable_placement(context.cluster.placement),
                            "topologySpreadConstraints": pods.zone_spread(PROXY_LABELS, proxies, context.cluster.placement),
                            "securityContext": pods.pod_security(HAPROXY_UID),
                            "automountServiceAccountToken": False,
                            "containers": [
                                {
                                    "name": "haproxy",
                                    "image": versions.HAPROXY_IMAGE,
                                    "args": ["-f", "/config/haproxy.cfg", "-db"],
                                    "ports": [{"name": "redis", "containerPort": PORT}, {"name": "health", "containerPort": 8404}],
                                    "env": [password_env],
                                    "resources": pods.small_resources("50m", "500m", "128Mi"),
                                    "securityContext": pods.container_security(),
                                    "readinessProbe": pods.http_probe(8404, "/healthz"),
                                    "livenessProbe": pods.http_probe(8404, "/healthz", period=20),
                                    "volumeMounts": [{"name": "config", "mountPath": "/config", "readOnly": True}],
                                }
                            ],
                            "volumes": [{"name": "config", "configMap": {"name": "redis-config"}}],
                        },
                    },
                },
            ),
            opts=after_config,
        )
        k8s.core.v1.Service(
            f"{name}-redis",
            metadata={"namespace": NAMESPACE, "name": SERVICE, "labels": PROXY_LABELS},
            spec=pods.as_input(
                k8s.core.v1.ServiceSpecArgs, {"selector": PROXY_LABELS, "ports": [{"name": "redis", "port": PORT, "targetPort": PORT}]}
            ),
            opts=child,
        )
        if cfg.replicas > 1:
            for pdb, labels in ((NODES, NODE_LABELS), ("redis-proxy", PROXY_LABELS)):
                k8s.policy.v1.PodDisruptionBudget(
                    f"{name}-{pdb}",
                    metadata={"namespace": NAMESPACE, "name": pdb},
                    spec=pods.as_input(k8s.policy.v1.PodDisruptionBudgetSpecArgs, pods.pdb_spec(labels)),
                    opts=child,
                )
        allow_ingress("allow-redis-clients", NAMESPACE, PROXY_LABELS, [PORT], from_namespaces(APPS_NAMESPACE), self)
        register_declared(self)  # nothing to declare: other components reach it by its contract names
