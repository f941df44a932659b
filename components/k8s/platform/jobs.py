"""Platform-only Job builders: one-shot setup Jobs and the backup/restore CronJobs of the data tier.

Their pods are made of the shared pieces in components/k8s/pods.py.
"""

import pulumi
from pulumi_kubernetes.meta.v1 import ObjectMetaArgsDict

from components.handle import NodePlacement
from settings import versions

from ..pods import Obj, container_security, interruptible_placement, labels, pod_security, small_resources


def setup_job_metadata(namespace: str, name: pulumi.Input[str], app: str) -> ObjectMetaArgsDict:
    """A one-shot setup Job retries on its own until the service it configures answers; `pulumi up` does not
    wait for it, or every greenfield deploy would also wait for that service's bootstrap."""
    return {"namespace": namespace, "name": name, "labels": labels(app), "annotations": {"pulumi.com/skipAwait": "true"}}


def setup_job_spec(
    app: str, image: str, script: str, *, placement: NodePlacement, env: list[Obj], volumes: list[Obj] = [], mounts: list[Obj] = []
) -> Obj:
    """The pod of a setup Job: one locked-down shell step, on any node (interruptible ones preferred), retried with backoff."""
    return {
        "backoffLimit": 6,
        "template": {
            "metadata": {"labels": labels(app)},
            "spec": {
                "restartPolicy": "OnFailure",
                "automountServiceAccountToken": False,
                **interruptible_placement(placement),
                "securityContext": pod_security(100),
                "containers": [
                    {
                        "name": app,
                        "image": image,
                        "command": ["sh", "-c", script],
                        "env": env,
                        "resources": small_resources(),
                        "securityContext": container_security(),
                        **({"volumeMounts": mounts} if mounts else {}),
                    }
                ],
                **({"volumes": volumes} if volumes else {}),
            },
        },
    }


# A restore is declared as a suspended CronJob and never fires on its own; cron still requires a schedule.
MANUAL_SCHEDULE = "0 0 1 1 *"


SCRATCH_VOLUME = "backup"  # the volume a transfer's two steps share, mounted at /backup


def scratch_mount(read_only: bool = False) -> Obj:
    return {"name": SCRATCH_VOLUME, "mountPath": "/backup", **({"readOnly": True} if read_only else {})}


def aws_cli(name: str, script: str, bucket: pulumi.Input[str], *, env: list[Obj] = [], fills_scratch: bool = False) -> Obj:
    """A container moving files between the scratch volume and the backup store: as the pod's identity, or with the
    store's endpoint and key in `env` (components/k8s/platform/s3.py)."""
    return {
        "name": name,
        "image": versions.AWS_CLI_IMAGE,
        "command": ["sh", "-c", script],
        "env": [{"name": "BUCKET", "value": bucket}, {"name": "HOME", "value": "/tmp"}, *env],
        "resources": small_resources("100m", "500m", "256Mi"),
        "securityContext": container_security(),
        "volumeMounts": [scratch_mount(read_only=not fills_scratch), {"name": "tmp", "mountPath": "/tmp"}],
    }


def transfer_cronjob_spec(
    app: str,
    schedule: str,
    *,
    placement: NodePlacement,
    service_account: str,
    uid: int,
    first: Obj,
    then: Obj,
    scratch: Obj,
    suspend: bool = False,
) -> Obj:
    """A backup or restore in two steps sharing the volume `scratch` (named as scratch_mount mounts it: a
    scratch_volume for a dump, an emptyDir for a small file): `first` (an init container) runs to completion,
    then `then`. A suspended one runs only when started by hand (`kubectl create job --from=cronjob/<name>`)."""
    labels_ = labels(app)
    return {
        "schedule": schedule,
        "timeZone": "Etc/UTC",
        **({"suspend": True} if suspend else {}),
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 4 * 3600,
                "template": {
                    "metadata": {"labels": labels_},
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": False,
                        "serviceAccountName": service_account,
                        **interruptible_placement(placement),
                        "securityContext": pod_security(uid),
                        "initContainers": [first],
                        "containers": [then],
                        "volumes": [scratch, {"name": "tmp", "emptyDir": {}}],
                    },
                },
            }
        },
    }
