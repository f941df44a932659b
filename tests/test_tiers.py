"""Tiers apart from stacks: every tier decision reads settings/tiers.py, and a new region of a tier is two files."""

import ast
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.ci_config import KIND_FILTERS, TEMPLATE, ci_stacks, render
from offline.preview import main as preview_main
from settings import AWS_STACKS, STACKS, ConfigError, parse_stack_config
from settings.tiers import TIER_NAMES, TIERS, stack_names, stack_tier, tier_policy

from .circleci import missing, schema_errors, workflow_jobs
from .conftest import raw_sections

ROOT = Path(__file__).resolve().parent.parent
# The one place tier names may be compared or listed; stack files say which tier a stack is.
TIER_TABLE = ROOT / "settings" / "tiers.py"
# The policy pack is published alone: it states the table's part it reads, checked equal by tests/test_policy_pack.py.
PACK_TIERS = ROOT / "policy" / "rules" / "program.py"
SKIPPED = {".venv", ".venv-scan", "build", "tests", ".git"}
NAMES = frozenset({*TIER_NAMES, *STACKS})


def tier_decisions(source: str) -> list[str]:
    """Comparisons with a tier or stack name, and literal collections naming two or more of them."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in NAMES for o in operands):
                found.append(f"line {node.lineno}: compares with a tier name: {ast.unparse(node)}")
        elif isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
            items = node.keys if isinstance(node, ast.Dict) else node.elts
            named = {i.value for i in items if isinstance(i, ast.Constant) and i.value in NAMES}
            if len(named) >= 2:
                found.append(f"line {node.lineno}: lists tier names: {ast.unparse(node)[:80]}")
    return found


def test_no_tier_decision_outside_the_tier_table():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIPPED or path in (TIER_TABLE, PACK_TIERS):
            continue
        offenders += [f"{rel} {line}" for line in tier_decisions(path.read_text())]
    assert offenders == []


@pytest.mark.parametrize(
    "planted",
    [
        'scale = 3 if cfg.environment == "prod" else 1',
        'protected = stack != "test"',
        'if tier in ("staging", "prod"): pass',
        'RETENTION = {"test": 30, "prod": 365}',
        'STACKS = ["test", "staging", "prod"]',
    ],
)
def test_the_tier_grep_catches_a_planted_decision(planted):
    assert tier_decisions(f"x = 1\n{planted}\n")
    assert tier_decisions('parser.add_argument("stacks", default=["test"])\nif ref == "master": pass\n') == []


def ci_template_decisions(text: str) -> list[str]:
    """Stack or tier names the CI template writes itself: a value that is one, a list naming two or more (the job
    `test` is the suite), or a hyphenated word holding a stack or tier CI deploys (`insight-prod`, `hold-prod`), in a
    value or a key (the on-prem bundle's job and file are the product's, `onprem-bundle`, `insight-onprem-*.tar.gz`)."""
    found: list[str] = []
    deployed = {*AWS_STACKS, *(t.name for t in TIERS.values() if t.aws)}

    def hyphenated(text: str) -> list[str]:
        return [w for w in re.findall(r"\w+(?:-\w+)+", text) if deployed & set(w.split("-"))]

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.extend(f"{path}/{key}: names a stack: {word}" for word in hyphenated(str(key)))
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            if len(NAMES & {i for i in node if isinstance(i, str)}) >= 2:
                found.append(f"{path}: lists stack names: {node}")
            for index, item in enumerate(node):
                walk(item, f"{path}/{index}")
        elif isinstance(node, str):
            found.extend([f"{path}: is a stack name: {node}"] if node in NAMES else [])
            found.extend(f"{path}: names a stack: {word}" for word in hyphenated(node))

    walk(yaml.safe_load(text), "")
    return found


def test_the_ci_template_names_no_stack():
    assert ci_template_decisions((ROOT / TEMPLATE).read_text()) == []


@pytest.mark.parametrize(
    "planted",
    [
        ("enum: __aws_stacks__", "enum: [test, staging, prod]"),
        ("- __per_stack_jobs__", "- deploy:\n          name: deploy-prod\n          stack: prod"),
        ("- __per_stack_jobs__", "- hold-prod:\n          type: approval"),
        ("only: master", "only: master\n              ignore: [staging, prod]"),
    ],
    ids=["enum", "deploy-job", "approval-key", "branch-list"],
)
def test_the_ci_template_check_catches_a_planted_stack_name(planted):
    template = (ROOT / TEMPLATE).read_text()
    old, new = planted
    assert old in template
    assert ci_template_decisions(template.replace(old, new, 1))


def test_every_tier_has_a_policy_and_the_stack_files_name_known_tiers():
    assert set(TIERS) == set(TIER_NAMES) and all(TIERS[name].name == name for name in TIERS)
    assert set(STACKS) == set(stack_names()) >= {"test", "staging", "prod"}
    for stack in STACKS:
        assert stack_tier(stack) in TIER_NAMES, stack
    assert tier_policy("no-such-tier") == TIERS["prod"]  # what the policy pack falls back to


def test_tier_policies_order_from_test_to_prod():
    test, staging, prod = (TIERS[t] for t in ("test", "staging", "prod"))
    assert test.min_azs <= staging.min_azs <= prod.min_azs and prod.min_azs >= prod.quorum_replicas
    assert test.min_log_retention_days <= staging.min_log_retention_days <= prod.min_log_retention_days
    assert (test.protected, staging.protected, prod.protected) == (False, True, True)
    assert prod.lb_deletion_protection and not prod.open_api_endpoint
    deployed = [t for t in TIERS.values() if t.aws]
    assert len({t.release_kind for t in deployed}) == len(deployed)  # each kind of release has one home CI deploys


def test_the_tier_not_the_name_decides():
    # A stack named `staging` that declares tier prod must meet prod's minimums: quorum members, log retention, release.
    sections = raw_sections("staging") | {"tier": "prod"}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config("staging", "us-west-2", sections, "Pulumi.staging.yaml")
    text = caught.value.render()
    assert "prod runs quorum systems with 3 replicas" in text and "prod keeps access logs at least 365 days" in text
    assert "insight:release.version" in text and "goes to staging, not prod" in text


FOURTH = "prod-us"


@pytest.fixture
def fourth_stack_root(tmp_path: Path) -> Path:
    """The repository's project and catalog, plus a second prod region: one stack file and one catalog cluster file."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copytree(ROOT / "services", tmp_path / "services")
    shutil.copy(ROOT / "services" / "clusters" / "prod.conf", tmp_path / "services" / "clusters" / f"{FOURTH}.conf")
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    config["insight:tier"] = "prod"
    config["aws:region"] = "us-west-2"
    config["insight:network"]["vpcCidr"] = "10.40.0.0/16"
    config["insight:cost"]["spotDiscount"] = {t: 0.6 for t in config["insight:nodePools"]["spot"]["instanceTypes"]}
    (tmp_path / f"Pulumi.{FOURTH}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_fourth_stack_of_tier_prod_in_another_region_previews(fourth_stack_root: Path, tmp_path: Path, capsys):
    code = preview_main([FOURTH, "--root", str(fourth_stack_root), "--build-dir", str(tmp_path / "build"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    resources = yaml.safe_load((tmp_path / "build" / FOURTH / "resources.json").read_text())
    eks = next(r for r in resources if r["type"] == "eks:index:Cluster")
    assert eks["name"] == "cluster" and eks["inputs"]["name"] == f"insight-{FOURTH}"  # the name stays the stack's
    summary = (tmp_path / "build" / FOURTH / "summary.md").read_text()
    assert "`data-protected` | mandatory" in summary  # prod's severity column, not a default


def test_a_fourth_stack_gets_its_ci_jobs_without_a_hand_edit(fourth_stack_root: Path):
    # Beside the repository's stacks: two prod-tier stacks, each with its own chain, contexts and approval.
    for path in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, fourth_stack_root)
    cfg = yaml.safe_load(render((ROOT / TEMPLATE).read_text(), ci_stacks(fourth_stack_root)))
    assert schema_errors(cfg) == []
    jobs = workflow_jobs(cfg)
    for stack in (FOURTH, "prod"):
        chain = {f"pr-preview-{stack}": [], f"images-{stack}": ["check", "test"], f"preview-{stack}": [f"images-{stack}"]}
        chain |= {f"hold-{stack}": [f"preview-{stack}"], f"deploy-{stack}": [f"hold-{stack}"]}
        assert {name: jobs[name].get("requires", []) for name in chain} == chain, stack
        assert jobs[f"hold-{stack}"]["type"] == "approval"
        assert jobs[f"pr-preview-{stack}"]["context"] == f"insight-preview-{stack}"
        for name in (f"images-{stack}", f"preview-{stack}", f"hold-{stack}", f"deploy-{stack}"):
            assert jobs[name]["filters"] == KIND_FILTERS["final"], name  # tests/test_pipeline.py: v-tags only
        for name in (f"pr-preview-{stack}", f"preview-{stack}", f"deploy-{stack}"):
            assert missing(cfg, name) == [], name  # its own role, context, backend settings, CLI and policy pack
    assert all(FOURTH in spec["parameters"]["stack"]["enum"] for spec in cfg["jobs"].values() if "parameters" in spec)
