"""The CircleCI config is generated: the committed one is what the template and the stack files render, and a
stack file CI cannot place, or a template without its marks, is refused in one line."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from delivery.ci_config import (
    CONFIG,
    JOBS_MARK,
    TEMPLATE,
    CiConfigError,
    CiStack,
    bundle_jobs,
    ci_stacks,
    main,
    release_jobs,
    render,
    stale,
)
from settings.tiers import TIERS

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_config_is_the_rendered_one():
    assert stale(ROOT) is None, "run make ci-config"


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The template, the committed config and the stack files: what the generator reads and writes."""
    (tmp_path / ".circleci").mkdir()
    for path in (TEMPLATE, CONFIG, *(p.relative_to(ROOT) for p in ROOT.glob("Pulumi.*.yaml"))):
        shutil.copy(ROOT / path, tmp_path / path)
    return tmp_path


def test_a_new_stack_file_leaves_the_config_stale_until_it_is_rendered(repo_copy: Path, capsys):
    assert main(["--check", "--root", str(repo_copy)]) == 0
    document = yaml.safe_load((repo_copy / "Pulumi.staging.yaml").read_text())
    document["config"]["insight:tier"] = "staging"
    (repo_copy / "Pulumi.staging-eu.yaml").write_text(yaml.safe_dump(document))  # planted: a stack CI does not know
    assert main(["--check", "--root", str(repo_copy)]) == 1
    assert "run make ci-config" in capsys.readouterr().err
    assert main(["--root", str(repo_copy)]) == 0
    assert main(["--check", "--root", str(repo_copy)]) == 0
    assert "deploy-staging-eu" in (repo_copy / CONFIG).read_text()


def test_a_hand_edit_of_the_config_is_stale(repo_copy: Path, capsys):
    config = repo_copy / CONFIG
    config.write_text(config.read_text().replace("requires: [hold-prod]", "requires: [preview-prod]"))  # planted
    assert main(["--check", "--root", str(repo_copy)]) == 1
    assert capsys.readouterr().err.strip() == f"{CONFIG} is not what {TEMPLATE} and the stack files render: run make ci-config"


def test_a_stack_of_no_known_tier_is_refused_in_one_line(repo_copy: Path, capsys):
    document = yaml.safe_load((repo_copy / "Pulumi.prod.yaml").read_text())
    document["config"]["insight:tier"] = "production"
    (repo_copy / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    assert main(["--root", str(repo_copy)]) == 2
    err = capsys.readouterr().err
    assert err == "Pulumi.prod.yaml: insight:tier 'production' is no tier; allowed: test, staging, prod, onprem\n"
    assert (repo_copy / CONFIG).read_text() == (ROOT / CONFIG).read_text()  # nothing written


def test_a_template_without_its_marks_is_refused():
    template = (ROOT / TEMPLATE).read_text()
    with pytest.raises(CiConfigError, match="one workflow item"):
        render(template.replace(f"- {JOBS_MARK}", "- offline-preview"), ci_stacks(ROOT))


def test_the_approval_is_the_tiers_not_the_stacks():
    def names(stack: CiStack) -> list[str]:
        return [spec.get("name", job) for entry in release_jobs(stack) for job, spec in entry.items()]

    assert names(CiStack("staging", TIERS["staging"])) == ["images-staging", "preview-staging", "deploy-staging"]
    held = CiStack("staging", replace(TIERS["staging"], release_approval=True))
    assert names(held) == ["images-staging", "preview-staging", "hold-staging", "deploy-staging"]
    assert release_jobs(held)[-1]["deploy"]["requires"] == ["hold-staging"]


def test_an_on_prem_tier_of_snapshots_gets_no_bundle_job_it_cannot_run():
    assert [next(iter(e)) for e in bundle_jobs([CiStack("onprem", TIERS["onprem"])])] == ["onprem-bundle"]
    with pytest.raises(CiConfigError, match="on-prem tier runs snapshots"):
        bundle_jobs([CiStack("onprem", replace(TIERS["onprem"], release_kind="snapshot"))])
