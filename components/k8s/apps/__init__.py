"""Every catalog service as an AppService: adding a file under services/apps/ adds its whole set of objects."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi

from catalog import Catalog, CatalogError, load_catalog
from components.handle import NodePlacement, PublicEdge, StorageClasses, WorkloadIdentity
from components.outputs import register_declared
from settings import ConfigError
from settings.platform import MetricsBackend

from .service import AppService, AppServiceArgs


class CatalogConfigError(ConfigError):
    """Catalog problems stop the run like stack-file problems: one line each, naming the HOCON file and key."""

    def __init__(self, err: CatalogError):
        self.catalog_error = err
        super().__init__("services/", [])

    def render(self) -> str:
        return self.catalog_error.render()


def load_service_catalog(stack: str, root: Path | None = None, account: str | None = None) -> Catalog:
    """The catalog with the stack's cluster layer (services/clusters/<stack>.conf).

    `account` is the stack's AWS account, the only one IAM statements may name (None: no AWS, none may)."""
    try:
        return load_catalog(stack, root, account=account)
    except CatalogError as err:
        raise CatalogConfigError(err) from None


@dataclass(frozen=True)
class AppsArgs:
    catalog: Catalog
    version: str  # the stack's release: every image's tag
    repository_urls: Mapping[str, pulumi.Input[str]]  # ECR repository URL per service name
    metrics_backend: MetricsBackend
    identity: WorkloadIdentity
    storage: StorageClasses
    placement: NodePlacement
    edge: PublicEdge | None


class Apps(pulumi.ComponentResource):
    hostnames: dict[str, pulumi.Output[str]]  # public hostname per public service

    def __init__(self, name: str, args: AppsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:apps:Apps", name, None, opts)
        catalog = args.catalog
        missing = [s.name for s in catalog.services if s.name not in args.repository_urls]
        if missing:
            raise ValueError(f"no ECR repository for {', '.join(missing)}: the registry creates one per catalog service")
        ports = {s.name: s.deploy.port for s in catalog.services}
        self.services = {
            spec.name: AppService(
                spec.name,
                AppServiceArgs(
                    spec=spec,
                    image_repository=args.repository_urls[spec.name],
                    version=args.version,
                    clients=catalog.clients_of(spec.name),
                    callee_ports={callee: ports[callee] for callee in spec.calls},
                    metrics_backend=args.metrics_backend,
                    identity=args.identity,
                    storage=args.storage,
                    placement=args.placement,
                    edge=args.edge if spec.public else None,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for spec in catalog.services
        }
        self.hostnames = {name: svc.hostname for name, svc in self.services.items() if svc.hostname is not None}
        register_declared(self)
