"""The whole stack, in dependency order: the AWS layer yields a cluster handle, the Kubernetes layer is declared on it.

`__main__.py` calls `build`; so do the tests and the offline preview.
"""

from pathlib import Path

import pulumi

from catalog import Catalog
from settings import AnyStackConfig, ConfigError, OnpremStackConfig, StackConfig, load_stack_config
from settings.edge import check_public_hostnames

from .aws import AwsLayer
from .existing import existing_cluster
from .handle import ClusterHandle
from .k8s.apps import Apps, AppsArgs, load_service_catalog
from .k8s.platform import Platform, PlatformArgs


def declare_kubernetes(cfg: AnyStackConfig, catalog: Catalog, cluster: ClusterHandle) -> None:
    platform = Platform("platform", PlatformArgs(config=cfg.platform, tier=cfg.policy, cluster=cluster), cluster.options())
    Apps(
        "apps",
        AppsArgs(
            catalog=catalog,
            version=cfg.release.version,
            repository_urls=cluster.images,
            metrics_backend=cfg.platform.metrics.backend,
            identity=cluster.identity,
            storage=cluster.storage,
            placement=cluster.placement,
            edge=cluster.edge,
        ),
        # The apps namespace, its Secrets and the load balancer controller come from the platform.
        cluster.options(depends_on=[platform]),
    )


def declare(cfg: StackConfig, catalog: Catalog) -> None:
    aws = AwsLayer(cfg, catalog)
    declare_kubernetes(cfg, catalog, aws.handle)
    pulumi.export("region", cfg.region)
    pulumi.export("releaseVersion", cfg.release.version)  # CI refuses a deploy that goes backwards from it
    aws.export()


def declare_onprem(cfg: OnpremStackConfig, catalog: Catalog) -> None:
    """The customer's own cluster produces the handle: the Kubernetes layer only, no AWS resource."""
    declare_kubernetes(cfg, catalog, existing_cluster(cfg, catalog))
    pulumi.export("releaseVersion", cfg.release.version)


def build(root: Path | None = None) -> None:
    """Validate every setting first, then declare: a bad value stops the run before any resource exists.

    `root` holds services/ (the repository by default; the offline preview passes the stack files' folder)."""
    cfg = load_stack_config()
    # The service catalog too: a bad HOCON file stops the run here.
    # A service's IAM may name only the stack's own AWS account; on-prem has none, so no IAM statement at all.
    account = cfg.account_id if isinstance(cfg, StackConfig) else None
    catalog = load_service_catalog(cfg.environment, root, account=account)
    if isinstance(cfg, OnpremStackConfig):
        declare_onprem(cfg, catalog)
        return
    public = {s.name: s.hostname for s in catalog.services if s.hostname is not None}
    problems = list(check_public_hostnames(cfg.edge, public))
    if problems:
        raise ConfigError(f"Pulumi.{cfg.environment}.yaml", problems)
    declare(cfg, catalog)
