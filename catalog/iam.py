"""What a service's IRSA statements may grant: the stack's own resources, never a way to more privilege.

Escalation paths: the IAM and STS actions that hand out or widen credentials (Rhino Security Labs'
catalogue of AWS privilege escalation methods), and the services that run code under a passed role.
"""

import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

ESCALATING_ACTIONS = (
    "iam:PassRole",
    "iam:CreateRole", "iam:UpdateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:CreateServiceLinkedRole",
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion",
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
    "iam:DetachRolePolicy", "iam:DetachUserPolicy", "iam:DetachGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:DeleteRolePolicy", "iam:DeleteUserPolicy", "iam:DeleteGroupPolicy",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
    "iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
    "iam:AddUserToGroup", "iam:UpdateGroup",
    "sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:GetFederationToken", "sts:AssumeRoot",
    "lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
    "ec2:RunInstances", "ecs:RunTask", "ecs:RegisterTaskDefinition", "glue:CreateDevEndpoint", "glue:UpdateDevEndpoint",
    "cloudformation:CreateStack", "cloudformation:UpdateStack", "ssm:SendCommand", "ssm:StartSession",
    "datapipeline:CreatePipeline", "codebuild:CreateProject", "sagemaker:CreateNotebookInstance",
)  # fmt: skip

_ARN = re.compile(r"^arn:aws:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>[^:]*):(?P<resource>.+)$")
_ASCII_ARN = re.compile(r"^[\x21-\x7e]+$")


def escalations(action: str) -> list[str]:
    """The escalating actions `action` grants (itself, or those its wildcard covers); IAM matches case-insensitively."""
    return [a for a in ESCALATING_ACTIONS if fnmatchcase(a.lower(), action.lower())]


def stack_bucket_prefix(environment: str) -> str:
    return f"insight-{environment}-"  # components/aws/storage.py: bucket_name


def resource_problems(arn: str, environment: str, account: str | None) -> Iterator[str]:
    """Why `arn` is not one of this stack's own resources."""
    match = _ARN.match(arn) if _ASCII_ARN.match(arn) else None
    if match is None:
        yield f"resource {arn!r} is not an ARN arn:aws:<service>:<region>:<account>:<resource> in plain ASCII"
        return
    own = f"insight-{environment}"
    if match["service"] == "s3":
        # Bucket ARNs carry no account: the bucket name says whose it is.
        bucket = match["resource"].split("/", 1)[0]
        if not bucket.startswith(stack_bucket_prefix(environment)) or (account is not None and not bucket.endswith(f"-{account}")):
            yield f"resource {arn!r} is not one of this stack's buckets ({stack_bucket_prefix(environment)}<purpose>-{account})"
        elif "*" in bucket or "?" in bucket:
            yield f"resource {arn!r} has a wildcard in the bucket name"
        return
    if account is None or match["account"] != account:
        yield f"resource {arn!r} is outside this stack's account {account}"
    elif own not in re.split(r"[*?]", match["resource"], maxsplit=1)[0]:  # named before any wildcard
        yield f"resource {arn!r} does not name one of this stack's resources (named {own}-...)"
