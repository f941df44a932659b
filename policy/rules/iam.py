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
# Users' and groups' policies grant as much as a role's.
PRINCIPAL_POLICIES = ("aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy")
POLICY_ATTACHMENTS = (
    ROLE_POLICY_ATTACHMENT,
    POLICY_ATTACHMENT,
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
ROLE_POLICY_RESOURCES = (ROLE_POLICY, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT)
ADMIN_POLICIES = re.compile(r"arn:aws[a-z-]*:iam::aws:policy/(AdministratorAccess|PowerUserAccess|IAMFullAccess)$")
SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$")
STS_AUDIENCE = "sts.amazonaws.com"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


def _matches(pattern: str, action: str) -> bool:
    """IAM matches action names case-insensitively, `*` standing for any characters and `?` for one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, action.lower()) is not None


def _allows(statement: dict, action: str) -> bool:
    """An Allow statement grants `action` when an Action pattern matches it, or a NotAction leaves it out."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not any(_matches(str(p), action) for p in as_list(statement["NotAction"]))
    return any(_matches(str(p), action) for p in as_list(statement.get("Action")))


def _pins(condition: dict, key_suffix: str) -> tuple[list[str], list[str]]:
    """(every value a condition tests `<issuer>:<suffix>` against, the single values it pins the key to).

    Condition keys are case-insensitive. Operators are ANDed, so any one of them can pin the key; an operator's values
    are ORed, so it pins only if it names one value, matched exactly (StringEquals, or StringLike without wildcards)."""
    seen: list[str] = []
    pinned: list[str] = []
    for operator in ("StringEquals", "StringLike"):
        tests = condition.get(operator)
        for key, raw in tests.items() if isinstance(tests, dict) else ():
            if not str(key).lower().endswith(f":{key_suffix}"):
                continue
            values = sorted({str(v) for v in as_list(raw)})
            seen += values
            if len(values) == 1 and (operator == "StringEquals" or not any(c in values[0] for c in "*?")):
                pinned.append(values[0])
    return seen, pinned


def _irsa_problems(statement: dict) -> Iterator[str]:
    condition = statement.get("Condition")
    condition = condition if isinstance(condition, dict) else {}
    subjects, pinned_subjects = _pins(condition, "sub")
    audiences, pinned_audiences = _pins(condition, "aud")
    if not any(SERVICE_ACCOUNT.match(s) for s in pinned_subjects):
        yield f"trust must pin exactly one service account (:sub = system:serviceaccount:<ns>:<name>), got {subjects}"
    if STS_AUDIENCE not in pinned_audiences:
        yield f"trust must pin the audience to {STS_AUDIENCE}, got {audiences}"


@rules.resource("iam-irsa-trust", "An IRSA role trusts one service account, for the STS audience only.", [ROLE])
def irsa_trust(role: Resource) -> Iterator[str]:
    for statement in statements(role.get("assumeRolePolicy")):
        if _allows(statement, WEB_IDENTITY):
            yield from _irsa_problems(statement)


def _everything(resource: str) -> bool:
    """`*`, or an ARN pattern that is nothing but wildcards (`arn:*`, `arn:*:*:*:*:*`)."""
    return "*" in resource and re.fullmatch(r"(arn)?[*?:]*", resource) is not None


def _grant_problems(document: object) -> Iterator[str]:
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue  # a Deny grants nothing
        if "NotAction" in statement or "NotResource" in statement:
            yield "Allow with NotAction/NotResource grants everything else"
        on_everything = any(_everything(str(r)) for r in as_list(statement.get("Resource")))
        for action in map(str, as_list(statement.get("Action"))):
            if "*" in action and set(action) <= {"*", ":"}:
                yield f"Action {action!r} is admin access"
            elif any(c in action for c in "*?") and on_everything:
                yield f"wildcard Action {action!r} on every resource"


@rules.resource(
    "iam-no-wildcard",
    "Policies grant named actions on named resources; no admin or wildcard grants.",
    [ROLE, POLICY, ROLE_POLICY, *PRINCIPAL_POLICIES, *POLICY_ATTACHMENTS],
)
def no_wildcard(r: Resource) -> Iterator[str]:
    if r.type in (POLICY, ROLE_POLICY, *PRINCIPAL_POLICIES):
        yield from _grant_problems(r.get("policy"))
    elif r.type == ROLE:
        for inline in as_list(r.get("inlinePolicies")):
            yield from _grant_problems(dig(inline, "policy"))
        for arn in as_list(r.get("managedPolicyArns")):
            if ADMIN_POLICIES.match(str(arn)):
                yield f"managed policy {arn} is admin access"
    elif ADMIN_POLICIES.match(str(r.get("policyArn"))):
        yield f"attaches admin policy {r.get('policyArn')}"


def _exclusive_lists(role: Resource) -> list[str]:
    """The role's own lists that manage its policies exclusively: managedPolicyArns once set, even empty (it then
    detaches every other policy); inlinePolicies once it has an entry (one empty entry removes every other)."""
    lists = ["inlinePolicies"] if as_list(role.get("inlinePolicies")) else []
    return lists + (["managedPolicyArns"] if role.inputs.get("managedPolicyArns") is not None else [])


@rules.stack("iam-policy-management", "A role's policies are managed one way: its own inline/managed lists fight standalone attachments.")
def policy_management(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for role in of_type(resources, ROLE):
        exclusive = _exclusive_lists(role)
        standalone = [r.name for r in of_type(resources, *ROLE_POLICY_RESOURCES) if r.depends_on(role)]
        if len(exclusive) > 1 or (exclusive and standalone):
            yield role, f"mixes {' and '.join(exclusive)}{' with standalone ' + ', '.join(standalone) if standalone else ''}"
