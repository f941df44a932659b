"""The `insight:onprem` section: where the stack lands on a cluster the customer already runs.

The onprem tier has no AWS estate: no network, cluster, node pools, edge or cost sections. It names what the
customer's cluster provides instead: its kubeconfig (a secret config value), a storage class, the LoadBalancer
class public services are reached through, and an S3-compatible backup store.
"""

import re
from collections.abc import Iterator

from pydantic import Field, field_validator

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


class BackupsConfig(Section):
    """An S3-compatible object store (MinIO, Ceph RGW, a cloud's S3): snapshots and dumps go there."""

    endpoint: str = Field(description="https://host[:port] of the S3 API")
    bucket: str
    region: str = "us-east-1"  # most S3-compatible stores accept any region; signatures still name one

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


class OnpremConfig(Section):
    kubernetes_version: str = Field(pattern=r"^1\.\d{2}$")  # the customer's cluster's minor: manifests are validated for it
    storage_class: str  # the customer's StorageClass for every persistent volume
    load_balancer_class: str  # public services as Services of type LoadBalancer of this class
    domain: str  # public services answer as <hostname>.<domain>
    registry: str  # where the customer pulls the service images from: <registry>/<service>:<release>
    backups: BackupsConfig

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
