"""Typed, validated stack settings: everything the program decides from comes through here."""

from .errors import ConfigError, Problem
from .stack import ENVIRONMENTS, PROJECT, STACKS, AnyStackConfig, OnpremStackConfig, StackConfig, load_stack_config, parse_stack_config

__all__ = [
    "ConfigError",
    "Problem",
    "StackConfig",
    "OnpremStackConfig",
    "AnyStackConfig",
    "ENVIRONMENTS",
    "STACKS",
    "PROJECT",
    "load_stack_config",
    "parse_stack_config",
]
