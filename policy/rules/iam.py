"""IAM: IRSA trust pinned to one service account, no wildcard or admin grants, one way of attaching policies."""

import re
from collections.abc import Iterator, Sequence

from .base import Registry, Resource, as_list, dig, of_type, statements

rules = Registry()

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ROLE_POLICY_RESOURCES = (ROLE_POLICY, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT)
ADMIN_POLICIES = re.compile(r"arn:aws[a-z-]*:iam::aws:policy/(AdministratorAccess|PowerUserAccess|IAMFullAccess)$")
SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$")
STS_AUDIENCE = "sts.amazonaws.com"


def _irsa_problems(statement: dict) -> Iterator[str]:
    condition = statement.get("Condition") or {}
    if set(condition) - {"StringEquals"}:
        yield f"conditions {sorted(set(condition) - {'StringEquals'})} widen the trust; use StringEquals only"
    equals = condition.get("StringEquals") or {}
    subjects = [v for k, v in equals.items() if k.endswith(":sub")]
    audiences = [v for k, v in equals.items() if k.endswith(":aud")]
    if len(subjects) != 1 or not isinstance(subjects[0], str) or not SERVICE_ACCOUNT.match(subjects[0]):
        yield f"trust must pin exactly one service account (:sub = system:serviceaccount:<ns>:<name>), got {subjects}"
    if audiences != [STS_AUDIENCE]:
        yield f"trust must pin the audience to {STS_AUDIENCE}, got {audiences}"


@rules.resource("iam-irsa-trust", "An IRSA role trusts one service account, for the STS audience only.", [ROLE])
def irsa_trust(role: Resource) -> Iterator[str]:
    for statement in statements(role.get("assumeRolePolicy")):
        if "sts:AssumeRoleWithWebIdentity" in as_list(statement.get("Action")):
            yield from _irsa_problems(statement)


def _grant_problems(document: object) -> Iterator[str]:
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            yield "Allow with NotAction/NotResource grants everything else"
        actions = [str(a) for a in as_list(statement.get("Action"))]
        wildcard_resource = "*" in as_list(statement.get("Resource"))
        for action in actions:
            if action in ("*", "*:*"):
                yield "Action '*' is admin access"
            elif action.endswith(":*") and wildcard_resource:
                yield f"Action {action!r} on Resource '*' is a whole service on everything"


@rules.resource(
    "iam-no-wildcard",
    "Policies grant named actions on named resources; no admin or wildcard grants.",
    [ROLE, POLICY, ROLE_POLICY, ROLE_POLICY_ATTACHMENT],
)
def no_wildcard(r: Resource) -> Iterator[str]:
    if r.type in (POLICY, ROLE_POLICY):
        yield from _grant_problems(r.get("policy"))
    elif r.type == ROLE:
        for inline in as_list(r.get("inlinePolicies")):
            yield from _grant_problems(dig(inline, "policy"))
        for arn in as_list(r.get("managedPolicyArns")):
            if ADMIN_POLICIES.match(str(arn)):
                yield f"managed policy {arn} is admin access"
    elif ADMIN_POLICIES.match(str(r.get("policyArn"))):
        yield f"attaches admin policy {r.get('policyArn')}"


@rules.stack("iam-policy-management", "A role's policies are managed one way: its own inline/managed lists fight standalone attachments.")
def policy_management(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for role in of_type(resources, ROLE):
        exclusive = [key for key in ("inlinePolicies", "managedPolicyArns") if role.get(key)]
        standalone = [r.name for r in of_type(resources, *ROLE_POLICY_RESOURCES) if r.depends_on(role)]
        if len(exclusive) > 1 or (exclusive and standalone):
            yield role, f"mixes {' and '.join(exclusive)}{' with standalone ' + ', '.join(standalone) if standalone else ''}"
