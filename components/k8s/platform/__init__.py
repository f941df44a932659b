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

from .context import PlatformContext
from .controllers import Controllers, ControllersArgs
from .foundations import (
    ANYWHERE,
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
from .shipping import LogShipping
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
        base = PlatformContext(
            cluster=args.cluster,
            # The data tier (its custom resources, StatefulSets and namespaces) survives a stray destroy or replacement.
            protect=args.tier.protected,
            scale=args.tier.quorum_replicas,
            metrics_backend=cfg.metrics.backend,
        )
        self.foundations = Foundations(f"{name}-foundations", base, FoundationsArgs(storage_by_namespace(cfg)), child)
        # Every other child waits for the namespaces, storage and priority classes.
        context = base.after(self.foundations)
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

        if args.cluster.controllers is not None:
            self.controllers = Controllers(f"{name}-controllers", context, ControllersArgs(cloud=args.cluster.controllers), child)
        self.logging = Logging(
            f"{name}-logging",
            context,
            LoggingArgs(elasticsearch=cfg.elasticsearch, kibana=cfg.kibana, logstash=cfg.logstash),
            child,
        )
        self.tracing = Tracing(
            f"{name}-tracing",
            context.after(self.logging.elasticsearch),
            TracingArgs(config=cfg.zipkin, elasticsearch_password=self.logging.zipkin_password),
            child,
        )
        self.metrics = Metrics(f"{name}-metrics", context, MetricsArgs(config=cfg.metrics), child)
        self.log_shipping = LogShipping(f"{name}-log-shipping", context, child)
        self.messaging = Messaging(f"{name}-messaging", context, MessagingArgs(config=cfg.rabbitmq), child)
        self.mongodb = MongoDB(f"{name}-mongodb", context, MongoDBArgs(config=cfg.mongodb, metrics=self.metrics.chart), child)
        self.redis = Redis(f"{name}-redis", context, RedisArgs(config=cfg.redis), child)
        # The services' Sentry DSN: only ever a Secret the app pods mount.
        app_secret(
            "sentry",
            {"dsn": pulumi.Config("insight").require_secret("sentryDsn")},
            pulumi.ResourceOptions(parent=self, depends_on=context.ready),
        )
        self.metrics_backend = context.metrics_backend
        register_declared(self)
