"""Typed, validated stack settings: everything the program decides from comes through here."""

from .errors import ConfigError, Problem
from .stack import PROJECT, AnyStackConfig, OnpremStackConfig, StackConfig, load_stack_config, parse_stack_config
from .tiers import stack_names, stack_tier, tier_policy

# Every stack of the project, read from its stack files (`Pulumi.<stack>.yaml`): no list to keep in step.
STACKS: tuple[str, ...] = tuple(stack_names())
# The stacks whose tier runs the AWS layer (the others run on a cluster their customer owns).
AWS_STACKS: tuple[str, ...] = tuple(s for s in STACKS if tier_policy(stack_tier(s)).aws)

__all__ = [
    "ConfigError",
    "Problem",
    "StackConfig",
    "OnpremStackConfig",
    "AnyStackConfig",
    "STACKS",
    "AWS_STACKS",
    "PROJECT",
    "load_stack_config",
    "parse_stack_config",
]
