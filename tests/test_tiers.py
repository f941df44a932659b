"""Tiers apart from stacks: every tier decision reads settings/tiers.py, and a new region of a tier is two files."""

import ast
import shutil
from pathlib import Path

import pytest
import yaml

from offline.preview import main as preview_main
from settings import STACKS, ConfigError, parse_stack_config
from settings.tiers import TIER_NAMES, TIERS, stack_names, stack_tier, tier_policy

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
