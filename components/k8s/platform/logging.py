"""ELK through ECK: Elasticsearch with S3 snapshots, Kibana (internal only), Logstash with a TCP JSON input."""

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.handle import NodePlacement, S3Client
from components.outputs import register_declared
from settings import versions
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import ElasticsearchConfig, WorkloadConfig
from settings.retention import retention_requests

from .. import pods
from . import jobs, s3
from .charts import pinned_chart
from .context import PlatformContext
from .foundations import ECK_NAMESPACE, allow_egress, allow_ingress, from_namespaces
from .secrets import generated_password, secret

NAMESPACE = NAMESPACES["logging"]
ES_NAME = ENDPOINTS["elasticsearch"].service.removesuffix("-es-http")  # ECK names the HTTP Service <name>-es-http
ES_PORT = ENDPOINTS["elasticsearch"].port
LOGSTASH_PORT = ENDPOINTS["logstash"].port
# Container stdout from the node log shipper (shipping.py): JSON lines too, routed to a data stream of its own.
CONTAINER_LOGS_PORT = 5170
CONTAINER_LOGS_DATASET = "containers"
SNAPSHOT_SERVICE_ACCOUNT = "elasticsearch"
SNAPSHOT_REPOSITORY = "s3-backups"
SNAPSHOT_PREFIX = "elasticsearch"
# The daily snapshot check: the newest snapshot must have succeeded within a day and a margin.
SNAPSHOT_CHECK_SCHEDULE = "0 6 * * *"
SNAPSHOT_MAX_AGE_HOURS = 26
# ES reads a web identity token for the S3 repository only from its own config directory.
ES_TOKEN_DIR = "/usr/share/elasticsearch/config/repository-s3"
ZIPKIN_USER = "zipkin"
ES_POD_LABELS = {"elasticsearch.k8s.elastic.co/cluster-name": ES_NAME}
LOGSTASH_POD_LABELS = {"logstash.k8s.elastic.co/name": "logs"}
# Zipkin writes its span indices and templates; nothing else.
ROLES_YML = f"""{ZIPKIN_USER}_writer:
  cluster: [monitor, manage_index_templates, manage_ilm]
  indices:
    - names: ["zipkin*"]
      privileges: [all]
"""
# The services' logback JSON, one object per line: from Fluent Bit (their stdout) or, where a service still runs it,
# logback's TCP appender (LogstashTcpSocketAppender).
PIPELINE = (
    f"input {{ tcp {{ port => {LOGSTASH_PORT} codec => json_lines }} }}\n"
    f"input {{ tcp {{ port => {CONTAINER_LOGS_PORT} codec => json_lines "
    f'add_field => {{ "[data_stream][dataset]" => "{CONTAINER_LOGS_DATASET}" }} }} }}\n'
    """output {
  elasticsearch {
    hosts => [ "${LOGS_ES_HOSTS}" ]
    user => "${LOGS_ES_USER}"
    password => "${LOGS_ES_PASSWORD}"
    ssl_certificate_authorities => "${LOGS_ES_SSL_CERTIFICATE_AUTHORITY}"
    data_stream => true
  }
}
"""
)


def slm_policy(cfg: ElasticsearchConfig) -> dict:
    """Snapshot lifecycle: nightly snapshots of every index, kept `snapshotRetentionDays` days (at least 3 kept)."""
    return {
        "schedule": cfg.snapshot_schedule,
        "name": "<nightly-{now/d}>",
        "repository": SNAPSHOT_REPOSITORY,
        "config": {"indices": "*", "include_global_state": True},
        "retention": {"expire_after": f"{cfg.snapshot_retention_days}d", "min_count": 3, "max_count": 10 * cfg.snapshot_retention_days},
    }


def repository_settings(bucket: str) -> dict:
    return {"type": "s3", "settings": {"bucket": bucket, "base_path": SNAPSHOT_PREFIX}}


def identity_token_mount(store: S3Client) -> dict:
    """Where the S3 client finds the pod's web identity token (IRSA), unless the store gives it a key instead."""
    if store.credentials_secret is not None:
        return {}
    return {"volumeMounts": [{"name": "aws-token", "mountPath": ES_TOKEN_DIR, "readOnly": True}]}


def identity_token_volume(store: S3Client) -> dict:
    if store.credentials_secret is not None:
        return {}
    token = {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "aws-web-identity-token-file"}
    return {"volumes": [{"name": "aws-token", "projected": {"sources": [{"serviceAccountToken": token}]}}]}


@dataclass(frozen=True)
class LoggingArgs:
    elasticsearch: ElasticsearchConfig
    kibana: WorkloadConfig
    logstash: WorkloadConfig


class Logging(pulumi.ComponentResource):
    elasticsearch_name: str

    def __init__(self, name: str, context: PlatformContext, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Logging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        self.operator = pinned_chart(
            f"{name}-eck-operator",
            versions.ECK_OPERATOR,
            namespace=ECK_NAMESPACE,
            values={
                "managedNamespaces": [NAMESPACE],
                "nodeSelector": pods.stable_selector(context.cluster.placement),
                # elastic-system enforces restricted; the 3.1.0 chart's pod context sets no seccomp profile.
                "podSecurityContext": pods.pod_security(None),
            },
            opts=child,
        )
        on_operator = pulumi.ResourceOptions(parent=self, depends_on=[self.operator, *context.ready])

        # Elasticsearch reads and writes snapshots under its own prefix of the backups store, nothing else.
        grant = context.cluster.identity.grant(
            f"{name}-es-snapshots",
            namespace=NAMESPACE,
            service_account=SNAPSHOT_SERVICE_ACCOUNT,
            policy=context.cluster.backups.access_policy(SNAPSHOT_PREFIX, read=True),
            tags={"component": "platform"},
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-es",
            metadata={"namespace": NAMESPACE, "name": SNAPSHOT_SERVICE_ACCOUNT, "annotations": grant.annotations},
            opts=child,
        )
        store = context.cluster.backups.client(f"{name}-es-s3", NAMESPACE, self)
        zipkin_password = generated_password(f"{name}-zipkin-es", self)
        self.zipkin_password = zipkin_password
        users = secret(
            "es-zipkin-user",
            NAMESPACE,
            {"username": ZIPKIN_USER, "password": zipkin_password, "roles": f"{ZIPKIN_USER}_writer"},
            child,
            type_="kubernetes.io/basic-auth",
        )
        roles = secret("es-roles", NAMESPACE, {"roles.yml": ROLES_YML}, child)

        es = args.elasticsearch
        self.elasticsearch = k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata={"namespace": NAMESPACE, "name": ES_NAME},
            spec={
                "version": versions.ELASTIC_STACK_VERSION,
                **({"secureSettings": keystore} if (keystore := s3.elasticsearch_secure_settings(store)) else {}),
                "auth": {"fileRealm": [{"secretName": "es-zipkin-user"}], "roles": [{"secretName": "es-roles"}]},
                # No podDisruptionBudget: ECK's default allows a disruption only while the cluster is green.
                # ECK keeps the claims when the cluster resource is deleted (only a scale-down frees them).
                "volumeClaimDeletePolicy": "DeleteOnScaledownOnly",
                "nodeSets": [
                    {
                        "name": "default",
                        "count": es.replicas,
                        # No mmap: no privileged sysctl init container, so the namespace stays restricted.
                        "config": {"node.store.allow_mmap": False, **s3.elasticsearch_config(store)},
                        "podTemplate": {
                            "spec": {
                                "serviceAccountName": SNAPSHOT_SERVICE_ACCOUNT,
                                "priorityClassName": pods.DATA_PRIORITY_CLASS,
                                **pods.stable_placement(context.cluster.placement),
                                "topologySpreadConstraints": pods.zone_spread(ES_POD_LABELS, es.replicas, context.cluster.placement),
                                "securityContext": pods.pod_security(1000),
                                "containers": [
                                    {
                                        "name": "elasticsearch",
                                        "resources": pods.resources(es.resources),
                                        "securityContext": pods.container_security(),
                                        # ECK sets the readiness probe; liveness and startup are ours.
                                        "startupProbe": pods.slow_start(pods.tcp_probe(9300), minutes=10),
                                        "livenessProbe": pods.tcp_probe(9300, period=20, failures=6),
                                        **identity_token_mount(store),
                                    }
                                ],
                                **identity_token_volume(store),
                            },
                        },
                        "volumeClaimTemplates": [
                            {
                                "metadata": {"name": "elasticsearch-data"},
                                "spec": {
                                    "accessModes": ["ReadWriteOnce"],
                                    "storageClassName": context.cluster.storage.data,
                                    "resources": {"requests": {"storage": f"{es.storage_gib}Gi"}},
                                },
                            }
                        ],
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, protect=context.protect, depends_on=[self.operator, users, roles, *context.ready]),
        )
        nodes = context.cluster.placement
        self._snapshot_job(name, es, context.cluster.backups.bucket, nodes, on_operator)
        self._restore_job(name, nodes, on_operator)
        self._snapshot_check(name, nodes, on_operator)

        kb = args.kibana
        kibana_labels = {"kibana.k8s.elastic.co/name": ES_NAME}
        self.kibana = k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata={"namespace": NAMESPACE, "name": ES_NAME},
            spec={
                "version": versions.ELASTIC_STACK_VERSION,
                "count": kb.replicas,
                "elasticsearchRef": {"name": ES_NAME},
                # Internal only: reached through `kubectl port-forward`, never a load balancer.
                "http": {"service": {"spec": {"type": "ClusterIP"}}},
                "podTemplate": {
                    "spec": {
                        **pods.interruptible_placement(context.cluster.placement),
                        "priorityClassName": pods.PLATFORM_PRIORITY_CLASS,
                        "topologySpreadConstraints": pods.zone_spread(kibana_labels, kb.replicas, context.cluster.placement),
                        "securityContext": pods.pod_security(1000),
                        "containers": [
                            {
                                "name": "kibana",
                                "resources": pods.resources(kb.resources),
                                "securityContext": pods.container_security(),
                                "startupProbe": pods.slow_start(pods.tcp_probe(5601)),
                                "livenessProbe": pods.tcp_probe(5601, period=20),
                            }
                        ],
                        # ECK 3.1.0 adds this init container without the restricted settings; it writes only to
                        # its mounted volumes, so a read-only root holds.
                        "initContainers": [{"name": "elastic-internal-init", "securityContext": pods.container_security()}],
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.elasticsearch, *context.ready]),
        )

        ls = args.logstash
        self.logstash = k8s.apiextensions.CustomResource(
            f"{name}-logstash",
            api_version="logstash.k8s.elastic.co/v1alpha1",
            kind="Logstash",
            metadata={"namespace": NAMESPACE, "name": "logs"},
            spec={
                "version": versions.ELASTIC_STACK_VERSION,
                "count": ls.replicas,
                "elasticsearchRefs": [{"name": ES_NAME, "clusterName": "logs"}],
                "pipelines": [{"pipeline.id": "services", "config.string": PIPELINE}],
                "podTemplate": {
                    "spec": {
                        # The persistent queue volume ties a Logstash pod to its zone: reserved pool like the data tier.
                        "priorityClassName": pods.PLATFORM_PRIORITY_CLASS,
                        **pods.stable_placement(context.cluster.placement),
                        "topologySpreadConstraints": pods.zone_spread(LOGSTASH_POD_LABELS, ls.replicas, context.cluster.placement),
                        "securityContext": pods.pod_security(1000),
                        "containers": [
                            {
                                "name": "logstash",
                                "resources": pods.resources(ls.resources),
                                "securityContext": pods.container_security(),
                                "readinessProbe": pods.tcp_probe(LOGSTASH_PORT),
                                "startupProbe": pods.slow_start(pods.http_probe(9600, "/")),
                                "livenessProbe": pods.http_probe(9600, "/", period=20),
                            }
                        ],
                        # As for Kibana: the operator's config init container copies into its mounted volume only.
                        "initContainers": [{"name": "logstash-internal-init-config", "securityContext": pods.container_security()}],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "logstash-data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": context.cluster.storage.data,
                            "resources": {"requests": {"storage": "2Gi"}},
                        },
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.elasticsearch, *context.ready]),
        )
        # The contract's name for the services' log endpoint (ECK's own Services are named <name>-ls-*).
        k8s.core.v1.Service(
            f"{name}-logstash-tcp",
            metadata={"namespace": NAMESPACE, "name": ENDPOINTS["logstash"].service, "labels": pods.labels("logstash")},
            spec=pods.as_input(
                k8s.core.v1.ServiceSpecArgs,
                {
                    "selector": LOGSTASH_POD_LABELS,
                    "ports": [
                        {"name": "tcp-json", "port": LOGSTASH_PORT, "targetPort": LOGSTASH_PORT},
                        {"name": "tcp-containers", "port": CONTAINER_LOGS_PORT, "targetPort": CONTAINER_LOGS_PORT},
                    ],
                },
            ),
            opts=on_operator,
        )
        for system, replicas, pod_labels in (("logstash", ls.replicas, LOGSTASH_POD_LABELS), ("kibana", kb.replicas, kibana_labels)):
            if replicas > 1:
                k8s.policy.v1.PodDisruptionBudget(
                    f"{name}-{system}",
                    metadata={"namespace": NAMESPACE, "name": system},
                    spec=pods.as_input(k8s.policy.v1.PodDisruptionBudgetSpecArgs, pods.pdb_spec(pod_labels)),
                    opts=child,
                )

        apps, tracing = APPS_NAMESPACE, NAMESPACES["tracing"]
        allow_ingress(
            "allow-elasticsearch-clients", NAMESPACE, ES_POD_LABELS, [ES_PORT], from_namespaces(apps, tracing, ECK_NAMESPACE), self
        )
        allow_ingress("allow-logstash-clients", NAMESPACE, LOGSTASH_POD_LABELS, [LOGSTASH_PORT], from_namespaces(apps), self)
        # The operator reads cluster health and drives rolling changes through the HTTP API.
        allow_egress(
            "allow-elasticsearch",
            ECK_NAMESPACE,
            {},
            [{"to": from_namespaces(NAMESPACE), "ports": pods.tcp_ports(ES_PORT)}],
            self,
        )
        # Snapshots go to the store (on AWS: S3 through STS, HTTPS out).
        allow_egress("allow-elasticsearch-s3", NAMESPACE, ES_POD_LABELS, [s3.egress(store)], self)
        self.elasticsearch_name = ES_NAME
        register_declared(self)

    def _snapshot_check(self, name: str, nodes: NodePlacement, opts: pulumi.ResourceOptions) -> None:
        """A failing snapshot setup must not go unnoticed: the setup Job is not awaited (a greenfield deploy would
        wait for Elasticsearch's bootstrap), so a daily Job fails, visibly in the metrics backend's failed-Job
        counts, unless the newest snapshot in the repository succeeded within the last SNAPSHOT_MAX_AGE_HOURS.
        It catches a repository that was never registered, a policy that fails, and one that never fires."""
        url = f"https://{ES_NAME}-es-http:{ES_PORT}"
        curl = 'curl -sS --fail-with-body --retry 5 --retry-all-errors --cacert /ca/ca.crt -u "elastic:$ES_PASSWORD"'
        script = (
            "set -e\n"
            f'newest="$({curl} "{url}/_cat/snapshots/{SNAPSHOT_REPOSITORY}?h=id,status,end_epoch&s=end_epoch" | tail -n 1)"\n'
            "set -- $newest\n"
            'test "$2" = SUCCESS || { echo "newest snapshot ${1:-(none)} is ${2:-missing}"; exit 1; }\n'
            f'age=$(( $(date +%s) - $3 )); test "$age" -lt {SNAPSHOT_MAX_AGE_HOURS * 3600} || '
            '{ echo "newest snapshot $1 is ${age}s old"; exit 1; }\n'
        )
        job = jobs.setup_job_spec(
            "elasticsearch-snapshot-check",
            versions.CURL_IMAGE,
            script,
            placement=nodes,
            env=[pods.secret_env("ES_PASSWORD", f"{ES_NAME}-es-elastic-user", "elastic")],
            volumes=[{"name": "ca", "secret": {"secretName": f"{ES_NAME}-es-http-certs-public"}}],
            mounts=[{"name": "ca", "mountPath": "/ca", "readOnly": True}],
        )
        k8s.batch.v1.CronJob(
            f"{name}-snapshot-check",
            metadata={
                "namespace": NAMESPACE,
                "name": "elasticsearch-snapshot-check",
                "labels": pods.labels("elasticsearch-snapshot-check"),
            },
            spec=pods.as_input(
                k8s.batch.v1.CronJobSpecArgs,
                {
                    "schedule": SNAPSHOT_CHECK_SCHEDULE,
                    "timeZone": "Etc/UTC",
                    "concurrencyPolicy": "Forbid",
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {
                        "spec": {
                            **job,
                            "backoffLimit": 1,
                            "template": {**job["template"], "spec": {**job["template"]["spec"], "restartPolicy": "Never"}},
                        }
                    },
                },
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.elasticsearch])),
        )

    def _restore_job(self, name: str, nodes: NodePlacement, opts: pulumi.ResourceOptions) -> None:
        """The snapshot restore, declared but suspended: `kubectl create job --from=cronjob/elasticsearch-restore` runs it.

        It restores SNAPSHOT (the newest when empty) beside the live indices, as restored-<index>, without the
        cluster state: nothing live is overwritten, and the runbook (README) swaps aliases or reindexes."""
        url = f"https://{ES_NAME}-es-http:{ES_PORT}"
        curl = 'curl -sS --fail-with-body --cacert /ca/ca.crt -u "elastic:$ES_PASSWORD"'
        body = json.dumps(
            {"indices": "*,-.*", "include_global_state": False, "rename_pattern": "(.+)", "rename_replacement": "restored-$1"}
        )
        script = (
            "set -e\n"
            f'snapshot="${{SNAPSHOT:-$({curl} "{url}/_cat/snapshots/{SNAPSHOT_REPOSITORY}?h=id&s=end_epoch" | tail -n 1)}}"\n'
            'test -n "$snapshot" || { echo "no snapshot in the repository"; exit 1; }\n'
            f'{curl} -X POST "{url}/_snapshot/{SNAPSHOT_REPOSITORY}/$snapshot/_restore?wait_for_completion=true" '
            f"-H 'Content-Type: application/json' -d '{body}'\n"
        )
        job = jobs.setup_job_spec(
            "elasticsearch-restore",
            versions.CURL_IMAGE,
            script,
            placement=nodes,
            env=[pods.secret_env("ES_PASSWORD", f"{ES_NAME}-es-elastic-user", "elastic"), {"name": "SNAPSHOT", "value": ""}],
            volumes=[{"name": "ca", "secret": {"secretName": f"{ES_NAME}-es-http-certs-public"}}],
            mounts=[{"name": "ca", "mountPath": "/ca", "readOnly": True}],
        )
        k8s.batch.v1.CronJob(
            f"{name}-snapshot-restore",
            metadata={"namespace": NAMESPACE, "name": "elasticsearch-restore", "labels": pods.labels("elasticsearch-restore")},
            spec=pods.as_input(
                k8s.batch.v1.CronJobSpecArgs,
                {
                    "schedule": jobs.MANUAL_SCHEDULE,
                    "timeZone": "Etc/UTC",
                    "suspend": True,
                    "concurrencyPolicy": "Forbid",
                    # One attempt: a half-done restore is inspected, not retried over itself.
                    "jobTemplate": {
                        "spec": {
                            **job,
                            "backoffLimit": 0,
                            "template": {**job["template"], "spec": {**job["template"]["spec"], "restartPolicy": "Never"}},
                        }
                    },
                },
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.elasticsearch])),
        )

    def _snapshot_job(
        self, name: str, es: ElasticsearchConfig, bucket: pulumi.Input[str], nodes: NodePlacement, opts: pulumi.ResourceOptions
    ) -> None:
        """ECK leaves snapshot repositories and index lifecycles to the cluster's API: a one-shot Job registers the
        repository, the snapshot policy and the retention policies. Its name carries a hash of all of them, so a changed
        schedule, retention or bucket runs a new Job."""

        def job_spec(bucket_name: str) -> dict:
            repository = json.dumps(repository_settings(bucket_name))
            policy = json.dumps(slm_policy(es))
            url = f"https://{ES_NAME}-es-http:{ES_PORT}"
            curl = 'curl -sS --fail-with-body --retry 30 --retry-all-errors --retry-delay 10 --cacert /ca/ca.crt -u "elastic:$ES_PASSWORD"'
            requests = [(f"_snapshot/{SNAPSHOT_REPOSITORY}", repository), ("_slm/policy/nightly", policy)]
            requests += [(path, json.dumps(body)) for path, body in retention_requests(es)]
            script = "set -e\n" + "".join(
                f"{curl} -X PUT '{url}/{path}' -H 'Content-Type: application/json' -d '{body}'\n" for path, body in requests
            )
            return jobs.setup_job_spec(
                "elasticsearch-snapshot-setup",
                versions.CURL_IMAGE,
                script,
                placement=nodes,
                env=[pods.secret_env("ES_PASSWORD", f"{ES_NAME}-es-elastic-user", "elastic")],
                volumes=[{"name": "ca", "secret": {"secretName": f"{ES_NAME}-es-http-certs-public"}}],
                mounts=[{"name": "ca", "mountPath": "/ca", "readOnly": True}],
            )

        spec = pulumi.Output.from_input(bucket).apply(job_spec)
        digest = hashlib.sha256(json.dumps([repository_settings("-"), slm_policy(es), retention_requests(es)]).encode()).hexdigest()[:8]
        k8s.batch.v1.Job(
            f"{name}-snapshot-setup",
            metadata=jobs.setup_job_metadata(NAMESPACE, f"es-snapshot-setup-{digest}", "elasticsearch-snapshot-setup"),
            spec=pods.as_input(k8s.batch.v1.JobSpecArgs, spec),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.elasticsearch])),
        )
