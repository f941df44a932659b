"""The AWS layer: network, EKS, storage, DNS, CDN and registry, declared in order; it yields the cluster handle.

`AwsLayer` is deliberately not a component: its resources stay top-level, so their URNs do not depend on it.
"""

import pulumi
import pulumi_aws as aws

from catalog import Catalog
from components.handle import CloudControllers, ClusterHandle
from settings import StackConfig

from .cdn import Cdn, CdnArgs
from .cluster import Cluster, ClusterArgs
from .dns import Dns, DnsArgs
from .handle import EKS_POOLS, IrsaIdentity, NlbEdge, S3BackupStore, ebs_storage
from .network import Network, NetworkArgs
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


class AwsLayer:
    def __init__(self, cfg: StackConfig, catalog: Catalog):
        aws_provider = regional_provider("aws", cfg.region, cfg)
        aws_opts = pulumi.ResourceOptions(providers={"aws": aws_provider})
        # CloudFront's certificate, web ACL and log delivery, and Route53 query logs, live in us-east-1.
        us_east_1 = regional_provider("aws-us-east-1", "us-east-1", cfg)

        self.storage = storage = Storage(
            "storage",
            StorageArgs(
                environment=cfg.environment,
                account_id=cfg.account_id,
                region=cfg.region,
                config=cfg.edge.storage,
                flow_log_retention_days=cfg.network.flow_logs_retention_days,
                protect=cfg.protected,
                lock_backups=cfg.policy.locked_backups,
            ),
            aws_opts,
        )
        self.network = network = Network(
            "network",
            NetworkArgs(
                config=cfg.network,
                region=cfg.region,
                cluster_name=cfg.cluster_name,
                logs_bucket_arn=storage.logs_bucket_arn,
                logs_bucket_policy=storage.logs_policy,
                protect=cfg.protected,
            ),
            aws_opts,
        )
        self.cluster = cluster = Cluster(
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
                stack_tags=stack_tags(cfg),
                log_retention_days=cfg.cluster.log_retention_days,
                protect=cfg.protected,
            ),
            aws_opts,
        )
        self.dns = dns = Dns(
            "dns",
            DnsArgs(
                domain=cfg.edge.domain,
                certificate_sans=cfg.edge.certificate_sans,
                delegations=cfg.edge.delegations,
                parent_account_id=cfg.edge.parent_account_id,
                registered_domain=cfg.edge.registered_domain,
                account_id=cfg.account_id,
                query_log_retention_days=cfg.edge.query_log_retention_days,
                us_east_1=us_east_1,
                protect=cfg.protected,
            ),
            aws_opts,
        )
        self.cdn = Cdn(
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
        self.registry = registry = Registry(
            "registry",
            RegistryArgs(
                environment=cfg.environment,
                account_id=cfg.account_id,
                region=cfg.region,
                node_role_name=cluster.node_role_name,
                services=[s.name for s in catalog.services],
                config=cfg.edge.registry,
                docker_hub_credentials=pulumi.Config("insight").require_secret("dockerHubCredentials"),
                protect=cfg.protected,
            ),
            aws_opts,
        )
        self.handle = ClusterHandle(
            name=cfg.cluster_name,
            providers=[aws_provider, cluster.k8s_provider],
            identity=IrsaIdentity(cluster.oidc_provider_arn, cluster.oidc_provider_url),
            backups=S3BackupStore(storage.backups_bucket_name, storage.backups_bucket_arn, storage.kms_key_arn),
            storage=ebs_storage(cluster.volume_key_arn),
            images=registry.repository_urls,
            edge=NlbEdge(
                zone_id=dns.zone_id,
                domain=dns.domain,
                certificate_arn=dns.certificate_arn,
                logs_bucket=storage.logs_bucket_name,
                deletion_protection=cfg.policy.lb_deletion_protection,
            ),
            controllers=CloudControllers(region=cfg.region, vpc_id=network.vpc_id),
            placement=EKS_POOLS,
        )

    def export(self) -> None:
        network, cluster, storage, dns, registry = self.network, self.cluster, self.storage, self.dns, self.registry
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
        pulumi.export("cdnDomainName", self.cdn.domain_name)
        pulumi.export("repositoryUrls", registry.repository_urls)
        pulumi.export("ciPushPolicyArn", registry.ci_push_policy_arn)
