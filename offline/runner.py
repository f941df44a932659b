"""Runs the real program for one stack under the mock kit and returns what it declared."""

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from settings import PROJECT, AnyStackConfig, load_stack_config

from .mocks import InsightMocks
from .recorder import Record, RecordingMonitor
from .stackfile import ROOT, StackFile, read_stack_file


@dataclass
class Run:
    stack: str
    records: list[Record]
    outputs: dict[str, Any]
    # The validated settings the program was declared from (summary sections such as cost read them).
    settings: AnyStackConfig | None = None

    @property
    def tier(self) -> str:
        return self.settings.tier if self.settings else self.stack

    def of_type(self, type_: str) -> list[Record]:
        return [r for r in self.records if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Record:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} {name or ''}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self) -> dict[str, Record]:
        return {r.urn: r for r in self.records}


def run_stack(
    stack: str,
    overrides: dict[str, Any] | None = None,
    root: Path = ROOT,
    program: Callable[[], None] | None = None,
) -> Run:
    """Declare the stack under mocks (preview=False, so every value is known and assertions bite).

    Each run gets a fresh context: the SDK keeps its settings and root stack in context variables.
    """
    return contextvars.Context().run(_run_stack, stack, overrides, root, program)


def _run_stack(stack: str, overrides: dict[str, Any] | None, root: Path, program: Callable[[], None] | None) -> Run:
    stack_file: StackFile = read_stack_file(stack, root, overrides)
    region = str(stack_file.raw("aws:region", "us-east-1"))
    account = str(stack_file.raw(f"{PROJECT}:accountId", "000000000000"))
    mocks = InsightMocks(region, account)
    monitor = RecordingMonitor(mocks)
    runtime_config.set_all_config(stack_file.config, stack_file.secret_keys)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    from components.program import build

    def program_then_outputs() -> None:
        if program is None:
            build(root)
        else:
            program()
        # `pulumi up` registers the stack's exports when the program returns; do the same here.
        stack_resource = pulumi.runtime.settings.get_root_resource()
        if isinstance(stack_resource, pulumi.ComponentResource):
            stack_resource.register_outputs(dict(getattr(stack_resource, "outputs", {})))

    _sync_await(run_pulumi_func(program_then_outputs))
    records = sorted(monitor.records, key=lambda r: r.urn)
    return Run(stack, records, monitor.stack_outputs, load_stack_config())
