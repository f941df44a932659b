"""Shared fixtures: each stack is declared once per test process under the mock kit."""

import copy
from functools import cache
from typing import Any

import pytest

from offline.runner import Run, run_stack
from offline.stackfile import read_stack_file
from settings import AWS_STACKS, PROJECT


@cache
def declared(stack: str) -> Run:
    return run_stack(stack)


@pytest.fixture(params=AWS_STACKS)
def run(request: pytest.FixtureRequest) -> Run:
    """The run of each stack in turn: a test using it is a test per environment."""
    return declared(request.param)


def raw_sections(stack: str) -> dict[str, Any]:
    """The stack file's `insight:*` sections as plain data, safe to mutate."""
    stack_file = read_stack_file(stack)
    prefix = f"{PROJECT}:"
    # Secrets are not sections: handing them back as overrides would commit them in plain text.
    keys = [k for k in stack_file.config if k.startswith(prefix) and k not in stack_file.secret_keys]
    return copy.deepcopy({k.removeprefix(prefix): stack_file.raw(k) for k in keys})
