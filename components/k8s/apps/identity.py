"""A service's identity: its ServiceAccount, with exactly the cloud access its catalog file declares."""

import json

import pulumi
import pulumi_kubernetes as k8s

from catalog import ServiceSpec
from components.handle import Grant, WorkloadIdentity
from settings.endpoints import APPS_NAMESPACE

from .workload import object_metadata


def iam_policy(spec: ServiceSpec) -> str | None:
    """Exactly the statements the service declares; None when it needs no AWS access."""
    if not spec.deploy.aws:
        return None
    statements = [{"Effect": "Allow", "Action": list(s.actions), "Resource": list(s.resources)} for s in spec.deploy.aws]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def service_account(
    name: str, spec: ServiceSpec, version: str, identity: WorkloadIdentity, parent: pulumi.Resource
) -> tuple[k8s.core.v1.ServiceAccount, Grant]:
    grant = identity.grant(
        f"{name}-irsa",
        namespace=APPS_NAMESPACE,
        service_account=spec.name,
        policy=iam_policy(spec),
        tags={"component": "apps", "service": spec.name},
        parent=parent,
    )
    account = k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=object_metadata(spec, version, spec.name, dict(grant.annotations)),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return account, grant
