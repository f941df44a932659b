"""MongoDB through MongoDB's operator (MCK): a replica set across zones, SCRAM users, nightly dumps to S3."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.handle import S3Client
from components.outputs import register_declared
from settings import versions
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import MongoDBConfig, metrics_annotations

from .. import pods
from . import jobs, s3
from .charts import pinned_chart
from .context import PlatformContext
from .foundations import ANYWHERE, allow_egress, allow_ingress, from_namespaces
from .secrets import app_secret, generated_password, secret

NAMESPACE = NAMESPACES["data"]
NAME = ENDPOINTS["mongodb"].service.removesuffix("-svc")  # MCK names the replica set Service <name>-svc
PORT = ENDPOINTS["mongodb"].port
METRICS_PORT = 9216
LABELS = {"app": ENDPOINTS["mongodb"].service}  # MCK's pod label
APP_USER, APP_DATABASE = "insight", "insight"
BACKUP_USER = "backup"
METRICS_USER = "metrics"  # not a database user: the login of the agent's metrics endpoint (spec.prometheus)
METRICS_SCRAPE_SECRET = f"{NAME}-metrics-scrape"
BACKUP_SERVICE_ACCOUNT = "mongodb-backup"
BACKUP_PREFIX = "mongodb"
RESTORE_USER = "restore"
RESTORE_SERVICE_ACCOUNT = "mongodb-restore"
RESTORE_CRONJOB = "mongodb-restore"
MONGODB_UID = 2000  # MCK's database images run as this uid
# The operator's pod label and webhook port (helm_chart/templates/operator.yaml, values.yaml; MDB_WEBHOOK_PORT default).
OPERATOR_LABELS = {"app.kubernetes.io/name": "mongodb-kubernetes-operator"}
OPERATOR_WEBHOOK_PORT = 1993


def user(name: str, roles: list[tuple[str, str]]) -> dict:
    return {
        "name": name,
        "db": "admin",
        "passwordSecretRef": {"name": f"{NAME}-{name}-password"},
        "roles": [{"name": role, "db": db} for role, db in roles],
        "scramCredentialsSecretName": f"{NAME}-{name}-scram",
    }


def volume_claim(name: str, gib: int, storage_class: str) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        },
    }


@dataclass(frozen=True)
class MongoDBArgs:
    config: MongoDBConfig
    metrics: pulumi.Resource | None = None  # the Prometheus chart, whose CRDs the PodMonitor needs


def metrics_pod_monitor() -> dict:
    """Prometheus scrapes the agent's metrics endpoint with its basic-auth login (the annotation job sends none)."""
    login = {"username": {"name": METRICS_SCRAPE_SECRET, "key": "username"}, "password": {"name": METRICS_SCRAPE_SECRET, "key": "password"}}
    return {
        "selector": {"matchLabels": LABELS},
        "podMetricsEndpoints": [{"portNumber": METRICS_PORT, "path": "/metrics", "basicAuth": login}],
    }


class MongoDB(pulumi.ComponentResource):
    def __init__(self, name: str, context: PlatformContext, args: MongoDBArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:MongoDB", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        # The operator watches its own namespace, where the replica set lives.
        self.operator = pinned_chart(
            f"{name}-operator",
            versions.MONGODB_OPERATOR,
            namespace=NAMESPACE,
            values={"operator": {"watchNamespace": NAMESPACE, "nodeSelector": pods.stable_selector(context.cluster.placement)}},
            opts=child,
        )
        passwords = {u: generated_password(f"{name}-{u}", self) for u in (APP_USER, BACKUP_USER, RESTORE_USER, METRICS_USER)}
        user_secrets = [secret(f"{NAME}-{u}-password", NAMESPACE, {"password": p}, child) for u, p in passwords.items()]
        app_secret("mongodb", {"username": APP_USER, "password": passwords[APP_USER]}, child)

        cfg = args.config
        prometheus = context.metrics_backend == "prometheus"
        self.replica_set = k8s.apiextensions.CustomResource(
            f"{name}-replica-set",
            api_version="mongodbcommunity.mongodb.com/v1",
            kind="MongoDBCommunity",
            metadata={"namespace": NAMESPACE, "name": NAME},
            spec={
                "type": "ReplicaSet",
                "members": cfg.replicas,
                "version": versions.MONGODB_VERSION,
                "security": {"authentication": {"modes": ["SCRAM"]}},
                "users": [
                    user(APP_USER, [("readWrite", APP_DATABASE), ("dbAdmin", APP_DATABASE)]),
                    user(BACKUP_USER, [("backup", "admin"), ("clusterMonitor", "admin")]),
                    user(RESTORE_USER, [("restore", "admin")]),
                ],
                "prometheus": {"username": METRICS_USER, "passwordSecretRef": {"name": f"{NAME}-{METRICS_USER}-password"}},
                "additionalMongodConfig": {"storage.wiredTiger.engineConfig.journalCompressor": "zstd"},
                "statefulSet": {
                    "spec": {
                        "template": {
                            # Prometheus scrapes through the PodMonitor below, with the endpoint's login.
                            "metadata": {
                                "annotations": {} if prometheus else metrics_annotations(context.metrics_backend, "mongod", METRICS_PORT)
                            },
                            "spec": {
                                "priorityClassName": pods.DATA_PRIORITY_CLASS,
                                **pods.stable_placement(context.cluster.placement),
                                "topologySpreadConstraints": pods.zone_spread(LABELS, cfg.replicas, context.cluster.placement),
                                "containers": [
                                    {
                                        "name": "mongod",
                                        "resources": pods.resources(cfg.resources),
                                        "securityContext": pods.container_security(),
                                        "startupProbe": pods.slow_start(pods.tcp_probe(PORT), minutes=10),
                                        "livenessProbe": pods.tcp_probe(PORT, period=20, failures=6),
                                    },
                                    {
                                        "name": "mongodb-agent",
                                        "resources": pods.small_resources("100m", "500m", "256Mi"),
                                        "securityContext": pods.container_security(),
                                    },
                                ],
                            },
                        },
                        "volumeClaimTemplates": [
                            volume_claim("data-volume", cfg.storage_gib, context.cluster.storage.data),
                            volume_claim("logs-volume", 2, context.cluster.storage.data),
                        ],
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, protect=context.protect, depends_on=[self.operator, *user_secrets, *context.ready]),
        )
        if cfg.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-mongodb",
                metadata={"namespace": NAMESPACE, "name": NAME},
                spec=pods.as_input(k8s.policy.v1.PodDisruptionBudgetSpecArgs, pods.pdb_spec(LABELS)),
                opts=child,
            )
        if prometheus:
            login = {"username": METRICS_USER, "password": passwords[METRICS_USER]}
            scrape_secret = secret(METRICS_SCRAPE_SECRET, NAMESPACE, login, child, type_="kubernetes.io/basic-auth")
            scraper = [args.metrics] if args.metrics else []
            k8s.apiextensions.CustomResource(
                f"{name}-pod-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata={"namespace": NAMESPACE, "name": NAME},
                spec=metrics_pod_monitor(),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[scrape_secret, *scraper, *context.ready]),
            )
        self._backup(name, cfg, context)
        allow_ingress("allow-mongodb-clients", NAMESPACE, LABELS, [PORT], from_namespaces(APPS_NAMESPACE), self)
        # The API server (outside the pod network) calls the operator's validating webhook.
        allow_ingress("allow-operator-webhook", NAMESPACE, OPERATOR_LABELS, [OPERATOR_WEBHOOK_PORT], [ANYWHERE], self)
        register_declared(self)  # nothing to declare: other components reach it by its contract names

    def _backup(self, name: str, cfg: MongoDBConfig, context: PlatformContext) -> None:
        """A consistent dump (--oplog) of the replica set, gzipped, copied to S3 under mongodb/<date>.archive.gz."""
        # The backup job only adds dumps under its prefix; expiry is the bucket's lifecycle rule.
        grant = context.cluster.identity.grant(
            f"{name}-backup",
            namespace=NAMESPACE,
            service_account=BACKUP_SERVICE_ACCOUNT,
            policy=context.cluster.backups.access_policy(BACKUP_PREFIX, read=False),
            tags={"component": "platform"},
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-backup",
            metadata={"namespace": NAMESPACE, "name": BACKUP_SERVICE_ACCOUNT, "annotations": grant.annotations},
            opts=pulumi.ResourceOptions(parent=self, depends_on=context.ready),
        )
        store = context.cluster.backups.client(f"{name}-backup-s3", NAMESPACE, self)
        labels = pods.labels("mongodb-backup")
        upload = f"s3://$(BUCKET)/{BACKUP_PREFIX}/"
        dump = {
            "name": "dump",
            "image": versions.MONGODB_TOOLS_IMAGE,
            "command": ["sh", "-c", 'mongodump --uri="$MONGODB_URI" --oplog --gzip --archive=/backup/dump.archive.gz'],
            "env": [pods.secret_env("MONGODB_URI", f"{NAME}-admin-{BACKUP_USER}", "connectionString.standard")],
            "resources": pods.small_resources("250m", "1", "512Mi"),
            "securityContext": pods.container_security(),
            "volumeMounts": [jobs.scratch_mount()],
        }
        # Dump first (init container), then upload what it wrote, as the pod's identity or with the store's key.
        k8s.batch.v1.CronJob(
            f"{name}-backup",
            metadata={"namespace": NAMESPACE, "name": "mongodb-backup", "labels": labels},
            spec=pods.as_input(
                k8s.batch.v1.CronJobSpecArgs,
                jobs.transfer_cronjob_spec(
                    "mongodb-backup",
                    cfg.backup_schedule,
                    placement=context.cluster.placement,
                    service_account=BACKUP_SERVICE_ACCOUNT,
                    uid=999,
                    first=dump,
                    then=jobs.aws_cli(
                        "upload",
                        s3.cli_setup(store) + f'aws s3 cp /backup/dump.archive.gz "{upload}$(date -u +%Y-%m-%dT%H%M%SZ).archive.gz"',
                        context.cluster.backups.bucket,
                        env=s3.cli_env(store),
                    ),
                    # The dump can be as large as the data: its own volume of the scratch class, not the node's disk.
                    scratch=pods.scratch_volume(jobs.SCRATCH_VOLUME, cfg.storage_gib, context.cluster.storage.scratch),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.replica_set]),
        )
        allow_egress("allow-mongodb-backup-s3", NAMESPACE, labels, [s3.egress(store)], self)
        self._restore(name, cfg, context, store)

    def _restore(self, name: str, cfg: MongoDBConfig, context: PlatformContext, store: S3Client) -> None:
        """The restore, declared but suspended: `kubectl create job --from=cronjob/mongodb-restore` runs it (README runbook).

        It downloads ARCHIVE (a key under mongodb/, the newest when empty) and replays it with --oplogReplay,
        dropping each collection it restores first."""
        grant = context.cluster.identity.grant(
            f"{name}-restore",
            namespace=NAMESPACE,
            service_account=RESTORE_SERVICE_ACCOUNT,
            policy=context.cluster.backups.access_policy(BACKUP_PREFIX, read=True),
            tags={"component": "platform"},
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-restore",
            metadata={"namespace": NAMESPACE, "name": RESTORE_SERVICE_ACCOUNT, "annotations": grant.annotations},
            opts=pulumi.ResourceOptions(parent=self, depends_on=context.ready),
        )
        download = (
            'key="${ARCHIVE:-$(aws s3 ls "s3://$(BUCKET)/' + BACKUP_PREFIX + "/\" | sort | tail -n 1 | awk '{print $4}')}\"\n"
            'test -n "$key" || { echo "no archive under s3://$(BUCKET)/' + BACKUP_PREFIX + '/"; exit 1; }\n'
            'aws s3 cp "s3://$(BUCKET)/' + BACKUP_PREFIX + '/${key##*/}" /backup/restore.archive.gz'
        )
        fetch = jobs.aws_cli(
            "download",
            "set -e\n" + s3.cli_setup(store) + download,
            context.cluster.backups.bucket,
            env=s3.cli_env(store),
            fills_scratch=True,
        )
        fetch["env"] = [*fetch["env"], {"name": "ARCHIVE", "value": ""}]
        replay = {
            "name": "restore",
            "image": versions.MONGODB_TOOLS_IMAGE,
            "command": ["sh", "-c", 'mongorestore --uri="$MONGODB_URI" --gzip --archive=/backup/restore.archive.gz --oplogReplay --drop'],
            "env": [pods.secret_env("MONGODB_URI", f"{NAME}-admin-{RESTORE_USER}", "connectionString.standard")],
            "resources": pods.small_resources("250m", "1", "512Mi"),
            "securityContext": pods.container_security(),
            "volumeMounts": [jobs.scratch_mount(read_only=True)],
        }
        labels = pods.labels(RESTORE_CRONJOB)
        k8s.batch.v1.CronJob(
            f"{name}-restore",
            metadata={"namespace": NAMESPACE, "name": RESTORE_CRONJOB, "labels": labels},
            spec=pods.as_input(
                k8s.batch.v1.CronJobSpecArgs,
                jobs.transfer_cronjob_spec(
                    RESTORE_CRONJOB,
                    jobs.MANUAL_SCHEDULE,
                    placement=context.cluster.placement,
                    service_account=RESTORE_SERVICE_ACCOUNT,
                    uid=999,
                    first=fetch,
                    then=replay,
                    scratch=pods.scratch_volume(jobs.SCRATCH_VOLUME, cfg.storage_gib, context.cluster.storage.scratch),
                    suspend=True,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.replica_set]),
        )
        allow_egress("allow-mongodb-restore-s3", NAMESPACE, labels, [s3.egress(store)], self)
