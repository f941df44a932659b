"""A service's pods: ConfigMap, Deployment or StatefulSet, autoscaler and disruption budget, from its ServiceSpec."""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.apps.v1 import DeploymentSpecArgs, StatefulSetSpecArgs
from pulumi_kubernetes.core.v1 import ServicePortArgs, ServiceSpecArgs
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
from pulumi_kubernetes.policy.v1 import PodDisruptionBudgetSpecArgs

from catalog import ServiceSpec
from catalog.model import Probe
from components.handle import NodePlacement, StorageClasses
from settings.endpoints import APPS_NAMESPACE
from settings.platform import MetricsBackend, metrics_annotations

from .. import pods
from ..pods import NAME_LABEL, Obj

CONFIG_HASH_ANNOTATION = "insight.io/config-hash"
CONFIG_DIR = "/etc/insight"
RUN_AS = 10001  # the images' non-root user
# A terminating pod keeps serving while its endpoint leaves the load balancer's targets and every kube-proxy;
# SIGTERM comes after. The grace period leaves the service its own shutdown time on top.
PRE_STOP_SECONDS = 15
SHUTDOWN_SECONDS = 30


def labels(spec: ServiceSpec, version: str) -> dict[str, str]:
    return pods.labels(spec.name, part_of=pods.APPS_PART_OF, version=version)


def selector(spec: ServiceSpec) -> dict[str, str]:
    return {NAME_LABEL: spec.name}


def object_metadata(spec: ServiceSpec, version: str, object_name: str, annotations: Any = None) -> ObjectMetaArgs:
    return ObjectMetaArgs(name=object_name, namespace=APPS_NAMESPACE, labels=labels(spec, version), annotations=annotations)


def placement(spec: ServiceSpec, nodes: NodePlacement) -> Obj:
    """Spot-tolerant services tolerate the interruptible nodes' taint and prefer them; the rest require stable nodes."""
    if spec.deploy.spot_tolerant:
        return pods.interruptible_placement(nodes)
    return pods.stable_placement(nodes)


def _probe(probe: Probe, port: str) -> Obj:
    return pods.http_probe(port, probe.path, probe.period_seconds, probe.failure_threshold, initial=probe.initial_delay_seconds)


def config_map_name(spec: ServiceSpec) -> str:
    return f"{spec.name}-config"


def config_map(name: str, spec: ServiceSpec, version: str, parent: pulumi.Resource) -> k8s.core.v1.ConfigMap:
    return k8s.core.v1.ConfigMap(
        f"{name}-config",
        metadata=object_metadata(spec, version, config_map_name(spec)),
        data={"application.conf": spec.application_conf},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _container(spec: ServiceSpec, image: pulumi.Input[str]) -> Obj:
    deploy = spec.deploy
    env = [{"name": "JAVA_TOOL_OPTIONS", "value": f"-Dconfig.file={CONFIG_DIR}/application.conf -XX:MaxRAMPercentage=75"}]
    env += [pods.secret_env(e.name, e.secret, e.key) for e in spec.env]
    mounts = [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}]
    if deploy.volume is not None:
        mounts.append({"name": "data", "mountPath": deploy.volume.mount_path})
    if deploy.scratch is not None:
        mounts.append({"name": "scratch", "mountPath": deploy.scratch.mount_path})
    resources = deploy.resources
    return {
        "name": spec.name,
        "image": image,
        "ports": [
            {"name": "http", "containerPort": deploy.port, "protocol": "TCP"},
            {"name": "admin", "containerPort": deploy.probes.port, "protocol": "TCP"},
        ],
        "env": env,
        "resources": {
            "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
            "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
        },
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "livenessProbe": _probe(deploy.probes.liveness, "admin"),
        "readinessProbe": _probe(deploy.probes.readiness, "admin"),
        "securityContext": pods.container_security(),
        "volumeMounts": mounts,
    }


def pod_template(
    spec: ServiceSpec,
    version: str,
    image: pulumi.Input[str],
    *,
    service_account: pulumi.Input[str],
    metrics_backend: MetricsBackend,
    storage: StorageClasses,
    nodes: NodePlacement,
) -> Obj:
    deploy = spec.deploy
    pod_annotations = {
        CONFIG_HASH_ANNOTATION: spec.config_hash,
        **metrics_annotations(metrics_backend, spec.name, deploy.probes.port),
    }
    scratch = [pods.scratch_volume("scratch", deploy.scratch.size_gib, storage.scratch)] if deploy.scratch is not None else []
    return {
        "metadata": {"labels": labels(spec, version), "annotations": pod_annotations},
        "spec": {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": False,  # IRSA's web-identity token is projected by EKS on its own
            "securityContext": pods.pod_security(RUN_AS),
            "containers": [_container(spec, image)],
            "volumes": [
                {"name": "config", "configMap": {"name": config_map_name(spec)}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                *scratch,
            ],
            **placement(spec, nodes),
            "topologySpreadConstraints": pods.zone_spread(selector(spec), max(deploy.replicas, deploy.autoscaling.max_replicas), nodes),
            "terminationGracePeriodSeconds": PRE_STOP_SECONDS + SHUTDOWN_SECONDS,
            # Stateful services hold data: the data tier's priority keeps them from being evicted first.
            **({"priorityClassName": pods.DATA_PRIORITY_CLASS} if deploy.kind == "StatefulSet" else {}),
        },
    }


def workload(
    name: str,
    spec: ServiceSpec,
    version: str,
    template: Obj,
    parent: pulumi.Resource,
    *,
    storage: StorageClasses,
    mounts: Sequence[pulumi.Resource] = (),
) -> k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet:
    """`mounts` (its ConfigMap) come first, by order only: their names are plain strings in the pod template, so
    replacing one never forces the engine to replace the workload before it (delivery/diff.py)."""
    deploy = spec.deploy
    child = pulumi.ResourceOptions(parent=parent)
    # The autoscaler owns the replica count once the workload exists.
    workload_opts = pulumi.ResourceOptions(parent=parent, ignore_changes=["spec.replicas"], depends_on=list(mounts))
    common = {"replicas": deploy.replicas, "selector": {"matchLabels": selector(spec)}, "template": template}
    if deploy.kind == "Deployment":
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=object_metadata(spec, version, spec.name),
            spec=pods.as_input(
                DeploymentSpecArgs,
                # Surge first, never take a serving pod away: capacity holds during a rollout.
                common | {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}},
            ),
            opts=workload_opts,
        )
    assert deploy.volume is not None  # a StatefulSet always declares its volume (catalog.model)
    # volumeClaimTemplates are immutable: a size change would replace the StatefulSet (all pods down) and still not
    # grow the existing claims. New sizes reach new replicas' claims only through a recreated StatefulSet; existing
    # disks grow by resizing their PVCs (README "Day 2": the StorageClass allows expansion).
    workload_opts = pulumi.ResourceOptions.merge(workload_opts, pulumi.ResourceOptions(ignore_changes=["spec.volumeClaimTemplates"]))
    governing = k8s.core.v1.Service(
        f"{name}-pods",
        metadata=object_metadata(spec, version, f"{spec.name}-pods"),
        spec=ServiceSpecArgs(
            cluster_ip="None",
            publish_not_ready_addresses=True,
            selector=selector(spec),
            ports=[ServicePortArgs(name="http", port=deploy.port, target_port="http", protocol="TCP")],
        ),
        opts=child,
    )
    claim = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": storage.data,
        "resources": {"requests": {"storage": f"{deploy.volume.size_gib}Gi"}},
    }
    return k8s.apps.v1.StatefulSet(
        f"{name}-statefulset",
        metadata=object_metadata(spec, version, spec.name),
        spec=pods.as_input(
            StatefulSetSpecArgs,
            common
            | {
                "serviceName": governing.metadata.name,
                # A StatefulSet cannot surge: it replaces one pod at a time, each back to ready before the next.
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                # Replicas hold independent shards, not a quorum: they may start together.
                "podManagementPolicy": "Parallel",
                # Index volumes outlive a scale-down or a deleted StatefulSet; they are rebuilt only on purpose.
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": selector(spec)}, "spec": claim}],
            },
        ),
        opts=workload_opts,
    )


def scaling(name: str, spec: ServiceSpec, version: str, workload_name: pulumi.Input[str], parent: pulumi.Resource) -> None:
    """The CPU autoscaler, and a disruption budget wherever at least two replicas always run."""
    deploy, child = spec.deploy, pulumi.ResourceOptions(parent=parent)
    autoscaling = deploy.autoscaling
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-hpa",
        metadata=object_metadata(spec, version, spec.name),
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                api_version="apps/v1", kind=deploy.kind, name=workload_name
            ),
            min_replicas=autoscaling.min_replicas,
            max_replicas=autoscaling.max_replicas,
            metrics=[
                k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=autoscaling.target_cpu_percent),
                    ),
                )
            ],
        ),
        opts=child,
    )
    if autoscaling.min_replicas >= 2:
        # A single replica gets no budget: it would block every node drain.
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=object_metadata(spec, version, spec.name),
            spec=pods.as_input(PodDisruptionBudgetSpecArgs, pods.pdb_spec(selector(spec))),
            opts=child,
        )
