"""The one mock kit: canned outputs for what only the cloud would know. Tests and the offline preview share it.

Remote components (`eks:index:Cluster`, `eks:index:ManagedNodeGroup`, Helm charts) are one opaque
resource each under mocks: only their inputs can be checked, and their outputs come from here.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pulumi

Canned = Callable[["MockContext", pulumi.runtime.MockResourceArgs], dict[str, Any]]


class MockContext:
    def __init__(self, region: str, account_id: str):
        self.region = region
        self.account_id = account_id

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id}:{resource}"

    @property
    def oidc_issuer(self) -> str:
        return f"oidc.eks.{self.region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def _fake_id(name: str, prefix: str = "") -> str:
    return prefix + hashlib.sha256(name.encode()).hexdigest()[:17]


def _eks_cluster(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("name", args.name)
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": f"https://{name}.eks.example", "certificate-authority-data": "Q0E="}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"exec": {"command": "aws", "args": ["eks", "get-token", "--cluster-name", name]}}}],
    }
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcProviderArn": ctx.arn("iam", f"oidc-provider/{ctx.oidc_issuer}", region=False),
        "oidcProviderUrl": ctx.oidc_issuer,
        "oidcIssuer": ctx.oidc_issuer,
        "clusterSecurityGroupId": _fake_id(name + "cluster", "sg-"),
        "nodeSecurityGroupId": _fake_id(name + "node", "sg-"),
    }


def _role(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("name", args.name)
    return {"name": name, "arn": ctx.arn("iam", f"role/{name}", region=False), "uniqueId": _fake_id(name, "AROA")}


def _policy(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("name", args.name)
    return {"name": name, "arn": ctx.arn("iam", f"policy/{name}", region=False)}


def _kms_key(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    key_id = _fake_id(args.name)
    return {"keyId": key_id, "arn": ctx.arn("kms", f"key/{key_id}")}


def _bucket(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("bucket", args.name)
    return {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        "region": ctx.region,
    }


def _zone(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    zone_id = _fake_id(args.name, "Z").upper()
    return {
        "zoneId": zone_id,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "nameServers": [f"ns-{i}.awsdns-example.net" for i in range(4)],
    }


def _certificate(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """One validation CNAME per name; `*.x` shares `x`'s, and the same name gets the same record in every region."""
    names = [args.inputs["domainName"], *args.inputs.get("subjectAlternativeNames", [])]
    options = [
        {
            "domainName": name,
            "resourceRecordName": f"_{_fake_id(name.removeprefix('*.'))}.{name.removeprefix('*.')}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{_fake_id(name.removeprefix('*.') + 'value')}.acm-validations.aws.",
        }
        for name in names
    ]
    return {"arn": ctx.arn("acm", f"certificate/{_fake_id(args.name)}"), "domainValidationOptions": options}


def _k8s_service(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """A LoadBalancer Service reports its NLB's DNS name in status, as the AWS Load Balancer Controller sets it."""
    if args.inputs.get("spec", {}).get("type") != "LoadBalancer":
        return {}
    hostname = f"k8s-{_fake_id(args.name)}.elb.{ctx.region}.amazonaws.com"
    return {"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}}


def _distribution(ctx: MockContext, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    distribution_id = _fake_id(args.name, "E").upper()
    return {
        "arn": f"arn:aws:cloudfront::{ctx.account_id}:distribution/{distribution_id}",
        "domainName": f"{_fake_id(args.name, 'd')}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",  # CloudFront's own zone for alias records
    }


# Outputs per resource type beyond the inputs echoed back. Extend here when a component reads a
# computed output; everything else gets an id and an ARN.
CANNED: dict[str, Canned] = {
    "eks:index:Cluster": _eks_cluster,
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    "aws:kms/key:Key": _kms_key,
    "aws:ec2/launchTemplate:LaunchTemplate": lambda ctx, a: {"latestVersion": 1},
    "aws:ec2/eip:Eip": lambda ctx, a: {"publicIp": "192.0.2.10", "allocationId": _fake_id(a.name, "eipalloc-")},
    "aws:cloudwatch/logGroup:LogGroup": lambda ctx, a: {"arn": ctx.arn("logs", f"log-group:{a.inputs.get('name', a.name)}")},
    "kubernetes:core/v1:Service": _k8s_service,
    "aws:secretsmanager/secretVersion:SecretVersion": lambda ctx, a: {"secretArn": ctx.arn("secretsmanager", f"secret:{a.name}")},
    "aws:s3/bucket:Bucket": _bucket,
    "aws:route53/zone:Zone": _zone,
    "aws:route53/record:Record": lambda ctx, a: {"fqdn": a.inputs["name"].rstrip(".")},
    "aws:acm/certificate:Certificate": _certificate,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:ecr/repository:Repository": lambda ctx, a: {
        "repositoryUrl": f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{a.inputs['name']}",
        "arn": ctx.arn("ecr", f"repository/{a.inputs['name']}"),
    },
    # Generated passwords: a recognisable stand-in, so tests can prove it never leaks.
    "random:index/randomPassword:RandomPassword": lambda ctx, a: {"result": f"offline-password-{a.name}"},
    # Opaque operator installs (charts, release manifests): the objects they would create are not listed offline.
    "kubernetes:helm.sh/v4:Chart": lambda ctx, a: {"resources": []},
    "kubernetes:yaml/v2:ConfigFile": lambda ctx, a: {"resources": []},
}

INVOKES: dict[str, Callable[[MockContext, dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda ctx, _: {
        "accountId": ctx.account_id,
        "arn": f"arn:aws:iam::{ctx.account_id}:user/offline",
        "userId": "AIDAOFFLINE",
        "id": ctx.account_id,
    },
    "aws:index/getPartition:getPartition": lambda ctx, _: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    # The recommended EKS AMI release of a Kubernetes minor: `<minor>.<patch>-<date>`.
    "aws:ssm/getParameter:getParameter": lambda ctx, a: {
        "name": a["name"],
        "type": "String",
        "insecureValue": f"{a['name'].split('/')[5]}.0-20251120" if a["name"].startswith("/aws/service/eks/") else "offline",
        "value": "offline",
        "id": a["name"],
    },
    "aws:route53/getZone:getZone": lambda ctx, a: {"name": a["name"], "zoneId": _fake_id(a["name"], "Z"), "id": _fake_id(a["name"], "Z")},
    "aws:index/getRegion:getRegion": lambda ctx, _: {"name": ctx.region, "region": ctx.region, "id": ctx.region},
}


class InsightMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, account_id: str):
        self.ctx = MockContext(region, account_id)
        # Explicit AWS providers by name, with their region: ARNs of their resources name that region.
        self.provider_regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = _fake_id(args.typ + args.name, "id-")
        if args.typ == "pulumi:providers:aws" and "region" in args.inputs:
            self.provider_regions[args.name] = args.inputs["region"]
        provider_name = args.provider.split("::")[-2] if args.provider else ""  # `<urn ending ::name>::<id>`
        ctx = MockContext(self.provider_regions.get(provider_name, self.ctx.region), self.ctx.account_id)
        state = {"arn": ctx.arn(args.typ.split(":")[1].split("/")[0], f"{args.name}"), **args.inputs}
        canned = CANNED.get(args.typ)
        if canned is not None:
            state.update(canned(ctx, args))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        invoke = INVOKES.get(args.token)
        if invoke is None:
            raise NotImplementedError(f"the mock kit has no canned answer for invoke {args.token}; add one to offline/mocks.py")
        return invoke(self.ctx, args.args), []  # no check failures (the SDK iterates them)
