"""The whole stack, in dependency order. `__main__.py` calls `build`; so do the tests and the offline preview."""

import pulumi
import pulumi_aws as aws

from settings import StackConfig, load_stack_config

from .cluster import Cluster, ClusterArgs
from .network import Network, NetworkArgs
from .storage import Storage, StorageArgs
from .tagging import stack_tags


def declare(cfg: StackConfig) -> None:
    aws_provider = aws.Provider(
        "aws",
        region=cfg.region,  # type: ignore[arg-type]
        allowed_account_ids=[cfg.account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=stack_tags(cfg)),
    )
    aws_opts = pulumi.ResourceOptions(providers={"aws": aws_provider})

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
        StorageArgs(environment=cfg.environment, account_id=cfg.account_id, config=cfg.edge.storage, keep=cfg.protected),
        aws_opts,
    )

    pulumi.export("region", cfg.region)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("clusterName", cluster.name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
    pulumi.export("assetsBucketName", storage.assets_bucket_name)
    pulumi.export("logsBucketName", storage.logs_bucket_name)
    pulumi.export("backupsBucketName", storage.backups_bucket_name)


def build() -> None:
    """Validate every setting first, then declare: a bad value stops the run before any resource exists."""
    declare(load_stack_config())
