"""The contract between the platform layer and the services: where each infra system answers in-cluster,
and which Kubernetes Secrets in the apps namespace carry its credentials.

The platform creates exactly these Services and Secrets; the service catalog's infra layer is built
from these names. Both are pure data, so either side is tested without the other.
"""

from dataclasses import dataclass

APPS_NAMESPACE = "apps"

# Namespace per concern; the platform labels them for Pod Security Admission.
NAMESPACES: dict[str, str] = {
    "logging": "logging",
    "tracing": "tracing",
    "monitoring": "monitoring",
    "messaging": "messaging",
    "data": "data",
    "apps": APPS_NAMESPACE,
}


@dataclass(frozen=True)
class Endpoint:
    service: str  # Kubernetes Service name
    namespace: str
    port: int
    scheme: str

    @property
    def host(self) -> str:
        return f"{self.service}.{self.namespace}.svc.cluster.local"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


# Service names follow the operators' conventions (ECK: <name>-es-http, MCK: <name>-svc).
ENDPOINTS: dict[str, Endpoint] = {
    "elasticsearch": Endpoint("logs-es-http", "logging", 9200, "https"),
    "logstash": Endpoint("logstash", "logging", 5000, "tcp"),  # JSON lines from logback's TCP appender
    "zipkin": Endpoint("zipkin", "tracing", 9411, "http"),
    "rabbitmq": Endpoint("rabbitmq", "messaging", 5672, "amqp"),
    "mongodb": Endpoint("mongodb-svc", "data", 27017, "mongodb"),
    "redis": Endpoint("redis", "data", 6379, "redis"),
}


@dataclass(frozen=True)
class SecretRef:
    name: str  # Secret in APPS_NAMESPACE
    keys: tuple[str, ...]


# Credentials the services read, as Secrets in the apps namespace (never in a ConfigMap).
APP_SECRETS: dict[str, SecretRef] = {
    "mongodb": SecretRef("mongodb-credentials", ("username", "password")),
    "rabbitmq": SecretRef("rabbitmq-credentials", ("username", "password")),
    "redis": SecretRef("redis-credentials", ("password",)),
    "sentry": SecretRef("sentry", ("dsn",)),
}
