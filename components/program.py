"""The whole stack, in dependency order. `__main__.py` calls `build`; so do the tests and the offline preview."""

import pulumi
import pulumi_aws as aws

from catalog import Catalog
from settings import ConfigError, StackConfig, load_stack_config
from settings.edge import check_public_hostnames

from .app_service import PublicEdge
from .apps import Apps, AppsArgs, load_service_catalog
from .cdn import Cdn, CdnArgs
from .cluster import Cluster, ClusterArgs
from .dns import Dns, DnsArgs
from .network import Network, NetworkArgs
from .platform import Platform, PlatformArgs
from .registry import Registry, RegistryArgs
from .storage import Storage, StorageArgs
from .tagging import stack_tags


def regional_provider(name: str, region: str, cfg: StackConfig) -> aws.Provider:
    """An AWS provider for one region: this stack's account only, and its tags on everything it creates."""
    return aws.Provider(
        name,
        region=region,  # type: ignore[arg-type]
        allowed_account_ids=[cfg.account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=stack_tags(cfg)),
    )


def declare(cfg: StackConfig, catalog: Catalog) -> None:
    aws_provider = regional_provider("aws", cfg.region, cfg)
    aws_opts = pulumi.ResourceOptions(providers={"aws": aws_provider})
    # CloudFront's certificate, web ACL and log delivery, and Route53 query logs, live in us-east-1.
    us_east_1 = regional_provider("aws-us-east-1", "us-east-1", cfg)

    network = Network(
        "network",
        NetworkArgs(config=cfg.network, region=cfg.region, cluster_name=cfg.cluster_name, protect=cfg.protected),
        aws_opts,
    )
    cluster = Cluster(
        "cluster",
        ClusterArgs(
            name=cfg.cluster_name,
            config=cfg.cluster,
            node_pools=cfg.node_pools,
            account_id=cfg.account_id,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            availability_zones=network.availability_zones,
            protect=cfg.protected,
        ),
        aws_opts,
    )
    storage = Storage(
        "storage",
        StorageArgs(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region, config=cfg.edge.storage, keep=cfg.protected),
        aws_opts,
    )
    platform = Platform(
        "platform",
        PlatformArgs(
            config=cfg.platform,
            environment=cfg.environment,
            cluster_name=cfg.cluster_name,
            region=cfg.region,
            vpc_id=network.vpc_id,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            backups_bucket_name=storage.backups_bucket_name,
            backups_bucket_arn=storage.backups_bucket_arn,
            backups_kms_key_arn=storage.kms_key_arn,
        ),
        pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": cluster.k8s_provider}),
    )
    dns = Dns(
        "dns",
        DnsArgs(
            domain=cfg.edge.domain,
            certificate_sans=cfg.edge.certificate_sans,
            delegations=cfg.edge.delegations,
            account_id=cfg.account_id,
            query_log_retention_days=cfg.edge.query_log_retention_days,
            us_east_1=us_east_1,
            keep=cfg.protected,
        ),
        aws_opts,
    )
    cdn = Cdn(
        "cdn",
        CdnArgs(
            environment=cfg.environment,
            aliases=cfg.edge.cdn_aliases,
            api_hostname=cfg.edge.api_hostname,
            zone_id=dns.zone_id,
            certificate_arn=dns.cdn_certificate_arn,
            storage=storage,
            waf=cfg.edge.waf,
            us_east_1=us_east_1,
        ),
        aws_opts,
    )
    registry = Registry(
        "registry",
        RegistryArgs(
            environment=cfg.environment,
            account_id=cfg.account_id,
            region=cfg.region,
            node_role_name=cluster.node_role_name,
            services=[s.name for s in catalog.services],
            config=cfg.edge.registry,
            keep=cfg.protected,
        ),
        aws_opts,
    )

    Apps(
        "apps",
        AppsArgs(
            catalog=catalog,
            version=cfg.release.version,
            repository_urls=registry.repository_urls,
            metrics_backend=cfg.platform.metrics.backend,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            edge=PublicEdge(
                zone_id=dns.zone_id,
                domain=dns.domain,
                certificate_arn=dns.certificate_arn,
                logs_bucket=storage.logs_bucket_name,
                deletion_protection=cfg.environment == "prod",
            ),
        ),
        # The apps namespace, its Secrets and the load balancer controller come from the platform.
        pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": cluster.k8s_provider}, depends_on=[platform]),
    )

    pulumi.export("region", cfg.region)
    pulumi.export("releaseVersion", cfg.release.version)  # CI refuses a deploy that goes backwards from it
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("clusterName", cluster.name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
    pulumi.export("assetsBucketName", storage.assets_bucket_name)
    pulumi.export("logsBucketName", storage.logs_bucket_name)
    pulumi.export("backupsBucketName", storage.backups_bucket_name)
    pulumi.export("zoneId", dns.zone_id)
    pulumi.export("nameServers", dns.name_servers)
    pulumi.export("certificateArn", dns.certificate_arn)
    pulumi.export("cdnCertificateArn", dns.cdn_certificate_arn)
    pulumi.export("cdnDomainName", cdn.domain_name)
    pulumi.export("repositoryUrls", registry.repository_urls)
    pulumi.export("ciPushPolicyArn", registry.ci_push_policy_arn)


def build() -> None:
    """Validate every setting first, then declare: a bad value stops the run before any resource exists."""
    cfg = load_stack_config()
    # The service catalog too: a bad HOCON file stops the run here.
    catalog = load_service_catalog(cfg.environment, cfg.account_id)
    public = {s.name: s.hostname for s in catalog.services if s.hostname is not None}
    problems = list(check_public_hostnames(cfg.edge, public))
    if problems:
        raise ConfigError(f"Pulumi.{cfg.environment}.yaml", problems)
    declare(cfg, catalog)
