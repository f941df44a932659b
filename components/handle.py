"""The one seam between the layers: all that the Kubernetes layer receives from whoever provides the cluster.

The AWS layer produces a handle for EKS (`components/aws/handle.py`); a target without AWS produces its own.
The Kubernetes layer reads only the types below, never a module of the AWS layer.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi


@dataclass(frozen=True)
class Grant:
    """What a service account needs so that its pods act as a cloud identity."""

    annotations: Mapping[str, pulumi.Input[str]]  # on the ServiceAccount
    principal: pulumi.Input[str] | None  # the identity pods act as (an IAM role ARN), for outputs


class WorkloadIdentity(Protocol):
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
        """An identity for one service account with exactly `policy` (None: no cloud permissions)."""
        ...


@dataclass(frozen=True)
class S3Client:
    """What an S3 client in a pod needs beyond the bucket. Unset fields: AWS's own S3, reached as the pod's identity."""

    endpoint: str | None = None  # https://host[:port] of an S3-compatible API
    region: str | None = None
    credentials_secret: str | None = None  # a Secret in the pod's namespace holding ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY
    port: int = 443  # where the pods' egress goes

    @property
    def path_style(self) -> bool:
        """S3-compatible stores address buckets in the path; AWS's S3 by virtual host."""
        return self.endpoint is not None


ACCESS_KEY_ID_KEY = "access-key-id"
SECRET_ACCESS_KEY_KEY = "secret-access-key"


class BackupStore(Protocol):
    """Where snapshots and dumps go: a bucket, each writer under its own prefix."""

    @property
    def bucket(self) -> pulumi.Input[str]: ...

    def client(self, name: str, namespace: str, parent: pulumi.Resource) -> S3Client:
        """How pods in `namespace` reach the store (declaring under `name` whatever credentials they need there)."""
        ...

    def access_policy(self, prefix: str, *, read: bool) -> pulumi.Input[str]:
        """The permissions of a writer under `prefix`; `read` also lets it list, read and delete there."""
        ...


class PublicEdge(Protocol):
    """How a public service is reached from the internet: its load balancer and its DNS name."""

    @property
    def load_balancer_class(self) -> str: ...

    def load_balancer_annotations(self, service: str, health_port: int, health_path: str) -> pulumi.Input[Mapping[str, str]]:
        """The public load balancer of `service`, health-checked on its admin port."""
        ...

    def publish(self, name: str, hostname: str, target: pulumi.Input[str], parent: pulumi.Resource) -> pulumi.Output[str]:
        """Point `hostname` (a label under the stack's domain) at `target`; the fully qualified name."""
        ...


@dataclass(frozen=True)
class NodeTaint:
    """A NoSchedule taint on nodes: only pods tolerating it land there."""

    key: str
    value: str


@dataclass(frozen=True)
class NodePlacement:
    """Which nodes pods go to: stable capacity for what must not be interrupted, interruptible capacity for the rest.

    `stable` holds the node labels the data tier and every pod that does not tolerate interruption require
    (empty: any node). Pods that tolerate interruption prefer nodes with the `interruptible` labels (empty: no
    preference) and tolerate `interruptible_taint`, the taint keeping every other pod off them (None: no such nodes)."""

    stable: Mapping[str, str] = field(default_factory=dict)
    interruptible: Mapping[str, str] = field(default_factory=dict)
    interruptible_taint: NodeTaint | None = None
    # The nodes carry topology.kubernetes.io/zone. The scheduler refuses a node without the key to a pod with a hard
    # spread constraint on it (kube-scheduler podtopologyspread: ErrReasonNodeLabelNotMatch), so without zones pods
    # spread across nodes only.
    zones: bool = True


@dataclass(frozen=True)
class CloudControllers:
    """What the cloud's in-cluster controllers (load balancers, node autoscaling) need beside the cluster's name."""

    region: str
    vpc_id: pulumi.Input[str]


@dataclass(frozen=True)
class VolumeProvisioner:
    """A CSI driver and its parameters: the platform declares its own data and scratch classes with it."""

    driver: str
    parameters: Mapping[str, pulumi.Input[str]]  # outputs too: a key the producer declares (the EBS driver's kmsKeyId)


@dataclass(frozen=True)
class StorageClasses:
    data: str  # every persistent volume claim
    scratch: str  # generic ephemeral volumes (dumps, mirrors), deleted with their pod
    provisioner: VolumeProvisioner | None  # None: the classes are the cluster owner's, named, never declared


@dataclass(frozen=True)
class ClusterHandle:
    name: str  # the cluster's name, as its controllers and agents report it
    # Every provider the Kubernetes layer's resources use, the `kubernetes` one among them; passed on unread.
    providers: Sequence[pulumi.ProviderResource]
    identity: WorkloadIdentity
    backups: BackupStore
    storage: StorageClasses
    images: Mapping[str, pulumi.Input[str]]  # image repository per catalog service
    edge: PublicEdge | None  # None: nothing of this stack is public
    controllers: CloudControllers | None  # None: the cluster's owner runs its own
    placement: NodePlacement  # which nodes the data tier and the interruption-tolerant pods go to

    def options(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=list(self.providers), depends_on=list(depends_on))


def kubernetes_provider_options(cluster_name: str, kubeconfig: pulumi.Input[str]) -> dict[str, Any]:
    """The Kubernetes provider of either producer: every behaviour set here, none left to the PULUMI_K8S_*
    environment of whoever runs pulumi.

    - cluster_identifier: the provider (and all it manages) is replaced only when the cluster itself changes,
      not when the kubeconfig's token or endpoint text does; so a kubeconfig pointed at another cluster under the
      same name replaces nothing (pulumi-kubernetes provider.go DiffConfig, v4.32.0): a new cluster gets a new name.
    - mutable ConfigMaps and Secrets: a data change is an update in place that rolls pods through the hash
      annotations, not a delete-before-replace of an explicitly named object (delivery/diff.py).
    """
    return {
        "kubeconfig": kubeconfig,
        "cluster_identifier": cluster_name,
        "enable_server_side_apply": True,
        "enable_config_map_mutable": True,
        "enable_secret_mutable": True,
        "delete_unreachable": False,
    }
