"""The CrossGuard pack: every rule of policy/rules as a pulumi_policy validation, enforced per stack.

Severity is per tier (settings/tiers.py): the stack file's `insight:tier`, else the stack's name; an unknown one gets prod's.
`pulumi preview --policy-pack policy --policy-pack-config <file>` may still override a rule's level.
Rules that read options the policy SDK does not expose (retain on delete) run only offline.
"""

import os
import sys
from pathlib import Path

# The rules read the project's own constants (supported versions, scheduling labels): put the repo on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    Policy,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import RULES, Resource, Rule  # noqa: E402
from settings.tiers import stack_tier  # noqa: E402

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY, "disabled": EnforcementLevel.DISABLED}


def tier() -> str:
    """The CLI starts the pack with the stack's name in PULUMI_STACK; its stack file names the tier."""
    return stack_tier(os.environ.get("PULUMI_STACK", ""))


def from_args(args: ResourceValidationArgs) -> Resource:
    return Resource(args.urn, args.resource_type, args.name, dict(args.props), protect=bool(args.opts.protect), tier=tier())


def input_dependencies(r: PolicyResource) -> tuple[str, ...]:
    """The resources whose outputs this one takes as inputs (a bucket's companions take its id)."""
    return tuple(d.urn for deps in r.property_dependencies.values() for d in deps)


def resource_policy(rule: Rule, level: EnforcementLevel) -> ResourceValidationPolicy:
    check = rule.resource_check
    assert check is not None

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in rule.types:
            for message in check(from_args(args)):
                report_violation(message, args.urn)

    return ResourceValidationPolicy(name=rule.id, description=rule.reason, validate=validate, enforcement_level=level)


def stack_policy(rule: Rule, level: EnforcementLevel) -> StackValidationPolicy:
    check = rule.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            Resource(
                r.urn,
                r.resource_type,
                r.name,
                dict(r.props),
                protect=bool(r.opts.protect),
                dependencies=input_dependencies(r),
                tier=tier(),
            )
            for r in args.resources
        ]
        for r, message in check(resources):
            report_violation(message, r.urn)

    return StackValidationPolicy(name=rule.id, description=rule.reason, validate=validate, enforcement_level=level)


def policies(tier: str) -> list[Policy]:
    built: list[Policy] = []
    for rule in RULES:
        if rule.offline_only:
            continue
        level = LEVELS[rule.severity_in(tier)]
        built.append(resource_policy(rule, level) if rule.resource_check else stack_policy(rule, level))
    return built


if __name__ == "__main__":
    PolicyPack(name="insight-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=policies(tier()))
