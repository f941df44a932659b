"""Typed, validated stack settings: everything the program decides from comes through here."""

from .errors import ConfigError, Problem
from .stack import PROJECT, StackConfig, load_stack_config, parse_stack_config
from .tiers import stack_names

# Every stack of the project, read from its stack files (`Pulumi.<stack>.yaml`): no list to keep in step.
STACKS: tuple[str, ...] = tuple(stack_names())

__all__ = ["ConfigError", "Problem", "StackConfig", "STACKS", "PROJECT", "load_stack_config", "parse_stack_config"]
