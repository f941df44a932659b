"""The `insight:onprem` section: where the stack lands on a cluster the customer already runs.

The onprem tier has no AWS estate: no network, cluster, node pools, edge or cost sections. It names what the
customer's cluster provides instead: its kubeconfig (a secret config value), a storage class, the LoadBalancer
class public services are reached through, an S3-compatible backup store, and the nodes set apart for data or for
interruption-tolerant pods, if any.
"""

import re
from collections.abc import Iterator
from ipaddress import IPv4Network

from pydantic import Field, ValidationInfo, field_validator

from delivery.release import ReleaseError, parse_version

from .base import Section
from .errors import Problem
from .release import ReleaseConfig

ONPREM = "onprem"
# Secret config values of the onprem tier (`pulumi config set --secret insight:<key>`), never parsed into the model.
KUBECONFIG_SECRET = "kubeconfig"
BACKUPS_ACCESS_KEY_SECRET = "backupsAccessKeyId"
BACKUPS_SECRET_KEY_SECRET = "backupsSecretAccessKey"
ONPREM_SECRET_KEYS = (KUBECONFIG_SECRET, BACKUPS_ACCESS_KEY_SECRET, BACKUPS_SECRET_KEY_SECRET)

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_CLASS_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")  # e.g. io.cilium/l2-announcer
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Kubernetes label keys ([prefix/]name) and values (apimachinery validation.IsQualifiedName, IsValidLabelValue).
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")


def _node_labels(value: dict[str, str]) -> dict[str, str]:
    for key, label in value.items():
        if not _LABEL_KEY.match(key):
            raise ValueError(f"{key!r} is not a node label key such as example.com/pool or node-role")
        if not _LABEL_VALUE.match(label):
            raise ValueError(f"{key}: {label!r} is not a label value (at most 63 characters a-z, A-Z, 0-9, '-', '_', '.')")
    return value


class StableNodesConfig(Section):
    """The customer's nodes that are not taken away at short notice: the data tier and every pod that does not
    tolerate interruption require them."""

    match_labels: dict[str, str] = Field(min_length=1, description="node labels the stable nodes carry, e.g. {example.com/pool: stable}")

    _labels = field_validator("match_labels")(_node_labels)


class NodeTaintConfig(Section):
    key: str = Field(description="the taint's key")
    value: str = Field(default="true", description="the taint's value")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _LABEL_KEY.match(value):
            raise ValueError("not a taint key such as example.com/spot")
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        if not _LABEL_VALUE.match(value):
            raise ValueError("not a taint value (at most 63 characters a-z, A-Z, 0-9, '-', '_', '.')")
        return value


class InterruptibleNodesConfig(Section):
    """Nodes that may be taken away at short notice (spot or preemptible VMs): only pods that tolerate interruption
    may land there; they prefer them."""

    match_labels: dict[str, str] = Field(
        default_factory=dict, description="node labels the interruptible nodes carry: preferred by the pods that tolerate interruption"
    )
    taint: NodeTaintConfig | None = Field(
        default=None, description="the NoSchedule taint the interruptible nodes carry: tolerated by those pods only (none: no toleration)"
    )

    _labels = field_validator("match_labels")(_node_labels)


class BackupsConfig(Section):
    """An S3-compatible object store (MinIO, Ceph RGW, a cloud's S3): snapshots and dumps go there."""

    endpoint: str = Field(description="https://host[:port] of the S3 API")
    bucket: str = Field(description="the bucket snapshots and dumps go to")
    # Most S3-compatible stores accept any region; signatures still name one.
    region: str = Field(default="us-east-1", description="the region request signatures name")

    @field_validator("endpoint")
    @classmethod
    def _https(cls, value: str) -> str:
        if not re.match(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/?$", value):
            raise ValueError("not an https://host[:port] URL of an S3 API (credentials travel on it: plain http is refused)")
        return value.rstrip("/")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value):
            raise ValueError("not an S3 bucket name: 3-63 characters a-z, 0-9, '.' and '-'")
        return value

    @property
    def port(self) -> int:
        """The port the endpoint listens on: backup writers' egress goes there."""
        _, _, port = self.endpoint.removeprefix("https://").partition(":")
        return int(port) if port else 443


class OnpremConfig(Section):
    kubernetes_version: str = Field(
        pattern=r"^1\.\d{2}$", description="the customer's cluster's minor version: manifests are validated for it"
    )
    storage_class: str = Field(description="the customer's StorageClass for every persistent volume")
    load_balancer_class: str = Field(description="public services are Services of type LoadBalancer of this class")
    domain: str = Field(description="public services answer as `<hostname>.<domain>`")
    registry: str = Field(description="where the service images are pulled from: `<registry>/<service>:<release>`")
    backups: BackupsConfig = Field(description="the S3-compatible store for snapshots and dumps")
    cluster_network: IPv4Network = Field(
        description="the customer's node and control-plane addresses (CIDR): where the API server calls webhooks "
        "from and kubelets answer; the traffic judge checks those flows against it"
    )
    stable_nodes: StableNodesConfig | None = Field(
        default=None,
        description="the nodes the data tier and every pod that does not tolerate interruption must run on (none: any node of the cluster)",
    )
    interruptible_nodes: InterruptibleNodesConfig | None = Field(
        default=None, description="spot or preemptible nodes only pods that tolerate interruption may use (none: the cluster has none)"
    )
    zone_labels: bool = Field(
        default=False,
        description="the nodes carry topology.kubernetes.io/zone: replicas spread across zones, hard (false: across nodes "
        "only; the scheduler refuses every node without the label to a pod spread hard by zone)",
    )

    @field_validator("interruptible_nodes")
    @classmethod
    def _kept_apart(cls, value: InterruptibleNodesConfig | None, info: ValidationInfo) -> InterruptibleNodesConfig | None:
        if value is not None and value.taint is None and info.data.get("stable_nodes") is None:
            raise ValueError("interruptibleNodes without a taint needs stableNodes: else the data tier may be scheduled onto them")
        return value

    @field_validator("storage_class", "load_balancer_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if not _CLASS_NAME.match(value):
            raise ValueError("not a Kubernetes class name such as standard, nginx or example.com/lb")
        return value

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(/[a-z0-9._-]+)*$", value):
            raise ValueError("not an image registry and path such as registry.customer.example/insight")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _DNS_SUBDOMAIN.match(value) or "." not in value:
            raise ValueError("not a DNS domain such as insight.customer.example")
        return value


def check_onprem_release(release: ReleaseConfig) -> Iterator[Problem]:
    """Customers run final releases only (x.y.z): the bundle and the stack ship what prod has run."""
    try:
        version = parse_version(release.version)
    except ReleaseError as err:
        yield Problem("release.version", release.version, str(err))
        return
    if version.kind != "final":
        yield Problem("release.version", release.version, "onprem takes final releases only: x.y.z")
