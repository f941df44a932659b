"""Every rule of the pack, and one pure function that applies them to the resources of a stack."""

from collections.abc import Sequence

from . import data, edge, eks, iam, kubernetes, network
from .base import Resource, Rule, Violation

RULES: tuple[Rule, ...] = tuple(rule for module in (network, eks, iam, edge, data, kubernetes) for rule in module.rules.rules)


def evaluate(resources: Sequence[Resource], tier: str, rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of the rules enabled in `tier`, each with its severity there."""
    found: list[Violation] = []
    for rule in rules:
        severity = rule.severity_in(tier)
        if severity == "disabled":
            continue
        if rule.resource_check is not None:
            for r in resources:
                if r.type in rule.types:
                    found.extend(Violation(rule, r.urn, message, severity) for message in rule.resource_check(r))
        if rule.stack_check is not None:
            found.extend(Violation(rule, r.urn, message, severity) for r, message in rule.stack_check(resources))
    return found


__all__ = ["RULES", "Resource", "Rule", "Violation", "evaluate"]
