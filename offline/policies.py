"""The policy pack's rules over a recorded run: the same validators as `pulumi preview --policy-pack policy`.

Offline the recording also shows retain-on-delete, which the policy SDK cannot see, so those rules run here too.
"""

from policy.rules import RULES, Resource, Violation, evaluate

from .recorder import Record
from .runner import Run


def as_resource(record: Record, tier: str) -> Resource:
    return Resource(
        urn=record.urn,
        type=record.type,
        name=record.name,
        inputs=record.inputs,
        protect=record.protect,
        retain_on_delete=record.retain_on_delete,
        dependencies=tuple(record.input_dependencies),
        tier=tier,
    )


def checked_resources(run: Run) -> list[Resource]:
    """What a policy pack sees: real resources and remote components, not providers or our own components."""
    return [
        as_resource(r, run.tier)
        for r in run.records
        if (r.custom or r.remote) and not r.type.startswith("pulumi:providers:") and r.type != "pulumi:pulumi:Stack"
    ]


def violations(run: Run) -> list[Violation]:
    return evaluate(checked_resources(run), run.tier)


def mandatory_violations(run: Run) -> list[str]:
    """One line per mandatory violation, `<rule id> <urn>: <reason>`; `make preview` fails on any."""
    return [v.line() for v in violations(run) if v.severity == "mandatory"]


def policy_section(run: Run) -> str:
    found = violations(run)
    rows = []
    for rule in RULES:
        severity = rule.severity_in(run.tier)
        hits = [v for v in found if v.rule is rule]
        status = "skipped" if severity == "disabled" else (f"**violated** ({len(hits)})" if hits else "passed")
        rows.append(f"| `{rule.id}` | {severity} | {status} | {rule.reason} |")
    checked = [r for r in RULES if r.severity_in(run.tier) != "disabled"]
    violated = {v.rule.id for v in found}
    lines = "\n".join(f"- `{v.severity}` {v.line()}" for v in found) or "- none"
    return (
        f"## Policies ({len(checked)} rules checked, {len(checked) - len(violated)} passed, {len(violated)} violated)\n\n"
        "| rule | severity here | result | why |\n|---|---|---|---|\n" + "\n".join(rows) + f"\n\nViolations:\n\n{lines}\n"
    )
