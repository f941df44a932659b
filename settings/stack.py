"""The whole stack's typed settings, read from `Pulumi.<stack>.yaml` and checked before any resource exists.

A later concern adds its section as one field of `StackConfig` and its checks to `_semantic_checks`.
"""

import json
from collections.abc import Iterator
from typing import Any, Literal, get_args

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
from .platform import PlatformConfig, check_platform
from .release import ReleaseConfig, check_release

PROJECT = "insight"
Environment = Literal["test", "staging", "prod"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
# Keys set with `pulumi config set --secret`: read with `require_secret`, never parsed into the model.
SECRET_KEYS: frozenset[str] = frozenset({"sentryDsn", "datadogApiKey", "dockerHubCredentials"})


class StackConfig(Section):
    environment: Environment
    region: str
    # The one AWS account this stack may touch: the provider refuses any other credentials.
    account_id: str = Field(pattern=r"^[0-9]{12}$")  # [0-9]: \d accepts other scripts' digits
    network: NetworkConfig
    cluster: ClusterConfig
    node_pools: NodePoolsConfig
    release: ReleaseConfig
    cost: CostConfig
    platform: PlatformConfig
    edge: EdgeConfig

    @property
    def cluster_name(self) -> str:
        return f"{PROJECT}-{self.environment}"

    @property
    def protected(self) -> bool:
        """Irreplaceable resources are protected outside the throwaway test cluster."""
        return self.environment != "test"


def _semantic_checks(cfg: StackConfig) -> Iterator[Problem]:
    yield from check_network(cfg.environment, cfg.region, cfg.network)
    yield from check_cidr_overlap(cfg.network.vpc_cidr, cfg.cluster)
    yield from check_endpoint(cfg.environment, cfg.cluster)
    yield from check_admins(cfg.cluster)
    yield from check_pool_sizes("reserved", cfg.node_pools.reserved)
    yield from check_pool_sizes("spot", cfg.node_pools.spot)
    yield from check_reserved_pool(cfg.node_pools.reserved)
    yield from check_spot_pool(cfg.node_pools.spot)
    yield from check_cost(cfg.region, cfg.node_pools, cfg.cost)
    yield from check_release(cfg.environment, cfg.release)
    yield from check_platform(cfg.environment, cfg.platform)
    yield from check_edge(cfg.environment, cfg.edge)


def _section_keys() -> dict[str, str]:
    """Stack-file key (`network`) per field, for the sections read from `insight:<key>`."""
    fixed = {"environment", "region"}
    return {info.alias or name: name for name, info in StackConfig.model_fields.items() if name not in fixed}


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = StackConfig
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


def _pydantic_problems(err: ValidationError) -> Iterator[Problem]:
    for e in err.errors():
        loc = tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            message = f"unknown key; allowed keys here: {', '.join(_allowed_keys(loc[:-1]))}"
        elif e["type"] == "missing":
            message = "required key is missing"
        else:
            message = e["msg"].removeprefix("Value error, ")
        value = MISSING if e["type"] == "missing" else e.get("input")
        yield Problem(_path(loc), value, message)


def parse_stack_config(environment: str, region: str | None, sections: dict[str, Any], source: str) -> StackConfig:
    """Validate raw sections (as read from the stack file) into a StackConfig, or raise every problem at once."""
    problems: list[Problem] = []
    if environment not in ENVIRONMENTS:
        problems.append(Problem("stack", environment, f"unknown stack name; allowed: {', '.join(ENVIRONMENTS)}"))
    if region is None:
        problems.append(Problem("aws:region", MISSING, "required key is missing"))
    known = _section_keys()
    # Secret keys are read with `require_secret` where they are used, never parsed into the model.
    sections = {k: v for k, v in sections.items() if k not in SECRET_KEYS}
    for key, value in sections.items():
        if key not in known:
            allowed = ", ".join(sorted({*known, *SECRET_KEYS}))
            problems.append(Problem(f"{PROJECT}:{key}", value, f"unknown key; allowed {PROJECT}: keys: {allowed}"))
    if problems:
        raise ConfigError(source, problems)
    raw = {k: v for k, v in sections.items() if v is not None} | {"environment": environment, "region": region}
    try:
        cfg = StackConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(source, list(_pydantic_problems(err))) from None
    semantic = list(_semantic_checks(cfg))
    if semantic:
        raise ConfigError(source, semantic)
    return cfg


def required_secrets(cfg: StackConfig) -> list[str]:
    """Secrets this stack's settings need: checked for presence (never read) before anything is declared."""
    # dockerHubCredentials: ECR reads the pull-through cache's secret when the rule is created, so it has a value first.
    return ["sentryDsn", "dockerHubCredentials", *(["datadogApiKey"] if cfg.platform.metrics.backend == "datadog" else [])]


def decode_config_value(text: str) -> Any:
    """Objects and lists come as JSON; scalars stay text, so `"111111111111"` is not read as a number."""
    return json.loads(text) if text.lstrip().startswith(("{", "[")) else text


def _config_keys() -> set[str]:
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def load_stack_config() -> StackConfig:
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
