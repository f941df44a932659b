"""The VPC: public and private subnets in every AZ, NAT egress, the S3 gateway endpoint, flow logs, and the tags EKS discovers."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import register_declared
from settings.network import NetworkConfig, nat_gateway_count, plan_subnets, select_azs

from .storage import FLOW_LOG_PREFIX
from .tagging import component_tags


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    region: str
    cluster_name: str
    # Flow logs go to the logs bucket (components/aws/storage.py), once its policy admits them.
    logs_bucket_arn: pulumi.Input[str]
    logs_bucket_policy: pulumi.Resource
    protect: bool


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    availability_zones: list[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:network:Network", name, None, opts)
        cfg = args.config
        tags = component_tags("network")
        child = pulumi.ResourceOptions(parent=self)
        azs = select_azs(args.region, cfg.az_count)
        plan = plan_subnets(cfg.vpc_cidr, azs, cfg.private_subnet_prefix, cfg.public_subnet_prefix)
        # Load balancer controller and EKS find subnets by these tags.
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        vpc = aws.ec2.Vpc(
            name,
            cidr_block=str(cfg.vpc_cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # The default security group admits all traffic between its members: empty it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=vpc.id, tags=tags, opts=child)
        igw = aws.ec2.InternetGateway(name, vpc_id=vpc.id, tags={**tags, "Name": name}, opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for p in plan:
            public = aws.ec2.Subnet(
                f"{name}-public-{p.az}",
                vpc_id=vpc.id,
                cidr_block=str(p.public),
                availability_zone=p.az,
                map_public_ip_on_launch=False,  # only load balancers live here, and they get their own addresses
                tags={**tags, **cluster_tag, "Name": f"{name}-public-{p.az}", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{p.az}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            public_subnets.append(public)
            private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{p.az}",
                    vpc_id=vpc.id,
                    cidr_block=str(p.private),
                    availability_zone=p.az,
                    map_public_ip_on_launch=False,
                    tags={**tags, **cluster_tag, "Name": f"{name}-private-{p.az}", "kubernetes.io/role/internal-elb": "1"},
                    opts=child,
                )
            )

        nats = []
        for i in range(nat_gateway_count(cfg.nat_strategy, len(plan))):
            az = plan[i].az
            eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags={**tags, "Name": f"{name}-nat-{az}"}, opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-{az}",
                    allocation_id=eip.id,
                    subnet_id=public_subnets[i].id,
                    tags={**tags, "Name": f"{name}-{az}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
        private_tables = []
        for i, (p, subnet) in enumerate(zip(plan, private_subnets, strict=False)):
            # With one NAT every AZ egresses through it; per-AZ NATs keep an AZ outage local.
            nat = nats[i % len(nats)]
            rt = aws.ec2.RouteTable(
                f"{name}-private-{p.az}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**tags, "Name": f"{name}-private-{p.az}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{p.az}", subnet_id=subnet.id, route_table_id=rt.id, opts=child)
            private_tables.append(rt)
        # S3 in the region (ECR image layers, snapshots, dumps, log delivery) skips the NAT's per-GB processing: a
        # gateway endpoint is free and adds a prefix-list route to each private table.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in private_tables],
            tags={**tags, "Name": f"{name}-s3"},
            opts=child,
        )
        # Parquet in S3: cheaper per GB than CloudWatch Logs ingestion and read in place by Athena.
        aws.ec2.FlowLog(
            name,
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="s3",
            log_destination=pulumi.Output.concat(args.logs_bucket_arn, f"/{FLOW_LOG_PREFIX}/"),
            destination_options=aws.ec2.FlowLogDestinationOptionsArgs(
                file_format="parquet", hive_compatible_partitions=True, per_hour_partition=True
            ),
            max_aggregation_interval=600,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.logs_bucket_policy]),
        )

        self.vpc_id = vpc.id
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.availability_zones = [p.az for p in plan]
        register_declared(self)
