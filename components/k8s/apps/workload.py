"""A service's pods: ConfigMap, Deployment or StatefulSet, autoscaler and disruption budget, from its ServiceSpec."""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.apps.v1 import (
    DeploymentSpecArgs,
    DeploymentStrategyArgs,
    RollingUpdateDeploymentArgs,
    RollingUpdateStatefulSetStrategyArgs,
    StatefulSetPersistentVolumeClaimRetentionPolicyArgs,
    StatefulSetSpecArgs,
    StatefulSetUpdateStrategyArgs,
)
from pulumi_kubernetes.core.v1 import AffinityArgs as PodAffinityArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ConfigMapVolumeSourceArgs,
    ContainerArgs,
    ContainerPortArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    EnvVarSourceArgs,
    EphemeralVolumeSourceArgs,
    HTTPGetActionArgs,
    LifecycleArgs,
    LifecycleHandlerArgs,
    NodeAffinityArgs,
    NodeSelectorArgs,
    NodeSelectorRequirementArgs,
    NodeSelectorTermArgs,
    PersistentVolumeClaimArgs,
    PersistentVolumeClaimSpecArgs,
    PersistentVolumeClaimTemplateArgs,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    PreferredSchedulingTermArgs,
    ProbeArgs,
    SeccompProfileArgs,
    SecretKeySelectorArgs,
    SecurityContextArgs,
    ServicePortArgs,
    ServiceSpecArgs,
    SleepActionArgs,
    TolerationArgs,
    TopologySpreadConstraintArgs,
    VolumeArgs,
    VolumeMountArgs,
    VolumeResourceRequirementsArgs,
)
from pulumi_kubernetes.core.v1 import ResourceRequirementsArgs as ContainerResourcesArgs
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

from catalog import ServiceSpec
from catalog.model import Probe, Volume
from components.handle import StorageClasses
from settings.endpoints import APPS_NAMESPACE
from settings.platform import MetricsBackend, metrics_annotations
from settings.scheduling import HOST_KEY, POOL_LABEL, SPOT_TAINT_KEY, ZONE_KEY

from ..pods import DATA_PRIORITY_CLASS

NAME_LABEL = "app.kubernetes.io/name"
CONFIG_HASH_ANNOTATION = "insight.io/config-hash"
CONFIG_DIR = "/etc/insight"
RUN_AS = 10001  # the images' non-root user
# A terminating pod keeps serving while its endpoint leaves the load balancer's targets and every kube-proxy;
# SIGTERM comes after. The grace period leaves the service its own shutdown time on top.
PRE_STOP_SECONDS = 15
SHUTDOWN_SECONDS = 30


def labels(spec: ServiceSpec, version: str) -> dict[str, str]:
    return {NAME_LABEL: spec.name, "app.kubernetes.io/part-of": "insight", "app.kubernetes.io/version": version}


def selector(spec: ServiceSpec) -> dict[str, str]:
    return {NAME_LABEL: spec.name}


def object_metadata(spec: ServiceSpec, version: str, object_name: str, annotations: Any = None) -> ObjectMetaArgs:
    return ObjectMetaArgs(name=object_name, namespace=APPS_NAMESPACE, labels=labels(spec, version), annotations=annotations)


def placement(spec: ServiceSpec) -> tuple[list[TolerationArgs], PodAffinityArgs]:
    """Spot-tolerant services tolerate the spot taint and prefer spot nodes; the rest must land on the reserved pool."""
    if spec.deploy.spot_tolerant:
        tolerations = [TolerationArgs(key=SPOT_TAINT_KEY, operator="Equal", value="true", effect="NoSchedule")]
        preferred = PreferredSchedulingTermArgs(
            weight=100,
            preference=NodeSelectorTermArgs(
                match_expressions=[NodeSelectorRequirementArgs(key=POOL_LABEL, operator="In", values=["spot"])]
            ),
        )
        return tolerations, PodAffinityArgs(
            node_affinity=NodeAffinityArgs(preferred_during_scheduling_ignored_during_execution=[preferred])
        )
    required = NodeSelectorArgs(
        node_selector_terms=[
            NodeSelectorTermArgs(match_expressions=[NodeSelectorRequirementArgs(key=POOL_LABEL, operator="In", values=["reserved"])])
        ]
    )
    return [], PodAffinityArgs(node_affinity=NodeAffinityArgs(required_during_scheduling_ignored_during_execution=required))


def _probe(probe: Probe, port: str) -> ProbeArgs:
    return ProbeArgs(
        http_get=HTTPGetActionArgs(path=probe.path, port=port),
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        failure_threshold=probe.failure_threshold,
    )


def config_map_name(spec: ServiceSpec) -> str:
    return f"{spec.name}-config"


def config_map(name: str, spec: ServiceSpec, version: str, parent: pulumi.Resource) -> k8s.core.v1.ConfigMap:
    return k8s.core.v1.ConfigMap(
        f"{name}-config",
        metadata=object_metadata(spec, version, config_map_name(spec)),
        data={"application.conf": spec.application_conf},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _container(spec: ServiceSpec, image: pulumi.Input[str]) -> ContainerArgs:
    deploy = spec.deploy
    env = [EnvVarArgs(name="JAVA_TOOL_OPTIONS", value=f"-Dconfig.file={CONFIG_DIR}/application.conf -XX:MaxRAMPercentage=75")]
    env += [
        EnvVarArgs(name=e.name, value_from=EnvVarSourceArgs(secret_key_ref=SecretKeySelectorArgs(name=e.secret, key=e.key)))
        for e in spec.env
    ]
    mounts = [VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True), VolumeMountArgs(name="tmp", mount_path="/tmp")]
    if deploy.volume is not None:
        mounts.append(VolumeMountArgs(name="data", mount_path=deploy.volume.mount_path))
    if deploy.scratch is not None:
        mounts.append(VolumeMountArgs(name="scratch", mount_path=deploy.scratch.mount_path))
    return ContainerArgs(
        name=spec.name,
        image=image,
        ports=[
            ContainerPortArgs(name="http", container_port=deploy.port, protocol="TCP"),
            ContainerPortArgs(name="admin", container_port=deploy.probes.port, protocol="TCP"),
        ],
        env=env,
        resources=ContainerResourcesArgs(
            requests={"cpu": deploy.resources.requests.cpu, "memory": deploy.resources.requests.memory},
            limits={"cpu": deploy.resources.limits.cpu, "memory": deploy.resources.limits.memory},
        ),
        lifecycle=LifecycleArgs(pre_stop=LifecycleHandlerArgs(sleep=SleepActionArgs(seconds=PRE_STOP_SECONDS))),
        liveness_probe=_probe(deploy.probes.liveness, "admin"),
        readiness_probe=_probe(deploy.probes.readiness, "admin"),
        security_context=SecurityContextArgs(
            run_as_non_root=True,
            allow_privilege_escalation=False,
            privileged=False,
            read_only_root_filesystem=True,
            capabilities=CapabilitiesArgs(drop=["ALL"]),
        ),
        volume_mounts=mounts,
    )


def _scratch(scratch: Volume | None, storage_class: str) -> list[VolumeArgs]:
    if scratch is None:
        return []
    claim = PersistentVolumeClaimSpecArgs(
        access_modes=["ReadWriteOnce"],
        storage_class_name=storage_class,
        resources=VolumeResourceRequirementsArgs(requests={"storage": f"{scratch.size_gib}Gi"}),
    )
    return [
        VolumeArgs(name="scratch", ephemeral=EphemeralVolumeSourceArgs(volume_claim_template=PersistentVolumeClaimTemplateArgs(spec=claim)))
    ]


def pod_template(
    spec: ServiceSpec,
    version: str,
    image: pulumi.Input[str],
    *,
    service_account: pulumi.Input[str],
    metrics_backend: MetricsBackend,
    storage: StorageClasses,
) -> PodTemplateSpecArgs:
    deploy = spec.deploy
    tolerations, affinity = placement(spec)
    pod_annotations = {
        CONFIG_HASH_ANNOTATION: spec.config_hash,
        **metrics_annotations(metrics_backend, spec.name, deploy.probes.port),
    }
    return PodTemplateSpecArgs(
        metadata=ObjectMetaArgs(labels=labels(spec, version), annotations=pod_annotations),
        spec=PodSpecArgs(
            service_account_name=service_account,
            automount_service_account_token=False,  # IRSA's web-identity token is projected by EKS on its own
            security_context=PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=RUN_AS,
                run_as_group=RUN_AS,
                fs_group=RUN_AS,
                seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
            ),
            containers=[_container(spec, image)],
            volumes=[
                VolumeArgs(name="config", config_map=ConfigMapVolumeSourceArgs(name=config_map_name(spec))),
                VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="1Gi")),
                *_scratch(deploy.scratch, storage.scratch),
            ],
            tolerations=tolerations or None,
            affinity=affinity,
            topology_spread_constraints=[
                TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key=ZONE_KEY,
                    when_unsatisfiable="DoNotSchedule",
                    # A lost zone's nodes are tainted unreachable: not counting them keeps its pods schedulable.
                    node_taints_policy="Honor",
                    label_selector=LabelSelectorArgs(match_labels=selector(spec)),
                ),
                TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key=HOST_KEY,
                    when_unsatisfiable="ScheduleAnyway",
                    label_selector=LabelSelectorArgs(match_labels=selector(spec)),
                ),
            ],
            termination_grace_period_seconds=PRE_STOP_SECONDS + SHUTDOWN_SECONDS,
            # Stateful services hold data: the data tier's priority keeps them from being evicted first.
            priority_class_name=DATA_PRIORITY_CLASS if deploy.kind == "StatefulSet" else None,
        ),
    )


def workload(
    name: str,
    spec: ServiceSpec,
    version: str,
    template: PodTemplateSpecArgs,
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
    selector_args = LabelSelectorArgs(match_labels=selector(spec))
    if deploy.kind == "Deployment":
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=object_metadata(spec, version, spec.name),
            spec=DeploymentSpecArgs(
                replicas=deploy.replicas,
                selector=selector_args,
                template=template,
                # Surge first, never take a serving pod away: capacity holds during a rollout.
                strategy=DeploymentStrategyArgs(
                    type="RollingUpdate", rolling_update=RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1)
                ),
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
    return k8s.apps.v1.StatefulSet(
        f"{name}-statefulset",
        metadata=object_metadata(spec, version, spec.name),
        spec=StatefulSetSpecArgs(
            replicas=deploy.replicas,
            service_name=governing.metadata.name,
            selector=selector_args,
            template=template,
            # A StatefulSet cannot surge: it replaces one pod at a time, each back to ready before the next.
            update_strategy=StatefulSetUpdateStrategyArgs(
                type="RollingUpdate", rolling_update=RollingUpdateStatefulSetStrategyArgs(partition=0)
            ),
            # Replicas hold independent shards, not a quorum: they may start together.
            pod_management_policy="Parallel",
            # Index volumes outlive a scale-down or a deleted StatefulSet; they are rebuilt only on purpose.
            persistent_volume_claim_retention_policy=StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                when_deleted="Retain", when_scaled="Retain"
            ),
            volume_claim_templates=[
                PersistentVolumeClaimArgs(
                    metadata=ObjectMetaArgs(name="data", labels=selector(spec)),
                    spec=PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=storage.data,
                        resources=VolumeResourceRequirementsArgs(requests={"storage": f"{deploy.volume.size_gib}Gi"}),
                    ),
                )
            ],
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
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(max_unavailable=1, selector=LabelSelectorArgs(match_labels=selector(spec))),
            opts=child,
        )
