"""RabbitMQ through the RabbitMQ Cluster Operator: quorum queues by default, persistent, generated credentials."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.outputs import register_declared
from settings import versions
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import DataServiceConfig, metrics_annotations

from .. import pods
from . import jobs, s3
from .context import PlatformContext
from .foundations import allow_egress, allow_ingress, from_namespaces
from .secrets import app_secret, generated_password, secret, secrets_digest

NAMESPACE = NAMESPACES["messaging"]
NAME = ENDPOINTS["rabbitmq"].service  # the operator names the client Service after the cluster
AMQP_PORT = ENDPOINTS["rabbitmq"].port
MANAGEMENT_PORT = 15672
METRICS_PORT = 15692  # rabbitmq_prometheus, enabled by the operator
LABELS = {"app.kubernetes.io/name": NAME}
APP_USER = "insight"
OPERATOR_NAMESPACE = "rabbitmq-system"  # created by the operator's release manifest
EXPORT_PREFIX = "rabbitmq"
EXPORT_SERVICE_ACCOUNT = "rabbitmq-definitions-export"
# Definitions (users, vhosts, queues, exchanges, bindings, policies) change with deploys: hourly bounds their RPO.
EXPORT_SCHEDULE = "23 * * * *"
RABBITMQ_CONF = """default_queue_type = quorum
cluster_partition_handling = pause_minority
"""


def user_setup_script() -> str:
    """Create the services' user through the management API (idempotent PUTs), with rights on the default vhost."""
    curl = 'curl -sS --fail-with-body --retry 30 --retry-all-errors --retry-delay 10 -u "$ADMIN_USER:$ADMIN_PASSWORD" -H "Content-Type: application/json"'
    api = f"http://{NAME}:{MANAGEMENT_PORT}/api"
    return (
        "set -e\n"
        f'{curl} -X PUT {api}/users/{APP_USER} -d "{{\\"password\\": \\"$APP_PASSWORD\\", \\"tags\\": \\"\\"}}"\n'
        f'{curl} -X PUT {api}/permissions/%2F/{APP_USER} -d \'{{"configure": ".*", "write": ".*", "read": ".*"}}\'\n'
    )


def rabbitmq_security() -> dict:
    """The operator runs RabbitMQ as uid 999; the image writes its Erlang cookie and state outside the mounted volumes."""
    return pods.container_security(read_only_root=False)


@dataclass(frozen=True)
class MessagingArgs:
    config: DataServiceConfig


class Messaging(pulumi.ComponentResource):
    def __init__(self, name: str, context: PlatformContext, args: MessagingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:platform:Messaging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=context.ready)
        # The operator publishes no chart of its own: its pinned release manifest (CRDs, RBAC, Deployment).
        self.operator = k8s.yaml.v2.ConfigFile(f"{name}-rabbitmq-operator", file=versions.RABBITMQ_OPERATOR_MANIFEST, opts=child)
        cfg = args.config
        self.cluster = k8s.apiextensions.CustomResource(
            f"{name}-rabbitmq",
            api_version="rabbitmq.com/v1beta1",
            kind="RabbitmqCluster",
            metadata={"namespace": NAMESPACE, "name": NAME},
            spec={
                "replicas": cfg.replicas,
                "image": versions.RABBITMQ_IMAGE,
                "resources": pods.resources(cfg.resources),
                "persistence": {"storageClassName": context.cluster.storage.data, "storage": f"{cfg.storage_gib}Gi"},
                **pods.stable_placement(context.cluster.placement),
                "rabbitmq": {"additionalConfig": RABBITMQ_CONF},
                "override": {
                    "statefulSet": {
                        "spec": {
                            "template": {
                                "metadata": {"annotations": metrics_annotations(context.metrics_backend, "rabbitmq", METRICS_PORT)},
                                "spec": {
                                    "priorityClassName": pods.DATA_PRIORITY_CLASS,
                                    "topologySpreadConstraints": pods.zone_spread(LABELS, cfg.replicas, context.cluster.placement),
                                    "securityContext": pods.pod_security(None),  # the operator runs RabbitMQ as uid 999
                                    "containers": [
                                        {
                                            "name": "rabbitmq",
                                            "securityContext": rabbitmq_security(),
                                            "startupProbe": pods.slow_start(pods.tcp_probe(AMQP_PORT)),
                                            "livenessProbe": pods.exec_probe(["rabbitmq-diagnostics", "-q", "ping"], period=30, timeout=20),
                                        }
                                    ],
                                    "initContainers": [{"name": "setup-container", "securityContext": rabbitmq_security()}],
                                },
                            }
                        }
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, protect=context.protect, depends_on=[self.operator, *context.ready]),
        )
        if cfg.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-rabbitmq",
                metadata={"namespace": NAMESPACE, "name": NAME},
                spec=pods.as_input(k8s.policy.v1.PodDisruptionBudgetSpecArgs, pods.pdb_spec(LABELS)),
                opts=child,
            )

        password = generated_password(f"{name}-rabbitmq-app", self)
        own = secret("rabbitmq-app-user", NAMESPACE, {"username": APP_USER, "password": password}, child)
        app_secret("rabbitmq", {"username": APP_USER, "password": password}, child)
        k8s.batch.v1.Job(
            f"{name}-rabbitmq-user",
            # Named by the password's digest: a rotated password is a new Job that sets it in RabbitMQ (a Job's
            # template cannot change in place); the old one is deleted after the new one is created.
            metadata=jobs.setup_job_metadata(
                NAMESPACE,
                secrets_digest({"password": password}).apply(lambda d: f"rabbitmq-user-{APP_USER}-{d[:8]}"),
                "rabbitmq-user-setup",
            ),
            spec=pods.as_input(
                k8s.batch.v1.JobSpecArgs,
                jobs.setup_job_spec(
                    "rabbitmq-user-setup",
                    versions.CURL_IMAGE,
                    user_setup_script(),
                    placement=context.cluster.placement,
                    env=[
                        pods.secret_env("ADMIN_USER", f"{NAME}-default-user", "username"),
                        pods.secret_env("ADMIN_PASSWORD", f"{NAME}-default-user", "password"),
                        pods.secret_env("APP_PASSWORD", "rabbitmq-app-user", "password"),
                    ],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, own, *context.ready]),
        )
        self._export_definitions(name, context)
        allow_ingress("allow-rabbitmq-clients", NAMESPACE, LABELS, [AMQP_PORT], from_namespaces(APPS_NAMESPACE), self)
        allow_ingress("allow-rabbitmq-operator", NAMESPACE, LABELS, [MANAGEMENT_PORT], from_namespaces(OPERATOR_NAMESPACE), self)
        register_declared(self)  # nothing to declare: other components reach it by its contract names

    def _export_definitions(self, name: str, context: PlatformContext) -> None:
        """The broker's definitions (GET /api/definitions) to S3 under rabbitmq/, restorable with POST /api/definitions.

        Messages in flight are not backed up: quorum queues replicate them, and producers retry (README runbook)."""
        grant = context.cluster.identity.grant(
            f"{name}-definitions-export",
            namespace=NAMESPACE,
            service_account=EXPORT_SERVICE_ACCOUNT,
            policy=context.cluster.backups.access_policy(EXPORT_PREFIX, read=False),
            tags={"component": "platform"},
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-definitions-export",
            metadata={"namespace": NAMESPACE, "name": EXPORT_SERVICE_ACCOUNT, "annotations": grant.annotations},
            opts=pulumi.ResourceOptions(parent=self, depends_on=context.ready),
        )
        export = {
            "name": "export",
            "image": versions.CURL_IMAGE,
            "command": [
                "sh",
                "-c",
                'curl -sS --fail-with-body --retry 5 --retry-all-errors -u "$ADMIN_USER:$ADMIN_PASSWORD" '
                f"-o /backup/definitions.json http://{NAME}:{MANAGEMENT_PORT}/api/definitions",
            ],
            "env": [
                pods.secret_env("ADMIN_USER", f"{NAME}-default-user", "username"),
                pods.secret_env("ADMIN_PASSWORD", f"{NAME}-default-user", "password"),
            ],
            "resources": pods.small_resources(),
            "securityContext": pods.container_security(),
            "volumeMounts": [jobs.scratch_mount()],
        }
        store = context.cluster.backups.client(f"{name}-definitions-s3", NAMESPACE, self)
        upload = (
            s3.cli_setup(store)
            + f'aws s3 cp /backup/definitions.json "s3://$(BUCKET)/{EXPORT_PREFIX}/definitions-$(date -u +%Y-%m-%dT%H%M%SZ).json"'
        )
        labels = pods.labels("rabbitmq-definitions-export")
        k8s.batch.v1.CronJob(
            f"{name}-definitions-export",
            metadata={"namespace": NAMESPACE, "name": "rabbitmq-definitions-export", "labels": labels},
            spec=pods.as_input(
                k8s.batch.v1.CronJobSpecArgs,
                jobs.transfer_cronjob_spec(
                    "rabbitmq-definitions-export",
                    EXPORT_SCHEDULE,
                    placement=context.cluster.placement,
                    service_account=EXPORT_SERVICE_ACCOUNT,
                    uid=999,
                    first=export,
                    then=jobs.aws_cli("upload", upload, context.cluster.backups.bucket, env=s3.cli_env(store)),
                    # One small JSON file: the node's disk is room enough.
                    scratch={"name": jobs.SCRATCH_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}},
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
        )
        allow_egress("allow-rabbitmq-export-s3", NAMESPACE, labels, [s3.egress(store)], self)
