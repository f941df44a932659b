"""The CrossGuard pack: every rule of policy/rules as a pulumi_policy validation, enforced per stack.

Severity is per tier (settings/tiers.py): INSIGHT_TIER as CI exports it from the stack file, else the stack's name;
an unknown one gets prod's.
`pulumi preview --policy-pack policy --policy-pack-config <file>` may still override a rule's level.
Rules that read options the policy SDK does not expose (retain on delete) run only offline.
"""

import os

from pulumi_policy import (
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

# The policy host runs this file with the pack's folder first on sys.path (no package); the repository's
# tests and offline preview import it as `policy.__main__`. The pack imports nothing from the repository.
if __package__:
    from .rules import RULES, Resource, Rule
else:
    from rules import RULES, Resource, Rule  # pyright: ignore[reportMissingImports]

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY, "disabled": EnforcementLevel.DISABLED}


def tier() -> str:
    """CI exports the stack's tier as INSIGHT_TIER (`python -m settings.tiers <stack>`); without it, the stack's
    name (PULUMI_STACK, set by the CLI) stands for its tier, and an unknown one gets the strictest."""
    return os.environ.get("INSIGHT_TIER") or os.environ.get("PULUMI_STACK", "")


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
