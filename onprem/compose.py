"""The one-host shape: the onprem stack's platform and every catalog service as one Compose project.

Pure functions from the typed onprem settings and the service catalog to the bundle's files; `onprem.bundle`
writes them. The catalog is the cluster's (same HOCON layers, tier `onprem`); only where things answer differs:
Compose service names on one network instead of cluster DNS (`compose_placement`).

Secrets never enter a generated file: the Compose file names them as `${NAME:?...}` variables that Compose
reads from the operator's `.env` (listed, without values, in `.env.example`); scripts inside the containers
read them from the environment (`$$NAME` in the Compose file is a literal `$NAME` for the container's shell).
"""

import hashlib
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from catalog import SECRET_ENV, Address, Catalog, Placement, ServiceSpec
from settings import OnpremStackConfig, versions
from settings.platform import ElasticsearchConfig, ResourcesConfig
from settings.retention import retention_requests

ES_PORT, LOGSTASH_PORT, LOGSTASH_API_PORT, KIBANA_PORT = 9200, 5000, 9600, 5601
ZIPKIN_PORT, PROMETHEUS_PORT = 9411, 9090
AMQP_PORT, RABBITMQ_METRICS_PORT = 5672, 15692
MONGODB_PORT, REDIS_PORT = 27017, 6379
EDGE_PORT, EDGE_HEALTH_PORT = 8443, 8404  # HAProxy runs as a non-root user: no port below 1024 in the container
HTTPS_HOST_PORT = 443
CONFIG_DIR = "/etc/insight"  # as on the cluster (components/k8s/apps/workload.py)
MONGODB_REPLICA_SET = "mongodb"  # the services' connection string names it (services/apps/*.conf)

# Where the infra systems answer on the Compose network (the cluster's are in settings/endpoints.py).
INFRA: dict[str, Address] = {
    "elasticsearch": Address("elasticsearch", ES_PORT, "http"),
    "logstash": Address("logstash", LOGSTASH_PORT, "tcp"),
    "zipkin": Address("zipkin", ZIPKIN_PORT, "http"),
    "rabbitmq": Address("rabbitmq", AMQP_PORT, "amqp"),
    "mongodb": Address("mongodb", MONGODB_PORT, "mongodb"),
    "redis": Address("redis", REDIS_PORT, "redis"),
}

# Secrets of the platform itself; the services' own come from the catalog (SECRET_ENV).
PLATFORM_SECRETS: dict[str, str] = {
    "ELASTIC_PASSWORD": "Elasticsearch's superuser (Logstash and Zipkin write with it)",
    "KIBANA_SYSTEM_PASSWORD": "Kibana's own user in Elasticsearch",
    "MONGODB_ROOT_PASSWORD": "MongoDB's root user (user setup, backups)",
    "MONGODB_KEYFILE": "the replica set's internal key: 64+ hex characters (openssl rand -hex 64)",
}

LOG_ROTATION = {"driver": "json-file", "options": {"max-size": "50m", "max-file": "5"}}  # stdout of every container, bounded


def compose_placement(ports: Mapping[str, int]) -> Placement:
    """Services reach each other by Compose service name, on each service's own container port. Nothing ships the
    containers' stdout here (it stays in Docker's json-file logs on the host), so logback's TCP appender carries the
    services' lines to Logstash: one path, no duplicates."""
    return Placement(INFRA, lambda name: Address(name, ports[name], "http"), "logstash")


def secret_names(catalog: Catalog) -> list[str]:
    return sorted({*PLATFORM_SECRETS, *(e.name for s in catalog.services for e in s.env)})


def required(name: str) -> str:
    """A Compose variable the operator must set in .env: Compose refuses to start without it."""
    return f"${{{name}:?set {name} in .env}}"


def memory(quantity: str) -> str:
    """Kubernetes binary quantities to Docker's (binary) units: 512Mi -> 512m, 4Gi -> 4g."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)", quantity)
    if match is None:
        raise ValueError(f"memory {quantity!r}: expected a binary quantity such as 512Mi or 4Gi")
    return match.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", "Ti": "t"}[match.group(2)]


def mebibytes(quantity: str) -> int:
    number, unit = int(re.sub(r"\D", "", quantity)), re.sub(r"\d", "", quantity)
    return number * {"Ki": 1, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}[unit] // (1024 if unit == "Ki" else 1)


def cpus(quantity: str) -> str:
    """Kubernetes CPU to Docker's: 500m -> 0.5, 2 -> 2."""
    return f"{int(quantity[:-1]) / 1000:g}" if quantity.endswith("m") else f"{float(quantity):g}"


def limits(cpu_limit: str, memory_limit: str, cpu_request: str, memory_request: str) -> dict[str, Any]:
    return {
        "resources": {
            "limits": {"cpus": cpus(cpu_limit), "memory": memory(memory_limit)},
            "reservations": {"cpus": cpus(cpu_request), "memory": memory(memory_request)},
        }
    }


def platform_limits(resources: ResourcesConfig) -> dict[str, Any]:
    # The platform's memory limit equals its request, as on the cluster (settings/platform.py).
    return limits(resources.cpu_limit, resources.memory, resources.cpu, resources.memory)


def healthcheck(test: list[str], *, interval: int = 10, retries: int = 12, start: int = 30) -> dict[str, Any]:
    return {"test": test, "interval": f"{interval}s", "timeout": "5s", "retries": retries, "start_period": f"{start}s"}


def healthy(*names: str) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_healthy"} for name in sorted(names)}


def completed(*names: str) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_completed_successfully"} for name in sorted(names)}


def _base(image: str, ports: list[int]) -> dict[str, Any]:
    return {"image": image, "restart": "unless-stopped", "expose": [str(p) for p in ports], "logging": LOG_ROTATION}


ES_SETUP = "elasticsearch-setup"
ES_SETUP_SCRIPT = "config/elasticsearch/setup.sh"
SCRIPT_HASH_LABEL = "io.insight.script-sha256"


def elasticsearch_setup_script(cfg: ElasticsearchConfig) -> str:
    """The retention requests the cluster's setup Job sends (settings/retention.py), as idempotent PUTs.

    `curl -f` turns a refusal (4xx, or 5xx after the retries) into a non-zero exit: the setup service fails, and
    Logstash and Zipkin, which wait for it to complete, do not start writing without the policies."""
    lines = [
        "#!/bin/sh",
        f"# Rendered by onprem/compose.py: log and span retention, {cfg.retention_days} days (platform.elasticsearch.retentionDays).",
        "set -eu",
        f"ES=http://elasticsearch:{ES_PORT}",
        "put() {",
        '  echo "PUT $1"',
        '  curl -fsS --retry 5 --retry-connrefused --retry-delay 5 -u "elastic:$ELASTIC_PASSWORD" \\',
        '    -X PUT "$ES/$1" -H \'Content-Type: application/json\' -d "$2"',
        "  echo",
        "}",
    ]
    lines += [f"put {shlex.quote(path)} {shlex.quote(json.dumps(body))}" for path, body in retention_requests(cfg)]
    return "\n".join(lines) + "\n"


def elasticsearch_setup_service(script: str) -> dict[str, Any]:
    """A one-shot service: it runs the setup script once Elasticsearch is healthy and exits; Docker restarts it only
    on failure. `docker compose up` starts it again every time (an exited dependency is started like any other
    container); the script's hash in a label also re-creates it when the policy changes."""
    mount = f"{CONFIG_DIR}/elasticsearch/setup.sh"
    return {
        "image": f"docker.elastic.co/elasticsearch/elasticsearch:{versions.ELASTIC_STACK_VERSION}",  # has curl: no image to pin
        "restart": "on-failure",
        "entrypoint": ["sh", mount],
        "environment": {"ELASTIC_PASSWORD": required("ELASTIC_PASSWORD")},
        "volumes": [f"./{ES_SETUP_SCRIPT}:{mount}:ro"],
        "labels": {SCRIPT_HASH_LABEL: hashlib.sha256(script.encode()).hexdigest()},
        "logging": LOG_ROTATION,
        "depends_on": healthy("elasticsearch"),
        "deploy": limits("500m", "128Mi", "100m", "64Mi"),
    }


def platform_services(cfg: OnpremStackConfig) -> dict[str, dict[str, Any]]:
    """Elasticsearch, Logstash, Kibana, Zipkin, Prometheus, RabbitMQ, MongoDB and Redis at the pinned versions,
    and the one-shot setup that gives Elasticsearch its retention before Logstash and Zipkin write."""
    p = cfg.platform
    elastic = versions.ELASTIC_STACK_VERSION
    es_heap = mebibytes(p.elasticsearch.resources.memory) // 2  # the other half is the file cache
    es_auth = '-u "elastic:$$ELASTIC_PASSWORD"'
    es_url = f"http://localhost:{ES_PORT}"
    # Kibana may not use the superuser: its own user's password is set (idempotently) before ES reports healthy.
    es_ready = (
        f'curl -fsS {es_auth} "{es_url}/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null'
        f' && curl -fsS {es_auth} -H "Content-Type: application/json" -X POST {es_url}/_security/user/kibana_system/_password'
        ' -d "{\\"password\\": \\"$$KIBANA_SYSTEM_PASSWORD\\"}" >/dev/null'
    )
    redis_persistence = "--save '' --appendonly no" if p.redis.cache_only else "--appendonly yes"
    return {
        "elasticsearch": {
            **_base(f"docker.elastic.co/elasticsearch/elasticsearch:{elastic}", [ES_PORT]),
            "environment": {
                "discovery.type": "single-node",
                "xpack.security.enabled": "true",
                "xpack.security.http.ssl.enabled": "false",  # one host, one private Compose network
                "ES_JAVA_OPTS": f"-Xms{es_heap}m -Xmx{es_heap}m",
                "ELASTIC_PASSWORD": required("ELASTIC_PASSWORD"),
                "KIBANA_SYSTEM_PASSWORD": required("KIBANA_SYSTEM_PASSWORD"),
            },
            "ulimits": {"nofile": {"soft": 65536, "hard": 65536}},
            "volumes": ["elasticsearch-data:/usr/share/elasticsearch/data"],
            "healthcheck": healthcheck(["CMD-SHELL", es_ready], start=60),
            "deploy": platform_limits(p.elasticsearch.resources),
        },
        ES_SETUP: elasticsearch_setup_service(elasticsearch_setup_script(p.elasticsearch)),
        "logstash": {
            **_base(f"docker.elastic.co/logstash/logstash:{elastic}", [LOGSTASH_PORT, LOGSTASH_API_PORT]),
            "environment": {"ELASTIC_PASSWORD": required("ELASTIC_PASSWORD"), "XPACK_MONITORING_ENABLED": "false"},
            "volumes": ["./config/logstash/pipeline:/usr/share/logstash/pipeline:ro"],
            "healthcheck": healthcheck(["CMD-SHELL", f"curl -fsS http://localhost:{LOGSTASH_API_PORT}/ >/dev/null"], start=60),
            "depends_on": healthy("elasticsearch") | completed(ES_SETUP),
            "deploy": platform_limits(p.logstash.resources),
        },
        "kibana": {
            **_base(f"docker.elastic.co/kibana/kibana:{elastic}", [KIBANA_PORT]),
            "environment": {
                "ELASTICSEARCH_HOSTS": f"http://elasticsearch:{ES_PORT}",
                "ELASTICSEARCH_USERNAME": "kibana_system",
                "ELASTICSEARCH_PASSWORD": required("KIBANA_SYSTEM_PASSWORD"),
            },
            "healthcheck": healthcheck(["CMD-SHELL", f"curl -fsS http://localhost:{KIBANA_PORT}/api/status >/dev/null"], start=90),
            "depends_on": healthy("elasticsearch"),
            "deploy": platform_limits(p.kibana.resources),
        },
        "zipkin": {
            **_base(versions.ZIPKIN_IMAGE, [ZIPKIN_PORT]),
            "environment": {
                "STORAGE_TYPE": "elasticsearch",
                "ES_HOSTS": f"http://elasticsearch:{ES_PORT}",
                "ES_USERNAME": "elastic",
                "ES_PASSWORD": required("ELASTIC_PASSWORD"),
            },
            "healthcheck": healthcheck(["CMD-SHELL", f"wget -qO- http://127.0.0.1:{ZIPKIN_PORT}/health >/dev/null"]),
            "depends_on": healthy("elasticsearch") | completed(ES_SETUP),
            "deploy": platform_limits(p.zipkin.resources),
        },
        "prometheus": {
            **_base(versions.PROMETHEUS_IMAGE, [PROMETHEUS_PORT]),
            "command": [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                f"--storage.tsdb.retention.time={p.metrics.retention_days}d",
                f"--storage.tsdb.retention.size={p.metrics.storage_gib * 9 // 10}GB",  # headroom on the volume
            ],
            "volumes": ["./config/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro", "prometheus-data:/prometheus"],
            "healthcheck": healthcheck(["CMD-SHELL", f"wget -qO- http://127.0.0.1:{PROMETHEUS_PORT}/-/healthy >/dev/null"]),
            "deploy": limits("1", "2Gi", "250m", "1Gi"),
        },
        "rabbitmq": {
            **_base(versions.RABBITMQ_IMAGE, [AMQP_PORT, RABBITMQ_METRICS_PORT]),
            # Definitions (the services' user among them) are written at start from the environment, then loaded.
            "entrypoint": [
                "sh",
                "-c",
                'sed "s/@RABBITMQ_PASSWORD@/$$RABBITMQ_PASSWORD/; s/@RABBITMQ_USERNAME@/$$RABBITMQ_USERNAME/"'
                " /etc/insight/rabbitmq/definitions.json > /tmp/definitions.json && exec docker-entrypoint.sh rabbitmq-server",
            ],
            "environment": {"RABBITMQ_USERNAME": required("RABBITMQ_USERNAME"), "RABBITMQ_PASSWORD": required("RABBITMQ_PASSWORD")},
            "volumes": [
                "./config/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/90-insight.conf:ro",
                "./config/rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins:ro",
                "./config/rabbitmq/definitions.json:/etc/insight/rabbitmq/definitions.json:ro",
                "rabbitmq-data:/var/lib/rabbitmq",
            ],
            "hostname": "rabbitmq",  # the node's name (rabbit@rabbitmq) must survive a re-created container
            "healthcheck": healthcheck(["CMD", "rabbitmq-diagnostics", "-q", "check_port_connectivity"], start=60),
            "deploy": platform_limits(p.rabbitmq.resources),
        },
        "mongodb": {
            **_base(versions.MONGODB_TOOLS_IMAGE, [MONGODB_PORT]),
            # A one-member replica set (the services' connection string names it); with auth on it needs a key file.
            "entrypoint": [
                "bash",
                "-c",
                'umask 077 && printf "%s" "$$MONGODB_KEYFILE" > /data/configdb/keyfile && chown 999:999 /data/configdb/keyfile'
                f" && exec docker-entrypoint.sh mongod --replSet {MONGODB_REPLICA_SET} --keyFile /data/configdb/keyfile --bind_ip_all",
            ],
            "environment": {
                "MONGO_INITDB_ROOT_USERNAME": "root",
                "MONGO_INITDB_ROOT_PASSWORD": required("MONGODB_ROOT_PASSWORD"),
                "MONGODB_KEYFILE": required("MONGODB_KEYFILE"),
                "MONGODB_USERNAME": required("MONGODB_USERNAME"),
                "MONGODB_PASSWORD": required("MONGODB_PASSWORD"),
            },
            "volumes": [
                "./config/mongodb/initdb:/docker-entrypoint-initdb.d:ro",
                "mongodb-data:/data/db",
                "mongodb-config:/data/configdb",
            ],
            # Healthy once the replica set has a primary; the first check initiates it.
            "healthcheck": healthcheck(
                [
                    "CMD-SHELL",
                    'mongosh --quiet -u root -p "$$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin --eval '
                    f"\"let s; try {{ s = rs.status() }} catch (e) {{ rs.initiate({{_id: '{MONGODB_REPLICA_SET}', "
                    f"members: [{{_id: 0, host: 'mongodb:{MONGODB_PORT}'}}]}}); quit(1) }} quit(s.myState === 1 ? 0 : 1)\"",
                ],
                start=60,
            ),
            "deploy": platform_limits(p.mongodb.resources),
        },
        "redis": {
            **_base(versions.REDIS_IMAGE, [REDIS_PORT]),
            "command": ["sh", "-c", f'exec redis-server --requirepass "$$REDIS_PASSWORD" {redis_persistence}'],
            "environment": {"REDIS_PASSWORD": required("REDIS_PASSWORD"), "REDISCLI_AUTH": required("REDIS_PASSWORD")},
            "volumes": ["redis-data:/data"],
            "healthcheck": healthcheck(["CMD-SHELL", "redis-cli ping | grep -q PONG"]),
            "deploy": platform_limits(p.redis.resources),
        },
    }


PLATFORM_VOLUMES = ("elasticsearch-data", "prometheus-data", "rabbitmq-data", "mongodb-data", "mongodb-config", "redis-data")


def app_volume(spec: ServiceSpec) -> str:
    return f"{spec.name}-data"


def app_service(spec: ServiceSpec, image: str) -> dict[str, Any]:
    """One catalog service: its rendered config, its secrets from .env, its health on the admin port."""
    deploy = spec.deploy
    service: dict[str, Any] = {
        **_base(image, sorted({deploy.port, deploy.probes.port})),
        "environment": {
            "JAVA_TOOL_OPTIONS": f"-Dconfig.file={CONFIG_DIR}/application.conf -XX:MaxRAMPercentage=75",
            **{e.name: required(e.name) for e in spec.env},
        },
        "volumes": [f"./config/services/{spec.name}/application.conf:{CONFIG_DIR}/application.conf:ro"],
        "read_only": True,
        "tmpfs": ["/tmp"],
        "healthcheck": healthcheck(
            ["CMD", "curl", "-fsS", f"http://localhost:{deploy.probes.port}{deploy.probes.readiness.path}"],
            interval=deploy.probes.readiness.period_seconds,
            retries=deploy.probes.liveness.failure_threshold * 4,
            start=deploy.probes.liveness.initial_delay_seconds * 2,
        ),
        "depends_on": healthy(*spec.uses, *spec.calls),
        "deploy": limits(
            deploy.resources.limits.cpu, deploy.resources.limits.memory, deploy.resources.requests.cpu, deploy.resources.requests.memory
        ),
    }
    if deploy.volume is not None:
        service["volumes"].append(f"{app_volume(spec)}:{deploy.volume.mount_path}")
    return service


def edge_service(public: list[ServiceSpec]) -> dict[str, Any]:
    """The one published port: HTTPS on 443, routed by host name to the public services."""
    return {
        **_base(versions.HAPROXY_IMAGE, [EDGE_PORT, EDGE_HEALTH_PORT]),
        "ports": [{"target": EDGE_PORT, "published": str(HTTPS_HOST_PORT), "protocol": "tcp"}],
        "volumes": ["./config/edge/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro", "./certs:/usr/local/etc/haproxy/certs:ro"],
        "healthcheck": healthcheck(["CMD-SHELL", f"wget -qO- http://127.0.0.1:{EDGE_HEALTH_PORT}/healthz >/dev/null"]),
        "depends_on": healthy(*(s.name for s in public)),
        "deploy": limits("1", "256Mi", "100m", "128Mi"),
    }


def haproxy_config(public: list[ServiceSpec], domain: str) -> str:
    lines = [
        "# Rendered by onprem/compose.py: TLS on the host's port 443, routed by host name to the public services.",
        "global",
        "  log stdout format raw local0",
        "defaults",
        "  mode http",
        "  log global",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
        "frontend health",
        f"  bind :{EDGE_HEALTH_PORT}",
        "  monitor-uri /healthz",
        "frontend https",
        f"  bind :{EDGE_PORT} ssl crt /usr/local/etc/haproxy/certs/insight.pem",
        "  http-response set-header Strict-Transport-Security max-age=31536000",
    ]
    lines += [f"  use_backend {s.name} if {{ req.hdr(host),field(1,:) -i {s.hostname}.{domain} }}" for s in public]
    for s in public:
        lines += [
            f"backend {s.name}",
            f"  option httpchk GET {s.deploy.probes.readiness.path}",
            f"  server {s.name} {s.name}:{s.deploy.port} check port {s.deploy.probes.port}",
        ]
    return "\n".join(lines) + "\n"


def prometheus_config(catalog: Catalog) -> str:
    """Every service on its admin port, and the platform systems that serve metrics (as on the cluster)."""
    jobs = [
        {"job_name": "prometheus", "static_configs": [{"targets": [f"prometheus:{PROMETHEUS_PORT}"]}]},
        {"job_name": "zipkin", "metrics_path": "/prometheus", "static_configs": [{"targets": [f"zipkin:{ZIPKIN_PORT}"]}]},
        {"job_name": "rabbitmq", "static_configs": [{"targets": [f"rabbitmq:{RABBITMQ_METRICS_PORT}"]}]},
        {
            "job_name": "services",
            "static_configs": [{"targets": [f"{s.name}:{s.deploy.probes.port}"], "labels": {"service": s.name}} for s in catalog.services],
        },
    ]
    document = {"global": {"scrape_interval": "30s", "evaluation_interval": "30s"}, "scrape_configs": jobs}
    return "# Rendered by onprem/compose.py.\n" + to_yaml(document)


def logstash_pipeline() -> str:
    """The services' logback TCP appender ships JSON lines; they land in Elasticsearch as on the cluster."""
    return f"""# Rendered by onprem/compose.py.
input {{
  tcp {{ port => {LOGSTASH_PORT} codec => json_lines }}
}}
output {{
  elasticsearch {{
    hosts => ["http://elasticsearch:{ES_PORT}"]
    user => "elastic"
    password => "${{ELASTIC_PASSWORD}}"
    data_stream => true
  }}
}}
"""


RABBITMQ_CONF = """# Rendered by onprem/compose.py: quorum queues by default, definitions loaded at start.
default_queue_type = quorum
load_definitions = /tmp/definitions.json
"""


def rabbitmq_definitions() -> str:
    """The vhost (quorum by default) and the services' user; its name and password are filled in at start."""
    document = {
        "vhosts": [{"name": "/", "default_queue_type": "quorum"}],
        "users": [{"name": "@RABBITMQ_USERNAME@", "password": "@RABBITMQ_PASSWORD@", "tags": ["administrator"]}],
        "permissions": [{"user": "@RABBITMQ_USERNAME@", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
    }
    return json.dumps(document, indent=2) + "\n"


MONGODB_INIT = """// Rendered by onprem/compose.py: the services' user, created once on the first start (mongo's initdb).
db.getSiblingDB("insight").createUser({
  user: process.env.MONGODB_USERNAME,
  pwd: process.env.MONGODB_PASSWORD,
  roles: [{ role: "readWrite", db: "insight" }],
});
"""


def env_example(catalog: Catalog) -> str:
    lines = [
        "# Every secret the bundle needs: copy to .env (chmod 600), fill in each value; Compose refuses to start without them.",
        "# Passwords: hex only (openssl rand -hex 24) so that no shell or config quoting can break on them.",
    ]
    described = {**PLATFORM_SECRETS, **{name: f"services: Secret {s}, key {k}" for name, (s, k) in SECRET_ENV.items()}}
    for name in secret_names(catalog):
        lines += [f"# {described.get(name, 'services')}", f"{name}="]
    return "\n".join(lines) + "\n"


class _PlainDumper(yaml.SafeDumper):
    """Every value written out in full: no YAML anchors, so each service reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, width=200)


@dataclass(frozen=True)
class Bundle:
    compose: dict[str, Any]
    files: dict[str, str]  # path under the bundle -> text


def image_of(cfg: OnpremStackConfig, service: str, release: str) -> str:
    return f"{cfg.onprem.registry}/{service}:{release}"


def bundle(cfg: OnpremStackConfig, catalog: Catalog, release: str) -> Bundle:
    public = [s for s in catalog.services if s.public]
    services = platform_services(cfg)
    services |= {s.name: app_service(s, image_of(cfg, s.name, release)) for s in catalog.services}
    if public:
        services["edge"] = edge_service(public)
    volumes = [*PLATFORM_VOLUMES, *(app_volume(s) for s in catalog.services if s.deploy.volume is not None)]
    compose = {"name": "insight", "services": services, "volumes": {v: {} for v in volumes}}
    files = {
        "docker-compose.yml": "# Rendered by onprem/compose.py (make compose); secrets come from .env.\n" + to_yaml(compose),
        ".env.example": env_example(catalog),
        "config/prometheus/prometheus.yml": prometheus_config(catalog),
        "config/logstash/pipeline/logstash.conf": logstash_pipeline(),
        ES_SETUP_SCRIPT: elasticsearch_setup_script(cfg.platform.elasticsearch),
        "config/rabbitmq/rabbitmq.conf": RABBITMQ_CONF,
        "config/rabbitmq/enabled_plugins": "[rabbitmq_management,rabbitmq_prometheus].\n",
        "config/rabbitmq/definitions.json": rabbitmq_definitions(),
        "config/mongodb/initdb/10-insight-user.js": MONGODB_INIT,
        "config/edge/haproxy.cfg": haproxy_config(public, cfg.onprem.domain),
        "VERSION": release + "\n",
    }
    files |= {f"config/services/{s.name}/application.conf": s.application_conf for s in catalog.services}
    return Bundle(compose, files)


def dependency_edges(compose: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            yield name, dependency
