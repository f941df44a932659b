"""The whole stack's typed settings, read from `Pulumi.<stack>.yaml` and checked before any resource exists.

A later concern adds its section as one field of `StackConfig` and its checks to `_semantic_checks`.
"""

import json
import re
from collections.abc import Iterator
from typing import Any, get_args

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import Field, ValidationError

from .base import Section
from .cluster import (
    ClusterConfig,
    NodePoolsConfig,
    check_admins,
    check_cidr_overlap,
    check_endpoint,
    check_pool_sizes,
    check_reserved_pool,
    check_spot_pool,
)
from .cost import CostConfig, check_cost
from .edge import EdgeConfig, check_edge
from .errors import MISSING, ConfigError, Problem
from .network import NetworkConfig, check_network
from .onprem import ONPREM, ONPREM_SECRET_KEYS, OnpremConfig, check_onprem_release
from .platform import PlatformConfig, check_platform
from .release import ReleaseConfig, check_release
from .tiers import TIER_KEY, TIER_NAMES, TierName, TierPolicy, tier_policy

PROJECT = "insight"
# Keys set with `pulumi config set --secret`: read with `require_secret`, never parsed into the model.
# It names AWS resources (insight-<stack>-...) and the catalog cluster file: a DNS label.
STACK_NAME = re.compile(r"[a-z][a-z0-9-]{0,19}")
SECRET_KEYS: frozenset[str] = frozenset({"sentryDsn", "datadogApiKey", "dockerHubCredentials", *ONPREM_SECRET_KEYS})


class TieredStack(Section):
    """What every stack is: its name and its tier, and what follows from them."""

    environment: str = Field(description="the stack's name: it names the cluster, buckets and repositories")
    tier: TierName = Field(description="what the stack must be: one of the tiers of settings/tiers.py")

    @property
    def cluster_name(self) -> str:
        return f"{PROJECT}-{self.environment}"

    @property
    def policy(self) -> TierPolicy:
        return tier_policy(self.tier)

    @property
    def protected(self) -> bool:
        return self.policy.protected


class StackConfig(TieredStack):
    region: str = Field(description="the AWS region the stack lives in")
    # [0-9]: \d accepts other scripts' digits.
    account_id: str = Field(pattern=r"^[0-9]{12}$", description="the one AWS account this stack may touch")
    network: NetworkConfig = Field(description="the VPC, its subnets and NAT")
    cluster: ClusterConfig = Field(description="the EKS control plane")
    node_pools: NodePoolsConfig = Field(description="the reserved and spot node groups")
    release: ReleaseConfig = Field(description="the release this stack runs")
    cost: CostConfig = Field(description="what the cost estimate cannot read from the resources")
    platform: PlatformConfig = Field(description="the data and observability tier")
    edge: EdgeConfig = Field(description="DNS zone, certificates, CDN, bucket and registry retention")


class OnpremStackConfig(TieredStack):
    """A stack on a cluster the customer runs: the Kubernetes layer only, no AWS section."""

    release: ReleaseConfig = Field(description="the final release this stack runs")
    platform: PlatformConfig = Field(description="the data and observability tier")
    onprem: OnpremConfig = Field(description="what the customer's cluster provides")


AnyStackConfig = StackConfig | OnpremStackConfig
# The AWS layer's sections: refused on the onprem tier, whose cluster and edge are the customer's.
AWS_SECTIONS = frozenset({"accountId", "network", "cluster", "nodePools", "cost", "edge"})


def _semantic_checks(cfg: StackConfig) -> Iterator[Problem]:
    yield from check_network(cfg.policy, cfg.region, cfg.network)
    yield from check_cidr_overlap(cfg.network.vpc_cidr, cfg.cluster)
    yield from check_endpoint(cfg.policy, cfg.cluster)
    yield from check_admins(cfg.cluster)
    yield from check_pool_sizes("reserved", cfg.node_pools.reserved)
    yield from check_pool_sizes("spot", cfg.node_pools.spot)
    yield from check_reserved_pool(cfg.node_pools.reserved)
    yield from check_spot_pool(cfg.node_pools.spot)
    yield from check_cost(cfg.region, cfg.node_pools, cfg.cost)
    yield from check_release(cfg.policy, cfg.release)
    yield from check_platform(cfg.policy, cfg.platform)
    yield from check_edge(cfg.policy, cfg.edge)


def _onprem_checks(cfg: OnpremStackConfig) -> Iterator[Problem]:
    yield from check_onprem_release(cfg.release)
    yield from check_platform(cfg.policy, cfg.platform)
    if cfg.platform.metrics.backend != "prometheus":
        yield Problem(
            "platform.metrics.backend", cfg.platform.metrics.backend, "onprem runs Prometheus: the customer's metrics stay on site"
        )


def _section_keys(model: type[Section] = StackConfig) -> dict[str, str]:
    """Stack-file key (`network`) per field, for the sections read from `insight:<key>`."""
    fixed = {"environment", "region"}  # the stack's name and `aws:region`
    return {info.alias or name: name for name, info in model.model_fields.items() if name not in fixed}


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _allowed_keys(loc: tuple[Any, ...], root: type[Section]) -> list[str]:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return []
        annotation = field.annotation
        model = next((a for a in (annotation, *get_args(annotation)) if isinstance(a, type) and issubclass(a, Section)), None)
        if model is None:
            return []
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _pydantic_problems(err: ValidationError, root: type[Section]) -> Iterator[Problem]:
    for e in err.errors():
        loc = tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            message = f"unknown key; allowed keys here: {', '.join(_allowed_keys(loc[:-1], root))}"
        elif e["type"] == "missing":
            message = "required key is missing"
        else:
            message = e["msg"].removeprefix("Value error, ")
        value = MISSING if e["type"] == "missing" else e.get("input")
        yield Problem(_path(loc), value, message)


def parse_stack_config(environment: str, region: str | None, sections: dict[str, Any], source: str) -> AnyStackConfig:
    """Validate raw sections (as read from the stack file) into the tier's typed config, or raise every problem at once."""
    tier = sections.get("tier", environment)
    onprem = tier in TIER_NAMES and not tier_policy(tier).aws
    model: type[StackConfig | OnpremStackConfig] = OnpremStackConfig if onprem else StackConfig
    problems: list[Problem] = []
    if not STACK_NAME.fullmatch(environment):
        problems.append(Problem("stack", environment, "a stack name is lower-case letters, digits and -, starting with a letter"))
    if tier not in TIER_NAMES:
        why = "" if "tier" in sections else f" (no {TIER_KEY}: the stack's name is its tier)"
        problems.append(Problem(TIER_KEY, tier, f"unknown tier{why}; allowed: {', '.join(TIER_NAMES)}"))
    if region is None and not onprem:
        problems.append(Problem("aws:region", MISSING, "required key is missing"))
    known = _section_keys(model)
    # Secret keys are read with `require_secret` where they are used, never parsed into the model.
    sections = {k: v for k, v in sections.items() if k not in SECRET_KEYS}
    for key, value in sections.items():
        if onprem and key in AWS_SECTIONS:
            problems.append(
                Problem(
                    f"{PROJECT}:{key}",
                    value,
                    f"an AWS section; the onprem tier runs on the customer's cluster and takes {PROJECT}: keys {', '.join(sorted(known))}",
                )
            )
        elif not onprem and key == ONPREM:
            problems.append(Problem(f"{PROJECT}:{key}", value, f"only the onprem tier takes this section; {environment} is an AWS stack"))
        elif key not in known:
            allowed = ", ".join(sorted({*known, *SECRET_KEYS}))
            problems.append(Problem(f"{PROJECT}:{key}", value, f"unknown key; allowed {PROJECT}: keys: {allowed}"))
    if problems:
        raise ConfigError(source, problems)
    raw = {k: v for k, v in sections.items() if v is not None} | {"environment": environment, "tier": tier}
    if not onprem:
        raw["region"] = region
    try:
        cfg = model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(source, list(_pydantic_problems(err, model))) from None
    semantic = list(_onprem_checks(cfg) if isinstance(cfg, OnpremStackConfig) else _semantic_checks(cfg))
    if semantic:
        raise ConfigError(source, semantic)
    return cfg


def required_secrets(cfg: AnyStackConfig) -> list[str]:
    """Secrets this stack's settings need: checked for presence (never read) before anything is declared."""
    datadog = ["datadogApiKey"] if cfg.platform.metrics.backend == "datadog" else []
    if isinstance(cfg, OnpremStackConfig):
        return ["sentryDsn", *datadog, *ONPREM_SECRET_KEYS]
    # dockerHubCredentials: ECR reads the pull-through cache's secret when the rule is created, so it has a value first.
    return ["sentryDsn", "dockerHubCredentials", *datadog]


def decode_config_value(text: str) -> Any:
    """Objects and lists come as JSON; scalars stay text, so `"111111111111"` is not read as a number."""
    return json.loads(text) if text.lstrip().startswith(("{", "[")) else text


def _config_keys() -> set[str]:
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def load_stack_config() -> AnyStackConfig:
    """Read this stack's `insight:*` keys through Pulumi's config (as `pulumi up` and the offline preview set it)."""
    stack = pulumi.get_stack()
    source = f"Pulumi.{stack}.yaml"
    config = pulumi.Config(PROJECT)
    sections: dict[str, Any] = {}
    for full_key in sorted(_config_keys()):
        project, _, key = full_key.partition(":")
        if project != PROJECT or key in SECRET_KEYS:
            continue
        if runtime_config.is_config_secret(full_key):
            sections[key] = "[secret]"  # an unknown secret: reported by name, its value never read
            continue
        sections[key] = decode_config_value(config.get(key) or "")
    plaintext = [
        key
        for key in sorted(SECRET_KEYS)
        if f"{PROJECT}:{key}" in _config_keys() and not runtime_config.is_config_secret(f"{PROJECT}:{key}")
    ]
    if plaintext:
        raise ConfigError(
            source,
            [
                Problem(
                    f"{PROJECT}:{key}",
                    "[redacted]",
                    f"committed in plain text: rotate it, then `pulumi config set --secret {PROJECT}:{key} <value>`",
                )
                for key in plaintext
            ],
        )
    cfg = parse_stack_config(stack, pulumi.Config("aws").get("region"), sections, source)
    unset = [key for key in required_secrets(cfg) if runtime_config.get_config(f"{PROJECT}:{key}") is None]
    if unset:
        raise ConfigError(
            source,
            [
                Problem(f"{PROJECT}:{key}", MISSING, f"required secret; set it with `pulumi config set --secret {PROJECT}:{key} <value>`")
                for key in unset
            ],
        )
    return cfg
