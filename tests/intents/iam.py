"""Intents of the rules in policy/rules/iam.py (see tests/intents/__init__.py).

The oracles evaluate IAM as AWS does, over a small universe of requests: action names and condition keys match
case-insensitively, `*` matches any characters, Allow statements grant (a Deny grants nothing), operators of a
Condition are ANDed and the values of one operator ORed; StringEquals is exact, StringLike has wildcards.
"""

import json
from fnmatch import fnmatchcase
from typing import Any

from hypothesis import strategies as st

from ..test_policy_rules import res
from . import Case, Intents

ROLE = "aws:iam/role:Role"
ISSUER = "oidc.eks.ap-northeast-1.amazonaws.com/id/X"
PROVIDER = f"arn:aws:iam::1:oidc-provider/{ISSUER}"


def iam_match(pattern: object, value: str) -> bool:
    return fnmatchcase(value.lower(), str(pattern).lower())


def as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def document(statements: list[dict], as_json: bool, single: bool) -> object:
    """The same policy as AWS reads it: a JSON string or a structure, one statement as an object or in a list."""
    body = {"Version": "2012-10-17", "Statement": statements[0] if single and len(statements) == 1 else statements}
    return json.dumps(body) if as_json else body


DOCUMENT_FORM = st.tuples(st.booleans(), st.booleans())


def grants(statement: dict, action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not any(iam_match(p, action) for p in as_list(statement["NotAction"]))
    return any(iam_match(p, action) for p in as_list(statement.get("Action")))


# -- iam-irsa-trust: the tokens a trust admits, among service accounts and audiences that exist or could.

SUBJECTS = [
    "system:serviceaccount:apps:search",
    "system:serviceaccount:apps:search-v2",
    "system:serviceaccount:apps:other",
    "system:serviceaccount:kube-system:search",
]
AUDIENCES = ["sts.amazonaws.com", "sts.example.com", "api"]
SUBJECT_VALUES = st.sampled_from(
    [
        "system:serviceaccount:apps:search",
        ["system:serviceaccount:apps:search"],
        ["system:serviceaccount:apps:search", "system:serviceaccount:apps:other"],
        "system:serviceaccount:apps:*",
        "system:serviceaccount:*:search",
        "system:serviceaccount:apps:search*",
        "apps:search",
    ]
)
AUDIENCE_VALUES = st.sampled_from(["sts.amazonaws.com", ["sts.amazonaws.com"], "sts.*", ["sts.amazonaws.com", "api"], "api"])
WEB_IDENTITY_ACTIONS = st.sampled_from(
    [
        "sts:AssumeRoleWithWebIdentity",
        "STS:assumerolewithwebidentity",
        ["sts:TagSession", "sts:AssumeRoleWithWebIdentity"],
        "sts:AssumeRoleWith*",
        "sts:*",
        "*",
        "sts:AssumeRole",
    ]
)


def admitted(statement: dict) -> set[tuple[str, str]]:
    """The (subject, audience) tokens the statement's Condition lets through."""
    condition = statement.get("Condition") or {}

    def passes(subject: str, audience: str) -> bool:
        for operator, tests in condition.items():
            for key, values in tests.items():
                token = subject if key.lower().endswith(":sub") else audience
                exact = operator == "StringEquals"
                if not any(token == v if exact else fnmatchcase(token, v) for v in as_list(values)):
                    return False
        return True

    return {(s, a) for s in SUBJECTS for a in AUDIENCES if passes(s, a)}


def irsa_trust() -> st.SearchStrategy[Case]:
    """A trust is narrow when every grant of AssumeRoleWithWebIdentity lets through one service account, and only
    tokens for STS: however the action is spelled (case, wildcards, NotAction) and however the condition pins it."""

    tests = st.tuples(
        st.sampled_from(["StringEquals", "StringLike"]),
        st.sampled_from(["sub", "Sub"]),
        st.one_of(st.none(), SUBJECT_VALUES),
        st.sampled_from(["StringEquals", "StringLike"]),
        st.one_of(st.none(), AUDIENCE_VALUES),
        st.booleans(),  # a narrowing StringLike on the namespace beside the pin
    )

    def condition(spec: tuple) -> dict:
        sub_op, sub_key, sub, aud_op, aud, narrowed = spec
        blocks: dict[str, dict] = {}
        if sub is not None:
            blocks.setdefault(sub_op, {})[f"{ISSUER}:{sub_key}"] = sub
        if aud is not None:
            blocks.setdefault(aud_op, {})[f"{ISSUER}:aud"] = aud
        if narrowed and sub_op == "StringEquals":
            blocks["StringLike"] = {**blocks.get("StringLike", {}), f"{ISSUER}:sub": "system:serviceaccount:apps:*"}
        return blocks

    statement = st.builds(
        lambda effect, action, not_action, spec: {
            "Effect": effect,
            "Principal": {"Federated": PROVIDER},
            **({"NotAction": ["sts:AssumeRole"]} if not_action else {"Action": action}),
            **({"Condition": c} if (c := condition(spec)) else {}),
        },
        st.sampled_from(["Allow", "Allow", "Deny"]),
        WEB_IDENTITY_ACTIONS,
        st.integers(0, 5).map(lambda n: n == 0),
        tests,
    )

    def case(statements: list[dict], form: tuple[bool, bool]) -> Case:
        role = res(ROLE, {"assumeRolePolicy": document(statements, *form), "tags": {"irsa": "exempt"}}, "irsa")
        wide = False
        for s in statements:
            if grants(s, "sts:AssumeRoleWithWebIdentity"):
                tokens = admitted(s)
                wide |= len({sub for sub, _ in tokens}) != 1 or {aud for _, aud in tokens} != {"sts.amazonaws.com"}
        return Case([role], violates=wide)

    return st.builds(case, st.lists(statement, min_size=1, max_size=2), DOCUMENT_FORM)


# -- iam-no-wildcard: what a statement grants, over a universe of actions and resources of several services.

ACTIONS = [
    "s3:GetObject",
    "s3:GetBucketPolicy",
    "s3:PutObject",
    "iam:PassRole",
    "iam:CreateUser",
    "ec2:DescribeInstances",
    "ec2:DescribeVpcs",
]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:iam::1:role/x", "arn:aws:ec2:ap-northeast-1:1:instance/i-1"]
ACTION_PATTERNS = st.sampled_from(
    [
        "s3:GetObject",
        "S3:getobject",
        "iam:PassRole",
        "ec2:DescribeInstances",
        "s3:Get*",
        "ec2:Describe*",
        "s3:*",
        "S3:*",
        "iAm:*",
        "*",
        "*:*",
    ]
)
RESOURCE_PATTERNS = st.sampled_from(["*", "arn:*", "arn:aws:s3:::b/*", "arn:aws:s3:::*", "arn:aws:iam::1:role/x"])
ADMIN = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"]
MANAGED = st.sampled_from(
    [
        *(f"arn:{p}:iam::aws:policy/{n}" for p in ("aws", "aws-cn", "aws-us-gov") for n in ADMIN),
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
        "arn:aws:iam::1:policy/s3-reader",
    ]
)


def wildcard_grant(statement: dict) -> bool:
    """Admin (every action), everything-but (NotAction/NotResource), or a wildcard reaching several actions on every resource."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement or "NotResource" in statement:
        return True
    on_everything = all(any(iam_match(p, r) for p in as_list(statement.get("Resource"))) for r in RESOURCES)
    for pattern in as_list(statement.get("Action")):
        reached = [a for a in ACTIONS if iam_match(pattern, a)]
        if reached == ACTIONS or (len(reached) > 1 and on_everything):
            return True
    return False


def is_admin_arn(arn: str) -> bool:
    """AWS-managed admin policies, in any partition (arn:aws, arn:aws-cn, arn:aws-us-gov)."""
    return arn.split("::", 1)[1] in {f"aws:policy/{n}" for n in ADMIN}


def no_wildcard() -> st.SearchStrategy[Case]:
    statement = st.builds(
        lambda effect, actions, resources, negated: {
            "Effect": effect,
            "NotAction" if negated == "NotAction" else "Action": actions,
            "NotResource" if negated == "NotResource" else "Resource": resources,
        },
        st.sampled_from(["Allow", "Allow", "Deny"]),
        st.one_of(ACTION_PATTERNS, st.lists(ACTION_PATTERNS, min_size=1, max_size=3)),
        st.one_of(RESOURCE_PATTERNS, st.lists(RESOURCE_PATTERNS, min_size=1, max_size=2)),
        st.sampled_from([None, None, None, None, "NotAction", "NotResource"]),
    )

    def holder(kind: str, doc: object, arn: str) -> Any:
        if kind == "role-inline":
            return res(ROLE, {"inlinePolicies": [{"name": "p", "policy": doc}]}, "role")
        if kind == "role-managed":
            return res(ROLE, {"managedPolicyArns": [arn]}, "role")
        if kind.endswith("Attachment"):
            return res(f"aws:iam/{kind[0].lower()}{kind[1:]}:{kind}", {"policyArn": arn}, "att")
        return res(f"aws:iam/{kind[0].lower()}{kind[1:]}:{kind}", {"policy": doc}, "pol")

    kinds = st.sampled_from(
        [
            "Policy",
            "RolePolicy",
            "UserPolicy",
            "GroupPolicy",
            "role-inline",
            "role-managed",
            "RolePolicyAttachment",
            "PolicyAttachment",
            "UserPolicyAttachment",
        ]
    )

    def case(kind: str, statements: list[dict], form: tuple[bool, bool], arn: str) -> Case:
        by_arn = kind == "role-managed" or kind.endswith("Attachment")
        violates = is_admin_arn(arn) if by_arn else any(wildcard_grant(s) for s in statements)
        return Case([holder(kind, document(statements, *form), arn)], violates)

    return st.builds(case, kinds, st.lists(statement, min_size=1, max_size=3), DOCUMENT_FORM, MANAGED)


# -- iam-policy-management: a role's own exclusive lists beside standalone attachments of the same role.

STANDALONE = [
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
]
INLINE = st.sampled_from(["absent", None, [], [{}], [{"name": "p", "policy": json.dumps({"Statement": []})}]])
MANAGED_LIST = st.sampled_from(["absent", None, [], ["arn:aws:iam::1:policy/p"]])


def policy_management() -> st.SearchStrategy[Case]:
    """managedPolicyArns, once set (even to []), detaches every policy it does not list; inlinePolicies with an entry
    (even an empty one) deletes every inline policy it does not hold: either fights a standalone attachment, and
    the rule asks for one way of managing a role's policies."""

    def case(inline: Any, managed: Any, standalone: list[tuple[str, bool]]) -> Case:
        inputs = {k: v for k, v in (("inlinePolicies", inline), ("managedPolicyArns", managed)) if v != "absent"}
        role = res(ROLE, inputs, "role")
        other = res(ROLE, {}, "other")
        attached = [
            res(type_, {"policyArn": "arn:aws:iam::1:policy/p"}, f"a{i}", deps=((role if mine else other).urn,))
            for i, (type_, mine) in enumerate(standalone)
        ]
        exclusive = int(bool(inline) and inline != "absent") + int(managed not in ("absent", None))
        mine = any(m for _, m in standalone)
        return Case([role, other, *attached], violates=exclusive > 1 or (exclusive == 1 and mine))

    return st.builds(case, INLINE, MANAGED_LIST, st.lists(st.tuples(st.sampled_from(STANDALONE), st.booleans()), max_size=3))


INTENTS: Intents = {
    "iam-irsa-trust": irsa_trust(),
    "iam-no-wildcard": no_wildcard(),
    "iam-policy-management": policy_management(),
}
