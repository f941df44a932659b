"""The `insight:platform` section: shapes of the data and observability tier per stack, and its checks.

Also the metrics convention every workload follows (`metrics_annotations`), so the services read it
from here instead of copying it.
"""

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from .base import Section
from .errors import Problem
from .tiers import TierPolicy

MetricsBackend = Literal["prometheus", "datadog"]
QUORUM_SYSTEMS = ("elasticsearch", "rabbitmq", "mongodb", "redis")

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$")
_K8S_CRON = re.compile(r"^(\S+\s+){4}\S+$")  # five fields, as Kubernetes CronJobs take them
_ES_CRON = re.compile(r"^(\S+\s+){5,6}\S+$")  # Elasticsearch's cron: seconds first, 6 or 7 fields


class ResourcesConfig(Section):
    """Requests; the memory limit equals the request (no overcommit of memory), the CPU limit is its own."""

    cpu: str = Field(description="CPU request, e.g. 500m")
    cpu_limit: str = Field(description="CPU limit")
    memory: str = Field(description="memory request and limit, e.g. 512Mi")

    @field_validator("cpu", "cpu_limit", "memory")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError("not a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")
        return value


class WorkloadConfig(Section):
    replicas: int = Field(ge=1, le=9, description="pods (quorum systems: odd, one per zone where the tier is HA)")
    resources: ResourcesConfig = Field(description="requests and limits of each pod")


class DataServiceConfig(WorkloadConfig):
    storage_gib: int = Field(ge=1, le=16384, description="persistent volume per replica, GiB")


class ElasticsearchConfig(DataServiceConfig):
    snapshot_schedule: str = Field(description="Elasticsearch cron (seconds first), e.g. '0 30 1 * * ?'")
    snapshot_retention_days: int = Field(ge=1, le=3650, description="days snapshots are kept")
    retention_days: int = Field(
        ge=1, le=3650, description="days logs (Logstash's data streams) and spans (Zipkin's daily indices) are kept before ILM deletes them"
    )

    @field_validator("snapshot_schedule")
    @classmethod
    def _es_cron(cls, value: str) -> str:
        if not _ES_CRON.match(value):
            raise ValueError("not an Elasticsearch cron expression (seconds minutes hours day month weekday), e.g. '0 30 1 * * ?'")
        return value


class MongoDBConfig(DataServiceConfig):
    backup_schedule: str = Field(description="five-field cron of the dump CronJob, e.g. '0 3 * * *'")

    @field_validator("backup_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _K8S_CRON.match(value):
            raise ValueError("not a five-field cron schedule such as '0 3 * * *'")
        return value


class RedisConfig(DataServiceConfig):
    # A cache loses nothing worth keeping on restart: no AOF, no fsync cost.
    cache_only: bool = Field(default=False, description="no persistence (no AOF)")


class MetricsConfig(Section):
    backend: MetricsBackend = Field(description="prometheus (in the cluster) or datadog (agents reporting out)")
    retention_days: int = Field(default=7, ge=1, le=365, description="prometheus: days series are kept")
    storage_gib: int = Field(default=20, ge=1, le=16384, description="prometheus: volume for the series, GiB")
    site: str = Field(default="datadoghq.com", description="datadog: the site the agents report to")


class PlatformConfig(Section):
    metrics: MetricsConfig = Field(description="the metrics backend and its retention")
    elasticsearch: ElasticsearchConfig = Field(description="the log store (ECK) and its snapshots")
    kibana: WorkloadConfig = Field(description="the log UI")
    logstash: WorkloadConfig = Field(description="the log pipeline into Elasticsearch")
    zipkin: WorkloadConfig = Field(description="the trace collector and UI")
    rabbitmq: DataServiceConfig = Field(description="the message broker cluster (RabbitMQ operator)")
    mongodb: MongoDBConfig = Field(description="the document store replica set (MCK) and its dumps")
    redis: RedisConfig = Field(description="the cache with Sentinel")


def check_platform(tier: TierPolicy, platform: PlatformConfig) -> Iterator[Problem]:
    """Quorum systems need an odd member count (no split votes); an HA tier fixes it at one member per zone."""
    for name in QUORUM_SYSTEMS:
        replicas = getattr(platform, name).replicas
        path = f"platform.{name}.replicas"
        if tier.quorum_replicas > 1 and replicas != tier.quorum_replicas:
            yield Problem(path, replicas, f"{tier.name} runs quorum systems with {tier.quorum_replicas} replicas, one per zone")
        elif replicas % 2 == 0:
            yield Problem(path, replicas, "a quorum system needs an odd number of replicas (1, 3, 5, ...)")


def metrics_annotations(backend: MetricsBackend, container: str, port: int, path: str = "/metrics") -> dict[str, str]:
    """Pod annotations that get a workload scraped: Prometheus' scrape convention or Datadog autodiscovery.

    `container` names the container serving the OpenMetrics endpoint (Datadog keys its checks by it).
    """
    if backend == "prometheus":
        return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": path}
    check = f'[{{"openmetrics_endpoint": "http://%%host%%:{port}{path}", "namespace": "{container}", "metrics": [".*"]}}]'
    return {
        f"ad.datadoghq.com/{container}.check_names": '["openmetrics"]',
        f"ad.datadoghq.com/{container}.init_configs": "[{}]",
        f"ad.datadoghq.com/{container}.instances": check,
    }
