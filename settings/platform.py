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

    cpu: str
    cpu_limit: str
    memory: str

    @field_validator("cpu", "cpu_limit", "memory")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError("not a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")
        return value


class WorkloadConfig(Section):
    replicas: int = Field(ge=1, le=9)
    resources: ResourcesConfig


class DataServiceConfig(WorkloadConfig):
    storage_gib: int = Field(ge=1, le=16384)


class ElasticsearchConfig(DataServiceConfig):
    snapshot_schedule: str = Field(description="Elasticsearch cron (seconds first), e.g. '0 30 1 * * ?'")
    snapshot_retention_days: int = Field(ge=1, le=3650)

    @field_validator("snapshot_schedule")
    @classmethod
    def _es_cron(cls, value: str) -> str:
        if not _ES_CRON.match(value):
            raise ValueError("not an Elasticsearch cron expression (seconds minutes hours day month weekday), e.g. '0 30 1 * * ?'")
        return value


class MongoDBConfig(DataServiceConfig):
    backup_schedule: str

    @field_validator("backup_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _K8S_CRON.match(value):
            raise ValueError("not a five-field cron schedule such as '0 3 * * *'")
        return value


class RedisConfig(DataServiceConfig):
    # A cache loses nothing worth keeping on restart: no AOF, no fsync cost.
    cache_only: bool = False


class MetricsConfig(Section):
    backend: MetricsBackend
    # prometheus: how long and on how much disk the series are kept.
    retention_days: int = Field(default=7, ge=1, le=365)
    storage_gib: int = Field(default=20, ge=1, le=16384)
    # datadog: the site the agents report to.
    site: str = "datadoghq.com"


class PlatformConfig(Section):
    metrics: MetricsConfig
    elasticsearch: ElasticsearchConfig
    kibana: WorkloadConfig
    logstash: WorkloadConfig
    zipkin: WorkloadConfig
    rabbitmq: DataServiceConfig
    mongodb: MongoDBConfig
    redis: RedisConfig


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
