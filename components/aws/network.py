"""The VPC: public and private subnets in every AZ, NAT egress, flow logs, and the tags EKS discovers."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import register_declared
from settings.network import NetworkConfig, nat_gateway_count, plan_subnets, select_azs

from .iam import assume_role_policy
from .tagging import component_tags


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    region: str
    cluster_name: str
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

        self._flow_logs(name, vpc, cfg.flow_logs_retention_days, tags)

        self.vpc_id = vpc.id
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.availability_zones = [p.az for p in plan]
        register_declared(self)

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, retention_days: int, tags: dict[str, str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", retention_in_days=retention_days, tags=tags, opts=child)
        role = aws.iam.Role(
            f"{name}-flow-logs", assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"), tags=tags, opts=child
        )
        policy = aws.iam.Policy(
            f"{name}-flow-logs",
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-flow-logs", role=role.name, policy_arn=policy.arn, opts=child)
        aws.ec2.FlowLog(
            name,
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )
