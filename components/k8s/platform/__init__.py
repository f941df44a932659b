"""The Kubernetes platform layer: foundations, controllers, logging, tracing, metrics, RabbitMQ, MongoDB, Redis.

`Platform` declares every concern as a child component, in dependency order, through the cluster's
Kubernetes provider (passed by the caller as the `kubernetes` provider).
"""

from dataclasses import dataclass

import pulumi

from components.handle import ClusterHandle
from components.outputs import register_declared
from settings.endpoints import NAMESPACES
from settings.platform import MetricsBackend, PlatformConfig
from settings.tiers import TierPolicy

from .controllers import Controllers, ControllersArgs
from .foundations import (
    ANYWHERE,
    DATA_NAMESPACES,
    ECK_NAMESPACE,
    Foundations,
    FoundationsArgs,
    allow_egress,
    allow_ingress,
    allow_within_namespace,
    from_namespaces,
    https_anywhere,
)
from .logging import Logging, LoggingArgs
from .messaging import Messaging, MessagingArgs
from .metrics import Metrics, MetricsArgs
from .mongodb import MongoDB, MongoDBArgs
from .redis import Redis, RedisArgs
from .secrets import app_secret
from .shipping import LogShipping, LogShippingArgs
from .tracing import Tracing, TracingArgs


@dataclass(frozen=True)
class PlatformArgs:
    config: PlatformConfig
    tier: TierPolicy
    cluster: ClusterHandle


def storage_by_namespace(cfg: PlatformConfig) -> dict[str, int]:
    """GiB each namespace claims, for its quota."""
    return {
        NAMESPACES["logging"]: cfg.elasticsearch.storage_gib * cfg.elasticsearch.replicas + 2 * cfg.logstash.replicas,
        NAMESPACES["messaging"]: cfg.rabbitmq.storage_gib * cfg.rabbitmq.replicas,
        # MongoDB's members, plus the backup's scratch volume (as large as one member's; a restore run by hand fits the
        # quota's headroom).
        NAMESPACES["data"]: (cfg.mongodb.storage_gib + 2) * cfg.mongodb.replicas
        + cfg.mongodb.storage_gib
        + cfg.redis.storage_gib * cfg.redis.replicas,
        NAMESPACES["monitoring"]: cfg.metrics.storage_gib if cfg.metrics.backend == "prometheus" else 0,
    }


class Platform(pulumi.ComponentResource):
    metrics_backend: MetricsBackend

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Platform", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        scale = args.tier.quorum_replicas
        handle = args.cluster
        # The data tier (its custom resources, StatefulSets and namespaces) survives a stray destroy or replacement.
        protect = args.tier.protected
        self.foundations = Foundations(
            f"{name}-foundations",
            FoundationsArgs(storage_by_namespace(cfg), scale, handle.storage, DATA_NAMESPACES if protect else frozenset()),
            child,
        )
        ready: list[pulumi.Resource] = [self.foundations]
        namespaces = self.foundations.namespaces
        for ns in ("logging", "messaging", "data", "tracing"):
            allow_within_namespace(ns, namespaces[ns])
        for ns in ("logging", "messaging", "data", "tracing"):
            # Every platform workload is scraped from the monitoring namespace.
            allow_ingress(
                "allow-monitoring",
                ns,
                {},
                [],
                from_namespaces(NAMESPACES["monitoring"]),
                namespaces[ns],
            )
        # Operators talk to the Kubernetes API; the API server calls ECK's admission webhook.
        for ns in (ECK_NAMESPACE, NAMESPACES["data"]):
            allow_egress("allow-https-out", ns, {}, [https_anywhere()], namespaces[ns])
        allow_ingress("allow-webhook", ECK_NAMESPACE, {}, [9443], [ANYWHERE], namespaces[ECK_NAMESPACE])

        if handle.controllers is not None:
            self.controllers = Controllers(
                f"{name}-controllers", ControllersArgs(cluster_name=handle.name, cloud=handle.controllers, identity=handle.identity), child
            )
        self.logging = Logging(
            f"{name}-logging",
            LoggingArgs(
                elasticsearch=cfg.elasticsearch,
                kibana=cfg.kibana,
                logstash=cfg.logstash,
                backups=handle.backups,
                identity=handle.identity,
                storage=handle.storage,
                depends_on=ready,
                protect=protect,
            ),
            child,
        )
        backend = cfg.metrics.backend
        self.tracing = Tracing(
            f"{name}-tracing",
            TracingArgs(
                config=cfg.zipkin,
                metrics_backend=backend,
                elasticsearch_password=self.logging.zipkin_password,
                depends_on=[*ready, self.logging.elasticsearch],
            ),
            child,
        )
        self.metrics = Metrics(
            f"{name}-metrics",
            MetricsArgs(config=cfg.metrics, cluster_name=handle.name, storage_class=handle.storage.data, depends_on=ready),
            child,
        )
        self.log_shipping = LogShipping(f"{name}-log-shipping", LogShippingArgs(metrics_backend=backend, depends_on=ready), child)
        self.messaging = Messaging(
            f"{name}-messaging",
            MessagingArgs(
                config=cfg.rabbitmq,
                metrics_backend=backend,
                storage_class=handle.storage.data,
                backups=handle.backups,
                identity=handle.identity,
                depends_on=ready,
                protect=protect,
            ),
            child,
        )
        self.mongodb = MongoDB(
            f"{name}-mongodb",
            MongoDBArgs(
                config=cfg.mongodb,
                metrics_backend=backend,
                backups=handle.backups,
                identity=handle.identity,
                storage=handle.storage,
                depends_on=ready,
                metrics=self.metrics.chart,
                protect=protect,
            ),
            child,
        )
        self.redis = Redis(
            f"{name}-redis",
            RedisArgs(config=cfg.redis, metrics_backend=backend, storage_class=handle.storage.data, depends_on=ready, protect=protect),
            child,
        )
        # The services' Sentry DSN: only ever a Secret the app pods mount.
        app_secret(
            "sentry", {"dsn": pulumi.Config("insight").require_secret("sentryDsn")}, pulumi.ResourceOptions(parent=self, depends_on=ready)
        )
        self.metrics_backend = backend
        register_declared(self)
