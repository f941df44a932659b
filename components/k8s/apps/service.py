"""One catalog service on the cluster, decided by its ServiceSpec (the merged HOCON layers): its identity,
its pods (workload) and who reaches it (exposure)."""

from dataclasses import dataclass

import pulumi

from catalog import ServiceSpec
from components.handle import NodePlacement, PublicEdge, StorageClasses, WorkloadIdentity
from components.outputs import register_declared
from settings.platform import MetricsBackend

from . import exposure, identity, workload


@dataclass(frozen=True)
class AppServiceArgs:
    spec: ServiceSpec
    image_repository: pulumi.Input[str]  # the service's registry repository URL
    version: str  # the stack's release: the image tag
    clients: tuple[str, ...]  # catalog services allowed to call this one
    callee_ports: dict[str, int]  # container port of each catalog service this one calls
    metrics_backend: MetricsBackend
    identity: WorkloadIdentity
    storage: StorageClasses
    placement: NodePlacement  # the cluster's stable and interruptible nodes
    edge: PublicEdge | None  # required when the service is public


class AppService(pulumi.ComponentResource):
    service: pulumi.Output[str]
    role_arn: pulumi.Input[str] | None
    hostname: pulumi.Output[str] | None

    def __init__(self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:app_service:AppService", name, None, opts)
        spec, version = args.spec, args.version
        if spec.public and args.edge is None:
            raise ValueError(f"{spec.name} is public: AppServiceArgs.edge is required")

        account, grant = identity.service_account(name, spec, version, args.identity, self)
        config = workload.config_map(name, spec, version, self)
        image = pulumi.Output.concat(args.image_repository, ":", version)
        template = workload.pod_template(
            spec,
            version,
            image,
            service_account=account.metadata.name,
            metrics_backend=args.metrics_backend,
            storage=args.storage,
            nodes=args.placement,
        )
        svc = exposure.service(name, spec, version, self)
        self.workload = workload.workload(name, spec, version, template, self, storage=args.storage, mounts=[config])
        workload.scaling(name, spec, version, self.workload.metadata.name, self)
        exposure.network_policy(name, spec, version, clients=args.clients, callee_ports=args.callee_ports, parent=self)
        if args.edge is not None and spec.public:
            public = exposure.public_service(name, spec, version, args.edge, self)
            self.hostname = exposure.publish(name, spec, args.edge, public, self)
        else:
            self.hostname = None

        self.service = svc.metadata.name
        self.role_arn = grant.principal
        register_declared(self)
