"""ECR: one repository per catalog service (immutable tags, scanned on push, KMS-encrypted, aged by a
lifecycle policy), a pull-through cache of Docker Hub, and the CI deployer's push rights on exactly these
repositories.
"""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.outputs import register_declared
from settings.edge import RegistryConfig

from .iam import assume_role_policy
from .tagging import component_tags

DOCKER_HUB_PREFIX = "docker-hub"
DOCKER_HUB_URL = "registry-1.docker.io"
# ECR reads upstream credentials only from secrets named with this prefix.
PULL_THROUGH_SECRET_PREFIX = "ecr-pullthroughcache/"
# Cached third-party images kept per image; their tags (`7.2`) move upstream, so cache repositories are mutable.
CACHE_KEEP_IMAGES = 10
PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeImageScanFindings",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]


def creation_template_role_policy(key_arn: str) -> dict[str, Any]:
    """What ECR needs, acting for the creation template, to encrypt and tag the repositories the cache creates."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "TagCachedRepositories", "Effect": "Allow", "Action": ["ecr:CreateRepository", "ecr:TagResource"], "Resource": "*"},
            {
                "Sid": "EncryptCachedRepositories",
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt", "kms:RetireGrant"],
                "Resource": key_arn,
            },
        ],
    }


@dataclass(frozen=True)
class RegistryArgs:
    environment: str
    account_id: str
    region: str
    # The nodes' role: kubelet pulls with it, so it may fill the pull-through cache.
    node_role_name: pulumi.Input[str]
    services: list[str]  # one repository each, named after the service
    config: RegistryConfig
    # Docker Hub username and access token (JSON `{"username": ..., "accessToken": ...}`), a Pulumi secret.
    docker_hub_credentials: pulumi.Input[str]
    # Retain the repositories (and the images a rollback needs) when the stack is torn down.
    protect: bool


def repository_name(environment: str, service: str) -> str:
    return f"insight-{environment}/{service}"


def lifecycle_policy(cfg: RegistryConfig) -> dict[str, Any]:
    """Untagged layers go first, then SNAPSHOT builds after a few days; releases are kept N deep.

    ECR applies the lowest matching rule priority only, so SNAPSHOT images never count against the releases.
    """

    def rule(priority: int, description: str, selection: dict[str, Any]) -> dict[str, Any]:
        return {"rulePriority": priority, "description": description, "selection": selection, "action": {"type": "expire"}}

    return {
        "rules": [
            rule(
                1,
                f"untagged images after {cfg.untagged_days} day(s)",
                {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": cfg.untagged_days},
            ),
            rule(
                2,
                f"SNAPSHOT builds after {cfg.snapshot_days} days",
                {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*-SNAPSHOT*"],
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": cfg.snapshot_days,
                },
            ),
            rule(
                3,
                f"keep the last {cfg.keep_releases} releases",
                {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": cfg.keep_releases},
            ),
        ]
    }


def cache_lifecycle_policy(cfg: RegistryConfig) -> dict[str, Any]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"untagged images after {cfg.untagged_days} day(s)",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": cfg.untagged_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the last {CACHE_KEEP_IMAGES} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": CACHE_KEEP_IMAGES},
                "action": {"type": "expire"},
            },
        ]
    }


def pull_through_policy(account_id: str, region: str) -> dict[str, Any]:
    """A first pull of an upstream image creates its cache repository and imports the image."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FillDockerHubCache",
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": f"arn:aws:ecr:{region}:{account_id}:repository/{DOCKER_HUB_PREFIX}/*",
            }
        ],
    }


def push_policy(repository_arns: list[str]) -> dict[str, Any]:
    """The CI deployer may log in to the registry and push to these repositories, and nowhere else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # GetAuthorizationToken has no resource-level permissions.
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Sid": "PushServiceImages", "Effect": "Allow", "Action": PUSH_ACTIONS, "Resource": sorted(repository_arns)},
        ],
    }


class Registry(pulumi.ComponentResource):
    repository_urls: dict[str, pulumi.Output[str]]
    ci_push_policy_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("insight:registry:Registry", name, None, opts)
        tags = component_tags("registry")
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

        key = aws.kms.Key(
            f"{name}-images",
            description=f"Encryption of the insight-{args.environment} service images",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        aws.kms.Alias(f"{name}-images", name=f"alias/insight-{args.environment}-images", target_key_id=key.key_id, opts=child)

        policy_text = json.dumps(lifecycle_policy(args.config))
        repositories: dict[str, aws.ecr.Repository] = {}
        for service in args.services:
            repository = aws.ecr.Repository(
                f"{name}-{service}",
                name=repository_name(args.environment, service),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
                # Only the throwaway test stack may delete a repository that still holds images.
                force_delete=not args.protect,
                tags={**tags, "service": service},
                opts=kept,
            )
            aws.ecr.LifecyclePolicy(f"{name}-{service}", repository=repository.name, policy=policy_text, opts=child)
            repositories[service] = repository

        self._docker_hub_cache(name, args, key, tags)

        push = aws.iam.Policy(
            f"{name}-ci-push",
            description=f"CI pushes service images to the insight-{args.environment} repositories",
            policy=pulumi.Output.all(*[r.arn for r in repositories.values()]).apply(lambda arns: json.dumps(push_policy(list(arns)))),
            tags=tags,
            opts=child,
        )

        self.repository_urls = {service: r.repository_url for service, r in repositories.items()}
        self.ci_push_policy_arn = push.arn
        register_declared(self)

    def _docker_hub_cache(self, name: str, args: RegistryArgs, key: aws.kms.Key, tags: dict[str, str]) -> None:
        """Pulls of `<registry>/docker-hub/<image>` are served from ECR, fetched once from Docker Hub."""
        child = pulumi.ResourceOptions(parent=self)
        credentials = aws.secretsmanager.Secret(
            f"{name}-docker-hub",
            name=f"{PULL_THROUGH_SECRET_PREFIX}{DOCKER_HUB_PREFIX}",
            description="Docker Hub credentials for the ECR pull-through cache",
            # A secret scheduled for deletion keeps its name for the window: a torn-down stack could not be recreated.
            recovery_window_in_days=0 if not args.protect else None,
            tags=tags,
            opts=child,
        )
        # ECR reads the credentials when the rule is created: the value (the stack's secret config) comes first.
        value = aws.secretsmanager.SecretVersion(
            f"{name}-docker-hub", secret_id=credentials.id, secret_string=args.docker_hub_credentials, opts=child
        )
        rule = aws.ecr.PullThroughCacheRule(
            f"{name}-docker-hub",
            ecr_repository_prefix=DOCKER_HUB_PREFIX,
            upstream_registry_url=DOCKER_HUB_URL,
            credential_arn=value.secret_arn,
            opts=child,
        )
        # ECR applies the template's tags and customer key only through a role of ours (customRoleArn).
        template_role = aws.iam.Role(
            f"{name}-creation-template", assume_role_policy=assume_role_policy("ecr.amazonaws.com"), tags=tags, opts=child
        )
        template_policy = aws.iam.RolePolicy(
            f"{name}-creation-template",
            role=template_role.id,
            policy=key.arn.apply(lambda arn: json.dumps(creation_template_role_policy(arn))),
            opts=child,
        )
        # Repositories the cache creates get encryption and a lifecycle policy too.
        aws.ecr.RepositoryCreationTemplate(
            f"{name}-docker-hub",
            prefix=DOCKER_HUB_PREFIX,
            description="Docker Hub images cached by the pull-through rule",
            applied_fors=["PULL_THROUGH_CACHE"],
            image_tag_mutability="MUTABLE",
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
            lifecycle_policy=json.dumps(cache_lifecycle_policy(args.config)),
            resource_tags=tags,
            custom_role_arn=template_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[rule, template_policy]),
        )
        fill = aws.iam.Policy(
            f"{name}-pull-through",
            description="Nodes fill the Docker Hub pull-through cache on a first pull",
            policy=json.dumps(pull_through_policy(args.account_id, args.region)),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-pull-through", role=args.node_role_name, policy_arn=fill.arn, opts=child)
