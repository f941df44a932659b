"""ECR: one hardened repository per catalog service, the Docker Hub cache and CI's push rights, in each stack."""

import json

import pytest

from catalog import load_catalog
from components.aws.registry import DOCKER_HUB_PREFIX, PUSH_ACTIONS, push_policy
from offline.recorder import Record

from .conftest import declared

ACCOUNTS = {"test": "111111111111", "staging": "222222222222", "prod": "333333333333"}
REGIONS = {"test": "us-west-2", "staging": "us-west-2", "prod": "ap-northeast-1"}
# keepReleases, snapshotDays and the default untaggedDays, as in each stack file.
AGES = {"test": (10, 7, 1), "staging": (20, 14, 1), "prod": (30, 14, 1)}


def services(stack: str) -> list[str]:
    return sorted(s.name for s in load_catalog(stack).services)


def repositories(run) -> dict[str, Record]:
    return {r.inputs["tags"]["service"]: r for r in run.of_type("aws:ecr/repository:Repository")}


def test_one_repository_per_catalog_service(run):
    repos = repositories(run)
    assert sorted(repos) == services(run.stack) != []
    for service, repo in repos.items():
        assert repo.inputs["name"] == f"insight-{run.stack}/{service}"
    assert sorted(run.outputs["repositoryUrls"]) == services(run.stack)
    prefix = f"{ACCOUNTS[run.stack]}.dkr.ecr.{REGIONS[run.stack]}.amazonaws.com/insight-{run.stack}/"
    assert all(url == prefix + service for service, url in run.outputs["repositoryUrls"].items())


def test_repositories_immutable_scanned_and_kms_encrypted(run):
    key = run.one("aws:kms/key:Key", "registry-images")
    assert key.inputs["enableKeyRotation"] is True
    for repo in repositories(run).values():
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        (encryption,) = repo.inputs["encryptionConfigurations"]
        assert encryption["encryptionType"] == "KMS"
        assert encryption["kmsKey"].startswith(f"arn:aws:kms:{REGIONS[run.stack]}:{ACCOUNTS[run.stack]}:key/")
        assert key.urn in repo.dependencies


def test_lifecycle_expires_untagged_then_snapshots_and_keeps_the_last_releases(run):
    keep, snapshot_days, untagged_days = AGES[run.stack]
    policies = {r.name: r for r in run.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")}
    assert sorted(policies) == [f"registry-{s}" for s in services(run.stack)]
    for policy in policies.values():
        rules = sorted(json.loads(policy.inputs["policy"])["rules"], key=lambda r: r["rulePriority"])
        assert [r["rulePriority"] for r in rules] == [1, 2, 3]
        untagged, snapshots, releases = (r["selection"] for r in rules)
        assert untagged == {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": untagged_days}
        assert snapshots["tagStatus"] == "tagged" and snapshots["tagPatternList"] == ["*-SNAPSHOT*"]
        assert (snapshots["countType"], snapshots["countNumber"]) == ("sinceImagePushed", snapshot_days)
        # ECR requires the `any` rule to come last.
        assert releases == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep}
        assert all(r["action"] == {"type": "expire"} for r in rules)


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_repositories_outlive_a_teardown_outside_test(stack):
    run = declared(stack)
    kept = stack != "test"
    for repo in repositories(run).values():
        assert repo.retain_on_delete is kept
        assert repo.inputs["forceDelete"] is not kept
    key = run.one("aws:kms/key:Key", "registry-images")
    assert (key.protect, key.retain_on_delete) == (kept, kept)


def test_docker_hub_pull_through_cache_reads_credentials_from_a_prefixed_secret(run):
    secret = run.one("aws:secretsmanager/secret:Secret", "registry-docker-hub")
    assert secret.inputs["name"] == f"ecr-pullthroughcache/{DOCKER_HUB_PREFIX}"
    # ECR reads the secret when the rule is created: the rule waits for its value, the stack's secret config.
    value = run.one("aws:secretsmanager/secretVersion:SecretVersion", "registry-docker-hub")
    assert value.inputs["secretString"] == "[secret]" and secret.urn in value.dependencies
    rule = run.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert value.urn in rule.dependencies
    assert rule.inputs["ecrRepositoryPrefix"] == DOCKER_HUB_PREFIX
    assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule.inputs["credentialArn"].startswith("arn:aws:secretsmanager:")
    template = run.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert template.inputs["prefix"] == DOCKER_HUB_PREFIX and template.inputs["appliedFors"] == ["PULL_THROUGH_CACHE"]
    assert json.loads(template.inputs["lifecyclePolicy"])["rules"]


def test_creation_template_tags_and_encrypts_through_its_own_role(run):
    template = run.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    key = run.one("aws:kms/key:Key", "registry-images")
    role = run.one("aws:iam/role:Role", "registry-creation-template")
    assert template.inputs["resourceTags"] and template.inputs["encryptionConfigurations"][0]["kmsKey"].startswith("arn:aws:kms:")
    # The provider documents customRoleArn as required for both tags and a KMS key.
    assert template.inputs["customRoleArn"].startswith("arn:aws:iam::") and "registry-creation-template" in template.inputs["customRoleArn"]
    assert role.urn in template.dependencies and key.urn in template.dependencies
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ecr.amazonaws.com"}
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "registry-creation-template").inputs["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"ecr:TagResource", "kms:CreateGrant", "kms:GenerateDataKey"} <= actions


def test_the_test_stack_can_be_recreated_right_after_a_destroy(run):
    secret = run.one("aws:secretsmanager/secret:Secret", "registry-docker-hub")
    # Secrets Manager reserves a deleted secret's name for its recovery window (30 days by default).
    assert (secret.inputs.get("recoveryWindowInDays") == 0) is (run.stack == "test")


def test_ci_may_push_only_to_these_repositories(run):
    policy = json.loads(run.one("aws:iam/policy:Policy", "registry-ci-push").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["RegistryLogin"] == {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
    push = by_sid["PushServiceImages"]
    arn_prefix = f"arn:aws:ecr:{REGIONS[run.stack]}:{ACCOUNTS[run.stack]}:repository/insight-{run.stack}/"
    assert push["Resource"] == sorted(arn_prefix + s for s in services(run.stack))
    assert "ecr:PutImage" in push["Action"] and not any("Delete" in a or a.endswith("*") for a in push["Action"])
    assert run.outputs["ciPushPolicyArn"].endswith("registry-ci-push")


def test_push_policy_never_widens_to_every_repository():
    statements = push_policy(["arn:aws:ecr:us-west-2:1:repository/b", "arn:aws:ecr:us-west-2:1:repository/a"])["Statement"]
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert [s["Action"] for s in wildcard] == ["ecr:GetAuthorizationToken"]
    assert statements[1]["Resource"] == ["arn:aws:ecr:us-west-2:1:repository/a", "arn:aws:ecr:us-west-2:1:repository/b"]
    assert statements[1]["Action"] == PUSH_ACTIONS


def test_nodes_may_fill_the_docker_hub_cache_and_nothing_more(run):
    policy = json.loads(run.one("aws:iam/policy:Policy", "registry-pull-through").inputs["policy"])
    (grant,) = policy["Statement"]
    assert sorted(grant["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert grant["Resource"] == f"arn:aws:ecr:{REGIONS[run.stack]}:{ACCOUNTS[run.stack]}:repository/{DOCKER_HUB_PREFIX}/*"
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "registry-pull-through")
    node_role = run.one("aws:iam/role:Role", "cluster-node")
    assert attachment.inputs["role"] == "cluster-node"  # the mock names an unnamed role after its resource
    assert node_role.urn in attachment.dependencies
