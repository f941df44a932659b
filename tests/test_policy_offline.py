"""The pack's rules over each stack's recording, the preview's exit codes and report, and the real pack's wiring."""

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

import components.aws.cluster as cluster_module
from offline import preview
from offline.policies import checked_resources, mandatory_violations, policy_section, violations
from offline.runner import Run, run_stack
from policy import __main__ as pack
from policy.rules import RULES

from .test_policy_rules import FIXTURES, RULE_BY_ID


def test_stack_passes_every_mandatory_rule(run: Run):
    assert mandatory_violations(run) == []


def test_policy_sees_resources_and_remote_components_only(run: Run):
    types = {r.type for r in checked_resources(run)}
    assert "eks:index:Cluster" in types and "aws:ec2/vpc:Vpc" in types
    assert not any(t.startswith(("pulumi:", "insight:")) for t in types)


def test_summary_counts_rules_checked_passed_and_violated(run: Run):
    section = policy_section(run)
    checked = [r for r in RULES if r.severity_in(run.stack) != "disabled"]
    violated = {v.rule.id for v in violations(run)}
    assert f"## Policies ({len(checked)} rules checked, {len(checked) - len(violated)} passed, {len(violated)} violated)" in section
    assert all(f"`{r.id}`" in section for r in RULES)


# A hardening setting in a component, broken on purpose -> the rule that must catch it.
BROKEN_COMPONENTS = [
    ("IMDS_HOP_LIMIT", 2, "eks-imdsv2"),
    ("CONTROL_PLANE_LOG_TYPES", ["api"], "eks-control-plane-logs"),
    ("NODE_POLICIES", ["arn:aws:iam::aws:policy/AdministratorAccess"], "iam-no-wildcard"),
]


def test_breaking_a_component_setting_fails_its_rule(monkeypatch):
    # One run with every setting broken (a run takes seconds): each rule must still name its own breakage.
    for name, value, _ in BROKEN_COMPONENTS:
        monkeypatch.setattr(cluster_module, name, value)
    lines = mandatory_violations(run_stack("prod"))
    for _, _, rule_id in BROKEN_COMPONENTS:
        assert any(line.startswith(f"{rule_id} urn:pulumi:prod::insight::") for line in lines), (rule_id, lines)


def test_preview_exits_1_naming_rule_and_resource(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cluster_module, "IMDS_HOP_LIMIT", 2)
    assert preview.main(["--quiet", "--build-dir", str(tmp_path), "staging"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        "eks-imdsv2 urn:pulumi:staging::insight::insight:cluster:Cluster$aws:ec2/launchTemplate:LaunchTemplate::cluster-reserved: "
        in "\n".join(err)
    )
    assert all(line.split(" ", 1)[0] in RULE_BY_ID for line in err[:-1])
    assert err[-1] == "[1/1] staging: exit 1, a mandatory policy is violated (above); the files are still written"
    assert "`eks-imdsv2` | mandatory | **violated** (3)" in (tmp_path / "staging" / "summary.md").read_text()


def test_advisory_violations_are_reported_but_do_not_fail(monkeypatch):
    # Zone spread is mandatory only in prod: a test-stack workload without it is advisory there.
    rule = RULE_BY_ID["k8s-zone-spread"]
    assert rule.severity_in("test") == "advisory" and rule.severity_in("prod") == "mandatory"
    bad = FIXTURES["k8s-zone-spread"][1]
    from policy.rules import evaluate

    found = evaluate(bad, "test", [rule])
    assert found and {v.severity for v in found} == {"advisory"}


def test_pack_levels_follow_the_stack(monkeypatch):
    monkeypatch.setenv("PULUMI_STACK", "test")
    levels = {p.name: p.enforcement_level for p in pack.policies(pack.tier())}
    assert levels["data-protected"] == EnforcementLevel.DISABLED
    assert levels["k8s-zone-spread"] == EnforcementLevel.ADVISORY
    monkeypatch.setenv("PULUMI_STACK", "prod")
    levels = {p.name: p.enforcement_level for p in pack.policies(pack.tier())}
    assert {name for name, level in levels.items() if level != EnforcementLevel.MANDATORY} == {"k8s-pod-security-privileged"}
    # Options the SDK cannot see are checked offline only.
    assert "data-retained" not in levels and set(levels) == {r.id for r in RULES if not r.offline_only}


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def test_pack_resource_policy_reports_through_the_sdk():
    policy = next(p for p in pack.policies("prod") if p.name == "eks-imdsv2")
    bad = FIXTURES["eks-imdsv2"][1][0]
    reported: list[tuple[str, str | None]] = []
    args = ResourceValidationArgs(bad.type, dict(bad.inputs), bad.urn, bad.name, _options(), None)
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[union-attr]
    assert reported and all(urn == bad.urn for _, urn in reported)


def test_pack_stack_policy_links_companions_by_input_dependencies():
    policy = next(p for p in pack.policies("prod") if p.name == "dns-query-logging")
    zone, query_log = FIXTURES["dns-query-logging"][0]

    def as_policy_resource(r, deps):
        return PolicyResource(r.type, dict(r.inputs), r.urn, r.name, _options(r.protect), None, None, [], {"hostedZoneId": deps})

    z = as_policy_resource(zone, [])
    reported: list[str] = []
    policy.validate(StackValidationArgs([z, as_policy_resource(query_log, [z])]), lambda m, urn=None: reported.append(m))  # type: ignore[union-attr]
    assert reported == []
    policy.validate(StackValidationArgs([z]), lambda m, urn=None: reported.append(m))  # type: ignore[union-attr]
    assert reported == ["no Route53 query log"]
