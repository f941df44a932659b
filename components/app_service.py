"""One catalog service on the cluster: its workload, Service, ConfigMap, autoscaler, disruption budget,
network policy and IRSA role, all decided by its ServiceSpec (the merged HOCON layers).
"""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
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
    HTTPGetActionArgs,
    NodeAffinityArgs,
    NodeSelectorArgs,
    NodeSelectorRequirementArgs,
    NodeSelectorTermArgs,
    PersistentVolumeClaimArgs,
    PersistentVolumeClaimSpecArgs,
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
    TolerationArgs,
    TopologySpreadConstraintArgs,
    VolumeArgs,
    VolumeMountArgs,
    VolumeResourceRequirementsArgs,
)
from pulumi_kubernetes.core.v1 import ResourceRequirementsArgs as ContainerResourcesArgs
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.networking.v1 import (
    IPBlockArgs,
    NetworkPolicyEgressRuleArgs,
    NetworkPolicyIngressRuleArgs,
    NetworkPolicyPeerArgs,
    NetworkPolicyPortArgs,
    NetworkPolicySpecArgs,
)

from catalog import SERVICE_PORT, ServiceSpec
from catalog.model import Probe
from settings.endpoints import APPS_NAMESPACE, ENDPOINTS, NAMESPACES
from settings.platform import MetricsBackend, metrics_annotations

from .cluster import POOL_LABEL, SPOT_TAINT_KEY
from .iam import irsa_role
from .platform.foundations import DATA_STORAGE_CLASS
from .platform.pods import DATA_PRIORITY_CLASS
from .tagging import component_tags

NAME_LABEL = "app.kubernetes.io/name"
CONFIG_HASH_ANNOTATION = "insight.io/config-hash"
CONFIG_DIR = "/etc/insight"
RUN_AS = 10001  # the images' non-root user
ZONE_KEY = "topology.kubernetes.io/zone"
NLB_CLASS = "service.k8s.aws/nlb"  # the AWS Load Balancer Controller, not the in-tree controller
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


@dataclass(frozen=True)
class PublicEdge:
    """What a public service needs from the edge: the zone its hostname goes in, the TLS certificate, the access-log bucket."""

    zone_id: pulumi.Input[str]
    domain: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]
    logs_bucket: pulumi.Input[str]
    deletion_protection: bool  # prod's load balancers cannot be deleted by accident


@dataclass(frozen=True)
class AppServiceArgs:
    spec: ServiceSpec
    image_repository: pulumi.Input[str]  # the service's ECR repository URL
    version: str  # the stack's release: the image tag
    clients: tuple[str, ...]  # catalog services allowed to call this one
    callee_ports: dict[str, int]  # container port of each catalog service this one calls
    metrics_backend: MetricsBackend
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    edge: PublicEdge | None  # required when the service is public


def labels(spec: ServiceSpec, version: str) -> dict[str, str]:
    return {NAME_LABEL: spec.name, "app.kubernetes.io/part-of": "insight", "app.kubernetes.io/version": version}


def selector(spec: ServiceSpec) -> dict[str, str]:
    return {NAME_LABEL: spec.name}


def iam_policy(spec: ServiceSpec) -> str | None:
    """Exactly the statements the service declares; None when it needs no AWS access."""
    if not spec.deploy.aws:
        return None
    statements = [{"Effect": "Allow", "Action": list(s.actions), "Resource": list(s.resources)} for s in spec.deploy.aws]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def lb_annotations(spec: ServiceSpec, certificate_arn: str, logs_bucket: str, deletion_protection: bool) -> dict[str, str]:
    """An internet-facing NLB terminating TLS with the environment's certificate, straight to the pods' IPs."""
    prefix = "service.beta.kubernetes.io/aws-load-balancer"
    attributes = [
        "load_balancing.cross_zone.enabled=true",
        "access_logs.s3.enabled=true",
        f"access_logs.s3.bucket={logs_bucket}",
        f"access_logs.s3.prefix=nlb/{spec.name}",
    ]
    if deletion_protection:
        attributes.append("deletion_protection.enabled=true")
    return {
        f"{prefix}-scheme": "internet-facing",
        f"{prefix}-nlb-target-type": "ip",
        f"{prefix}-ssl-cert": certificate_arn,
        f"{prefix}-ssl-ports": "443",
        f"{prefix}-ssl-negotiation-policy": TLS_POLICY,
        f"{prefix}-backend-protocol": "tcp",
        f"{prefix}-healthcheck-protocol": "http",
        f"{prefix}-healthcheck-port": str(spec.deploy.probes.port),
        f"{prefix}-healthcheck-path": spec.deploy.probes.readiness.path,
        f"{prefix}-attributes": ",".join(attributes),
    }


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


def _peer_namespace(namespace: str, pods: dict[str, str] | None = None) -> NetworkPolicyPeerArgs:
    return NetworkPolicyPeerArgs(
        namespace_selector=LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace}),
        pod_selector=LabelSelectorArgs(match_labels=pods) if pods else None,
    )


def _tcp(*ports: int) -> list[NetworkPolicyPortArgs]:
    return [NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]


def network_policy_spec(spec: ServiceSpec, clients: tuple[str, ...], callee_ports: dict[str, int]) -> NetworkPolicySpecArgs:
    """Ingress only from declared clients (the internet too for public services) and the metrics scraper;
    egress only to DNS, the infra endpoints and services its config names, and HTTPS outside the VPC."""
    http = _tcp(spec.deploy.port)
    ingress = [
        NetworkPolicyIngressRuleArgs(
            from_=[NetworkPolicyPeerArgs(pod_selector=LabelSelectorArgs(match_labels={NAME_LABEL: c}))], ports=http
        )
        for c in clients
    ]
    if spec.public:
        # target type ip: the NLB connects to the pods' port itself.
        ingress.append(NetworkPolicyIngressRuleArgs(from_=[NetworkPolicyPeerArgs(ip_block=IPBlockArgs(cidr="0.0.0.0/0"))], ports=http))
    ingress.append(NetworkPolicyIngressRuleArgs(from_=[_peer_namespace(NAMESPACES["monitoring"])], ports=_tcp(spec.deploy.probes.port)))
    dns = [NetworkPolicyPortArgs(protocol="UDP", port=53), NetworkPolicyPortArgs(protocol="TCP", port=53)]
    egress = [NetworkPolicyEgressRuleArgs(to=[_peer_namespace("kube-system", {"k8s-app": "kube-dns"})], ports=dns)]
    egress += [
        NetworkPolicyEgressRuleArgs(to=[_peer_namespace(ENDPOINTS[name].namespace)], ports=_tcp(ENDPOINTS[name].port)) for name in spec.uses
    ]
    egress += [
        NetworkPolicyEgressRuleArgs(
            to=[NetworkPolicyPeerArgs(pod_selector=LabelSelectorArgs(match_labels={NAME_LABEL: callee}))], ports=_tcp(callee_ports[callee])
        )
        for callee in spec.calls
    ]
    # Sentry and the AWS APIs (STS for IRSA) answer on HTTPS outside the VPC.
    egress.append(
        NetworkPolicyEgressRuleArgs(
            to=[NetworkPolicyPeerArgs(ip_block=IPBlockArgs(cidr="0.0.0.0/0", except_=PRIVATE_RANGES))], ports=_tcp(443)
        )
    )
    return NetworkPolicySpecArgs(
        pod_selector=LabelSelectorArgs(match_labels=selector(spec)), policy_types=["Ingress", "Egress"], ingress=ingress, egress=egress
    )


def load_balancer_hostname(status: k8s.core.v1.outputs.ServiceStatus | None) -> str:
    """The NLB's DNS name from the Service status (the provider waits for it before the Service is ready)."""
    ingress = status.load_balancer.ingress if status is not None and status.load_balancer is not None else None
    if not ingress or not ingress[0].hostname:
        raise ValueError("the Service has no load balancer hostname in its status")
    return ingress[0].hostname


def _probe(probe: Probe, port: str) -> ProbeArgs:
    return ProbeArgs(
        http_get=HTTPGetActionArgs(path=probe.path, port=port),
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        failure_threshold=probe.failure_threshold,
    )


class AppService(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:app_service:AppService", name, None, opts)
        spec, deploy = args.spec, args.spec.deploy
        if spec.public and args.edge is None:
            raise ValueError(f"{spec.name} is public: AppServiceArgs.edge is required")
        child = pulumi.ResourceOptions(parent=self)
        meta_labels = labels(spec, args.version)

        def metadata(object_name: str, annotations: Any = None) -> ObjectMetaArgs:
            return ObjectMetaArgs(name=object_name, namespace=APPS_NAMESPACE, labels=meta_labels, annotations=annotations)

        self.role = irsa_role(
            f"{name}-irsa",
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_provider_url=args.oidc_provider_url,
            namespace=APPS_NAMESPACE,
            service_account=spec.name,
            inline_policy=iam_policy(spec),
            tags=component_tags("apps", service=spec.name),
            parent=self,
        )
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(spec.name, {"eks.amazonaws.com/role-arn": self.role.arn}),
            automount_service_account_token=False,
            opts=child,
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(f"{spec.name}-config"),
            data={"application.conf": spec.application_conf},
            opts=child,
        )

        env = [EnvVarArgs(name="JAVA_TOOL_OPTIONS", value=f"-Dconfig.file={CONFIG_DIR}/application.conf -XX:MaxRAMPercentage=75")]
        env += [
            EnvVarArgs(name=e.name, value_from=EnvVarSourceArgs(secret_key_ref=SecretKeySelectorArgs(name=e.secret, key=e.key)))
            for e in spec.env
        ]
        mounts = [VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True), VolumeMountArgs(name="tmp", mount_path="/tmp")]
        if deploy.volume is not None:
            mounts.append(VolumeMountArgs(name="data", mount_path=deploy.volume.mount_path))
        container = ContainerArgs(
            name=spec.name,
            image=pulumi.Output.concat(args.image_repository, ":", args.version),
            ports=[
                ContainerPortArgs(name="http", container_port=deploy.port, protocol="TCP"),
                ContainerPortArgs(name="admin", container_port=deploy.probes.port, protocol="TCP"),
            ],
            env=env,
            resources=ContainerResourcesArgs(
                requests={"cpu": deploy.resources.requests.cpu, "memory": deploy.resources.requests.memory},
                limits={"cpu": deploy.resources.limits.cpu, "memory": deploy.resources.limits.memory},
            ),
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
        tolerations, affinity = placement(spec)
        pod_annotations = {
            CONFIG_HASH_ANNOTATION: spec.config_hash,
            **metrics_annotations(args.metrics_backend, spec.name, deploy.probes.port),
        }
        template = PodTemplateSpecArgs(
            metadata=ObjectMetaArgs(labels=meta_labels, annotations=pod_annotations),
            spec=PodSpecArgs(
                service_account_name=service_account.metadata.name,
                automount_service_account_token=False,  # IRSA's web-identity token is projected by EKS on its own
                security_context=PodSecurityContextArgs(
                    run_as_non_root=True,
                    run_as_user=RUN_AS,
                    run_as_group=RUN_AS,
                    fs_group=RUN_AS,
                    seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
                ),
                containers=[container],
                volumes=[
                    VolumeArgs(name="config", config_map=ConfigMapVolumeSourceArgs(name=config_map.metadata.name)),
                    VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="1Gi")),
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
                        topology_key="kubernetes.io/hostname",
                        when_unsatisfiable="ScheduleAnyway",
                        label_selector=LabelSelectorArgs(match_labels=selector(spec)),
                    ),
                ],
                termination_grace_period_seconds=30,
                # Stateful services hold data: the data tier's priority keeps them from being evicted first.
                priority_class_name=DATA_PRIORITY_CLASS if deploy.kind == "StatefulSet" else None,
            ),
        )

        service_type = "LoadBalancer" if spec.public else "ClusterIP"
        service_annotations = None
        if args.edge is not None and spec.public:
            service_annotations = pulumi.Output.all(args.edge.certificate_arn, args.edge.logs_bucket).apply(
                lambda a, edge=args.edge: lb_annotations(spec, a[0], a[1], edge.deletion_protection)
            )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(spec.name, service_annotations),
            spec=ServiceSpecArgs(
                type=service_type,
                load_balancer_class=NLB_CLASS if spec.public else None,
                selector=selector(spec),
                ports=[
                    ServicePortArgs(
                        name="https" if spec.public else "http",
                        port=443 if spec.public else SERVICE_PORT,
                        target_port="http",
                        protocol="TCP",
                    )
                ],
            ),
            opts=child,
        )

        # The autoscaler owns the replica count once the workload exists.
        workload_opts = pulumi.ResourceOptions(parent=self, ignore_changes=["spec.replicas"])
        selector_args = LabelSelectorArgs(match_labels=selector(spec))
        if deploy.kind == "Deployment":
            workload: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet = k8s.apps.v1.Deployment(
                f"{name}-deployment",
                metadata=metadata(spec.name),
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
        else:
            assert deploy.volume is not None  # a StatefulSet always declares its volume (catalog.model)
            governing = k8s.core.v1.Service(
                f"{name}-pods",
                metadata=metadata(f"{spec.name}-pods"),
                spec=ServiceSpecArgs(
                    cluster_ip="None",
                    publish_not_ready_addresses=True,
                    selector=selector(spec),
                    ports=[ServicePortArgs(name="http", port=deploy.port, target_port="http", protocol="TCP")],
                ),
                opts=child,
            )
            workload = k8s.apps.v1.StatefulSet(
                f"{name}-statefulset",
                metadata=metadata(spec.name),
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
                                storage_class_name=DATA_STORAGE_CLASS,
                                resources=VolumeResourceRequirementsArgs(requests={"storage": f"{deploy.volume.size_gib}Gi"}),
                            ),
                        )
                    ],
                ),
                opts=workload_opts,
            )
        self.workload = workload

        scaling = deploy.autoscaling
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=metadata(spec.name),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind=deploy.kind, name=workload.metadata.name
                ),
                min_replicas=scaling.min_replicas,
                max_replicas=scaling.max_replicas,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=scaling.target_cpu_percent),
                        ),
                    )
                ],
            ),
            opts=child,
        )
        if scaling.min_replicas >= 2:
            # A single replica gets no budget: it would block every node drain.
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=metadata(spec.name),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(max_unavailable=1, selector=selector_args),
                opts=child,
            )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=metadata(spec.name),
            spec=network_policy_spec(spec, args.clients, args.callee_ports),
            opts=child,
        )

        self.hostname: pulumi.Output[str] | None = None
        if args.edge is not None and spec.public:
            lb_hostname = self.service.status.apply(load_balancer_hostname)
            record = aws.route53.Record(
                f"{name}-dns",
                zone_id=args.edge.zone_id,
                name=pulumi.Output.concat(spec.hostname or "", ".", args.edge.domain),
                type="CNAME",
                ttl=60,
                records=[lb_hostname],
                opts=child,
            )
            self.hostname = record.fqdn
        self.register_outputs({"service": self.service.metadata.name, "roleArn": self.role.arn, "hostname": self.hostname})
