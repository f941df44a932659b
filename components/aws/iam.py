"""IAM documents built as plain data, so tests and policies read them without AWS."""

import json
from typing import Any

import pulumi
import pulumi_aws as aws


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    )


def account_administers_key(account_id: str) -> dict[str, Any]:
    """The KMS key-policy statement that leaves a key's administration to the account's IAM policies."""
    return {
        "Sid": "AccountAdministersThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def irsa_trust_policy(oidc_provider_arn: str, oidc_provider_url: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Trust one Kubernetes service account, and only for the STS audience (IRSA)."""
    issuer = oidc_provider_url.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def irsa_role(
    name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    oidc_provider_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
    managed_policy_arns: list[str] = [],
    inline_policy: pulumi.Input[str] | None = None,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role one service account assumes. Policies are attached as separate resources, never mixed inline."""
    trust = pulumi.Output.all(oidc_provider_arn, oidc_provider_url).apply(
        lambda a: json.dumps(irsa_trust_policy(a[0], a[1], namespace, service_account))
    )
    role = aws.iam.Role(name, assume_role_policy=trust, tags=tags, opts=pulumi.ResourceOptions(parent=parent))
    for i, arn in enumerate(managed_policy_arns):
        aws.iam.RolePolicyAttachment(f"{name}-managed-{i}", role=role.name, policy_arn=arn, opts=pulumi.ResourceOptions(parent=role))
    if inline_policy is not None:
        policy = aws.iam.Policy(f"{name}-policy", policy=inline_policy, tags=tags, opts=pulumi.ResourceOptions(parent=role))
        aws.iam.RolePolicyAttachment(f"{name}-policy", role=role.name, policy_arn=policy.arn, opts=pulumi.ResourceOptions(parent=role))
    return role
