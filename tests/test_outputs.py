"""Every component declares its outputs at the top of its class and registers exactly those."""

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.outputs import declared_outputs, output_key
from offline.runner import run_stack

COMPONENTS = Path(__file__).resolve().parent.parent / "components"


def component_classes() -> Iterator[type[pulumi.ComponentResource]]:
    for path in sorted(COMPONENTS.rglob("*.py")):
        parts = path.relative_to(COMPONENTS.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == name:
                yield cls


def output_mismatch(cls: type, registered: set[str]) -> str:
    """ "" when `registered` is exactly the outputs `cls` declares, else what differs."""
    declared = {output_key(a) for a in declared_outputs(cls)}
    if registered == declared:
        return ""
    return f"{cls.__qualname__}: registers {sorted(registered - declared)} undeclared, leaves {sorted(declared - registered)} out"


@pytest.fixture(scope="module")
def registered() -> dict[type, list[set[str]]]:
    """What each component class registered, over a Prometheus stack (test) and a Datadog one (prod)."""
    seen: dict[type, list[set[str]]] = {}
    original = pulumi.ComponentResource.register_outputs

    def recording(self: pulumi.ComponentResource, outputs: Any) -> None:
        seen.setdefault(type(self), []).append(set(outputs))
        original(self, outputs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi.ComponentResource, "register_outputs", recording)
        for stack in ("test", "prod"):
            run_stack(stack)
    return seen


def test_every_component_registers_exactly_its_declared_outputs(registered):
    classes = list(component_classes())
    assert len(classes) >= 17
    assert [c.__qualname__ for c in classes if c not in registered] == []  # each one ran and registered
    problems = [output_mismatch(cls, keys) for cls in classes for keys in registered[cls]]
    assert [p for p in problems if p] == []


def test_a_planted_mismatch_is_named():
    class Planted(pulumi.ComponentResource):
        vpc_id: pulumi.Output[str]

    assert output_mismatch(Planted, {"vpcId"}) == ""
    assert "registers ['subnetIds'] undeclared" in output_mismatch(Planted, {"vpcId", "subnetIds"})
    assert "leaves ['vpcId'] out" in output_mismatch(Planted, set())
