"""The second producer of the cluster handle: a Kubernetes cluster the customer already runs (no AWS at all).

The kubeconfig is a secret config value; workloads get credentials from Kubernetes Secrets instead of cloud
identities; backups go to an S3-compatible store named in the stack file; public services are Services of the
LoadBalancer class the stack file names.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from catalog import Catalog
from components.handle import (
    ACCESS_KEY_ID_KEY,
    SECRET_ACCESS_KEY_KEY,
    ClusterHandle,
    Grant,
    NodePlacement,
    NodeTaint,
    S3Client,
    StorageClasses,
    kubernetes_provider_options,
)
from settings import PROJECT, OnpremStackConfig
from settings.onprem import BACKUPS_ACCESS_KEY_SECRET, BACKUPS_SECRET_KEY_SECRET, KUBECONFIG_SECRET, BackupsConfig, OnpremConfig

BACKUPS_CREDENTIALS = "backups-s3-credentials"  # the Secret each backup writer's namespace gets


@dataclass(frozen=True)
class SecretIdentity:
    """No cloud identity: a service account carries no annotation; what it may reach is granted by a Secret it mounts."""

    def grant(
        self,
        name: str,
        *,
        namespace: str,
        service_account: str,
        policy: pulumi.Input[str] | None,
        tags: Mapping[str, str],
        parent: pulumi.Resource,
    ) -> Grant:
        return Grant(annotations={}, principal=None)


def s3_prefix_policy(bucket: str, prefix: str, read: bool) -> str:
    """The policy to attach to the store's access key (MinIO and Ceph RGW take S3 bucket policies): its prefix only."""
    arn = f"arn:aws:s3:::{bucket}"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload", *(["s3:GetObject", "s3:DeleteObject"] if read else [])]
    statements = [{"Effect": "Allow", "Action": actions, "Resource": f"{arn}/{prefix}/*"}]
    if read:
        statements.append(
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn, "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}}}
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class S3CompatibleStore:
    """The customer's S3-compatible store, reached with the access key the stack's secret config values hold."""

    config: BackupsConfig

    @property
    def bucket(self) -> str:
        return self.config.bucket

    def client(self, name: str, namespace: str, parent: pulumi.Resource) -> S3Client:
        keys = pulumi.Config(PROJECT)
        k8s.core.v1.Secret(
            name,
            metadata={"namespace": namespace, "name": BACKUPS_CREDENTIALS},
            type="Opaque",
            string_data={
                ACCESS_KEY_ID_KEY: keys.require_secret(BACKUPS_ACCESS_KEY_SECRET),
                SECRET_ACCESS_KEY_KEY: keys.require_secret(BACKUPS_SECRET_KEY_SECRET),
            },
            opts=pulumi.ResourceOptions(parent=parent),
        )
        store = self.config
        return S3Client(endpoint=store.endpoint, region=store.region, credentials_secret=BACKUPS_CREDENTIALS, port=store.port)

    def access_policy(self, prefix: str, *, read: bool) -> str:
        return s3_prefix_policy(self.config.bucket, prefix, read)


@dataclass(frozen=True)
class ClassEdge:
    """Public services as Services of the customer's LoadBalancer class; their DNS names are the customer's to publish."""

    load_balancer_class: str
    domain: str

    def load_balancer_annotations(self, service: str, health_port: int, health_path: str) -> Mapping[str, str]:
        return {}

    def publish(self, name: str, hostname: str, target: pulumi.Input[str], parent: pulumi.Resource) -> pulumi.Output[str]:
        return pulumi.Output.from_input(f"{hostname}.{self.domain}")


def node_placement(onprem: OnpremConfig) -> NodePlacement:
    """The nodes the stack file names; none named: any node, and no pod tolerates a taint it was not told of."""
    stable, interruptible = onprem.stable_nodes, onprem.interruptible_nodes
    taint = interruptible.taint if interruptible is not None else None
    return NodePlacement(
        stable=dict(stable.match_labels) if stable is not None else {},
        interruptible=dict(interruptible.match_labels) if interruptible is not None else {},
        interruptible_taint=NodeTaint(taint.key, taint.value) if taint is not None else None,
        zones=onprem.zone_labels,
    )


def existing_cluster(cfg: OnpremStackConfig, catalog: Catalog) -> ClusterHandle:
    kubeconfig = pulumi.Config(PROJECT).require_secret(KUBECONFIG_SECRET)
    provider = k8s.Provider("kubernetes", **kubernetes_provider_options(cfg.cluster_name, kubeconfig))
    onprem = cfg.onprem
    return ClusterHandle(
        name=cfg.cluster_name,
        providers=[provider],
        identity=SecretIdentity(),
        backups=S3CompatibleStore(onprem.backups),
        # Data and scratch volumes on the customer's class: its provisioner and reclaim policy are the customer's.
        storage=StorageClasses(data=onprem.storage_class, scratch=onprem.storage_class, provisioner=None),
        images={s.name: f"{onprem.registry}/{s.name}" for s in catalog.services},
        edge=ClassEdge(onprem.load_balancer_class, onprem.domain),
        controllers=None,  # the customer runs its own load balancer and node controllers
        placement=node_placement(onprem),
    )
