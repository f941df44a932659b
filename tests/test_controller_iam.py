"""Controller IAM as published: the declared policy grants at least what the pinned version's project publishes."""

import copy
import json

import pytest

from components.k8s.platform.controllers import LOAD_BALANCER_CONTROLLER_NARROWINGS, load_balancer_controller_policy
from components.k8s.platform.published import provenance, published_policy, uncovered
from offline.runner import Run
from settings import versions

LBC = "aws-load-balancer-controller"


def test_published_policy_is_the_pinned_versions_with_provenance() -> None:
    source = provenance(LBC)
    assert source["tag"] == "v2.13.4" and source["path"] == "docs/install/iam_policy.json"
    assert versions.AWS_LOAD_BALANCER_CONTROLLER.version in source["chart"]
    assert len(source["blob"]) == 40 and len(source["commit"]) == 40


def test_declared_policy_grants_everything_published_or_says_why_not() -> None:
    declared = load_balancer_controller_policy("insight-prod")
    assert uncovered(declared, published_policy(LBC), LOAD_BALANCER_CONTROLLER_NARROWINGS) == []
    assert all(reason.strip() for reason in LOAD_BALANCER_CONTROLLER_NARROWINGS.values())


def test_the_role_carries_the_declared_policy(run: Run) -> None:
    [policy] = [r for r in run.records if r.type == "aws:iam/policy:Policy" and r.name.endswith("-lbc-policy")]
    assert json.loads(policy.inputs["policy"]) == load_balancer_controller_policy(run.stack)


def _planted(mutate) -> dict:  # type: ignore[no-untyped-def]
    declared = copy.deepcopy(load_balancer_controller_policy("insight-prod"))
    mutate(declared["Statement"])
    return declared


def _tag_condition_on_create_security_group(statements: list[dict]) -> None:
    [create] = [s for s in statements if s["Action"] == ["ec2:CreateSecurityGroup"]]
    create["Condition"] = {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": "insight-prod"}}


def _ingress_only_on_tagged_groups(statements: list[dict]) -> None:
    statements[:] = [s for s in statements if s["Action"] != ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]]


def _deny_shield(statements: list[dict]) -> None:
    statements.append({"Effect": "Deny", "Action": "shield:*", "Resource": "*"})


@pytest.mark.parametrize("plant", [_tag_condition_on_create_security_group, _ingress_only_on_tagged_groups, _deny_shield])
def test_a_planted_narrowing_fails_the_check(plant) -> None:  # type: ignore[no-untyped-def]
    missing = uncovered(_planted(plant), published_policy(LBC), LOAD_BALANCER_CONTROLLER_NARROWINGS)
    assert missing
    # ...and passes once the narrowing is listed with its reason.
    listed = {g.action: "planted for the test" for g in missing}
    assert uncovered(_planted(plant), published_policy(LBC), listed) == []


def test_a_wider_declared_statement_covers_narrower_published_ones() -> None:
    wide = {"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    ec2_only = {"Statement": [s for s in published_policy(LBC)["Statement"] if all(a.startswith("ec2:") for a in s["Action"])]}
    assert uncovered(wide, ec2_only, {}) == []
