"""CircleCI as it will run: the config is valid by CircleCI's published schema, every job that runs `pulumi`
has the CLI, AWS CLI v2, its stack's own role, the backend settings and the policy pack, the pull request
preview posts every outcome before it fails, and the update applies only what the reviewed preview planned."""

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.stackfile import ROOT

from .circleci import (
    STACKS,
    Config,
    calls_tool,
    config,
    job_steps,
    missing,
    pinned_sdk,
    pulumi_jobs,
    runs,
    schema_errors,
    tools_missing,
    workflow_jobs,
)


def test_the_config_is_valid_by_circlecis_schema():
    assert schema_errors(config()) == []


@pytest.mark.parametrize(
    "plant",
    [
        lambda cfg: cfg["jobs"]["deploy"].update(stepz=cfg["jobs"]["deploy"].pop("steps")),
        lambda cfg: cfg["executors"]["python"].update(docker="cimg/python:3.11"),
        lambda cfg: cfg.update(version="two"),
    ],
    ids=["misspelt-steps", "docker-not-a-list", "bad-version"],
)
def test_the_schema_refuses_a_broken_config(plant):
    broken = copy.deepcopy(config())
    plant(broken)
    assert schema_errors(broken)


def test_every_job_running_pulumi_has_what_it_needs():
    cfg = config()
    names = pulumi_jobs(cfg)
    expected = {f"{kind}-{stack}" for kind in ("pr-preview", "preview", "deploy") for stack in STACKS}
    assert set(names) == expected
    assert {name: missing(cfg, name) for name in names} == dict.fromkeys(names, [])


def _remove_step(cfg: Config, block: dict[str, Any], step_name: str) -> None:
    block["steps"] = [s for s in block["steps"] if (s if isinstance(s, str) else next(iter(s))) != step_name]


def _edit_runs(block: dict[str, Any], old: str, new: str) -> None:
    for step in block["steps"]:
        if isinstance(step, dict) and "run" in step and isinstance(step["run"], dict):
            step["run"]["command"] = step["run"]["command"].replace(old, new)


def _set_context(cfg: Config, name: str, context: str) -> None:
    for entry in cfg["workflows"]["delivery"]["jobs"]:
        spec = next(iter(entry.values())) if isinstance(entry, dict) else None
        if spec and spec.get("name") == name:
            spec["context"] = context


# Each prerequisite removed from a copy of the config -> the job that loses it, and what it is then told it lacks.
REMOVALS = [
    ("pulumi-cli", lambda c: _remove_step(c, c["commands"]["pulumi-tools"], "install-pulumi"), "deploy-prod", "the Pulumi CLI pinned"),
    (
        "pulumi-unpinned",
        lambda c: _edit_runs(c["commands"]["install-pulumi"], " -s -- --version << pipeline.parameters.pulumi-version >>", ""),
        "preview-prod",
        "the Pulumi CLI pinned",
    ),
    ("pulumi-other-version", lambda c: c["parameters"]["pulumi-version"].update(default="3.200.0"), "deploy-test", "the Pulumi CLI pinned"),
    ("aws-cli", lambda c: _remove_step(c, c["commands"]["pulumi-tools"], "install-aws-cli"), "pr-preview-staging", "AWS CLI v2"),
    (
        "aws-cli-unpinned",
        lambda c: _edit_runs(c["commands"]["install-aws-cli"], "-<< pipeline.parameters.aws-cli-version >>.zip", ".zip"),
        "deploy-staging",
        "AWS CLI v2",
    ),
    ("identity", lambda c: _remove_step(c, c["jobs"]["deploy"], "aws-identity"), "deploy-prod", "the prod account's own role"),
    (
        "one-role-for-all",
        lambda c: _edit_runs(c["commands"]["aws-identity"], "ci_role << parameters.stack >>", "ci_role prod"),
        "pr-preview-test",
        "the test account's own role",
    ),
    ("other-stack-context", lambda c: _set_context(c, "deploy-staging", "insight-test"), "deploy-staging", "the context insight-staging"),
    (
        "shared-preview-context",
        lambda c: _set_context(c, "pr-preview-prod", "insight-preview"),
        "pr-preview-prod",
        "the context insight-preview-prod",
    ),
    (
        "backend-url",
        lambda c: _edit_runs(c["commands"]["release-stack"], ': "${PULUMI_BACKEND_URL:?', ': "${UNUSED:?'),
        "deploy-test",
        "PULUMI_BACKEND_URL",
    ),
    (
        "secrets-provider",
        lambda c: _edit_runs(c["jobs"]["pr-preview"], ': "${PULUMI_CONFIG_PASSPHRASE:?', ': "${UNUSED:?'),
        "pr-preview-test",
        "PULUMI_CONFIG_PASSPHRASE",
    ),
    (
        "login",
        lambda c: _edit_runs(c["commands"]["release-stack"], 'pulumi login "$PULUMI_BACKEND_URL"', "pulumi login --local"),
        "preview-staging",
        "pulumi login",
    ),
    ("pack-venv", lambda c: _edit_runs(c["commands"]["pulumi-tools"], "make policy-pack", "true"), "deploy-prod", "make policy-pack"),
    (
        "pack-on-up",
        lambda c: _edit_runs(c["jobs"]["deploy"], "--policy-pack policy ", ""),
        "deploy-prod",
        "--policy-pack policy on `pulumi up`",
    ),
    (
        "pack-on-preview",
        lambda c: _edit_runs(c["jobs"]["pr-preview"], "--policy-pack policy", ""),
        "pr-preview-prod",
        "--policy-pack policy on `pulumi preview`",
    ),
    (
        "pack-on-release-preview",
        lambda c: _edit_runs(c["jobs"]["release-preview"], "--policy-pack policy ", ""),
        "preview-prod",
        "--policy-pack policy on `pulumi preview`",
    ),
]


@pytest.mark.parametrize(("remove", "job", "lack"), [r[1:] for r in REMOVALS], ids=[r[0] for r in REMOVALS])
def test_removing_a_prerequisite_is_caught(remove, job, lack):
    broken = copy.deepcopy(config())
    remove(broken)
    assert missing(config(), job) == []
    assert any(lack in line for line in missing(broken, job)), missing(broken, job)


def test_the_pulumi_cli_is_the_sdks_version():
    assert config()["parameters"]["pulumi-version"]["default"] == pinned_sdk()


def test_prod_is_previewed_before_its_approval_and_applied_as_planned():
    jobs = workflow_jobs(config())
    assert jobs["hold-prod"]["requires"] == ["preview-prod"]
    assert jobs["preview-prod"]["requires"] == ["images-prod"]
    assert jobs["deploy-prod"]["requires"] == ["hold-prod"]
    for stack in STACKS:
        plan = f"release/{stack}.plan.json"
        preview, deploy = runs(config(), f"preview-{stack}"), runs(config(), f"deploy-{stack}")
        assert any("pulumi preview" in r and f"--save-plan {plan}" in r for r in preview), stack
        assert {"persist_to_workspace": {"root": ".", "paths": [plan]}} in job_steps(config(), f"preview-{stack}")
        assert any("pulumi up" in r and f"--plan {plan}" in r for r in deploy), stack
        assert any(isinstance(s, dict) and "attach_workspace" in s for s in job_steps(config(), f"deploy-{stack}"))
        # The update applies the version the preview planned: both set it the same way from the workspace.
        assert [r for r in preview if "insight:release.version" in r] == [r for r in deploy if "insight:release.version" in r]


# --- the pull request preview: every outcome is posted, then the job fails -----------------------------------


def _stub(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/bash\n" + script)
    path.chmod(0o755)


def run_pr_preview_step(tmp_path: Path, stack: str, make_status: int, pulumi_status: int, env: dict[str, str], *, script_edit=None):
    """Run the pr-preview job's main step as CircleCI does (`bash -eo pipefail`), with make, git and pulumi stubbed."""
    script = next(r for r in runs(config(), f"pr-preview-{stack}") if "delivery.preview_comment" in r)
    script = script_edit(script) if script_edit else script
    stubs = tmp_path / "stubs"
    _stub(stubs, "git", "echo 0123abc\n")
    _stub(
        stubs,
        "make",
        f'mkdir -p build/{stack}\nprintf "**+0 ~1 -0**\\n" > build/{stack}/diff.md\necho "offline preview: planted failure" >&2\nexit {make_status}\n',
    )
    _stub(
        stubs,
        "pulumi",
        f'[ "$1" = login ] && exit 0\necho "  ~ kubernetes:core/v1:ConfigMap billing-config update"\necho "error: planted preview failure" >&2\nexit {pulumi_status}\n',
    )
    _stub(tmp_path, ".venv/bin/python", f'exec {sys.executable} "$@"\n')
    environment = {"PATH": f"{stubs}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), **env}
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
    )
    comment = tmp_path / "build" / f"{stack}.comment.md"
    return done, comment.read_text() if comment.exists() else None


CREDENTIALS = {"PULUMI_BACKEND_URL": "s3://state", "PULUMI_CONFIG_PASSPHRASE": "p"}


def test_a_failing_real_preview_is_posted_then_fails_the_job(tmp_path):
    done, comment = run_pr_preview_step(tmp_path, "prod", 0, 255, CREDENTIALS)
    assert done.returncode == 1, done.stderr
    assert comment is not None
    assert "`pulumi preview` failed (exit 255)" in comment and "error: planted preview failure" in comment
    assert "**+0 ~1 -0**" in comment  # the offline diff rides along
    assert "preview-prod: not posted (no pull request)" in done.stdout


def test_a_passing_real_preview_is_posted_and_passes(tmp_path):
    done, comment = run_pr_preview_step(tmp_path, "staging", 0, 0, CREDENTIALS)
    assert done.returncode == 0, done.stderr
    assert comment is not None and "ConfigMap billing-config update" in comment and "passed" in comment


def test_a_context_without_backend_settings_is_posted_as_the_failure(tmp_path):
    done, comment = run_pr_preview_step(tmp_path, "test", 0, 0, {"PULUMI_CONFIG_PASSPHRASE": "p"})
    assert done.returncode == 1
    assert comment is not None and "insight-preview-test must set PULUMI_BACKEND_URL" in comment


def test_a_failing_offline_preview_is_posted_then_fails_the_job(tmp_path):
    done, comment = run_pr_preview_step(tmp_path, "test", 1, 0, CREDENTIALS)
    assert done.returncode == 1
    assert comment is not None and "offline preview failed (exit 1)" in comment and "planted failure" in comment


def test_a_fork_gets_the_offline_diff_alone(tmp_path):
    done, comment = run_pr_preview_step(tmp_path, "test", 0, 255, {"CIRCLE_PR_USERNAME": "someone"})
    assert done.returncode == 0
    assert comment is not None and "was not run: a pull request from a fork" in comment and "**+0 ~1 -0**" in comment


def test_without_set_plus_e_a_failing_preview_would_end_the_step_unposted(tmp_path):
    # The planted fault the step guards against: bash -eo pipefail stops at the first failing preview.
    done, comment = run_pr_preview_step(tmp_path, "prod", 0, 255, CREDENTIALS, script_edit=lambda s: s.replace("set +e", ":"))
    assert done.returncode != 0
    assert comment is None


def test_every_job_installs_the_tools_it_runs() -> None:
    cfg = config()
    jobs = [name for name, spec in workflow_jobs(cfg).items() if spec.get("type") != "approval"]
    assert any(calls_tool("gh", text) for text in runs(cfg, "onprem-bundle"))
    assert {name: tools_missing(cfg, name) for name in jobs} == dict.fromkeys(jobs, [])


@pytest.mark.parametrize(
    "plant",
    [
        lambda cfg: _remove_step(cfg, cfg["jobs"]["onprem-bundle"], "install-gh"),
        lambda cfg: cfg["commands"]["install-gh"]["steps"][0]["run"].update(
            command=cfg["commands"]["install-gh"]["steps"][0]["run"]["command"].replace("sha256sum -c", "true")
        ),
    ],
    ids=["no-install", "no-checksum"],
)
def test_a_job_running_gh_without_installing_it_is_caught(plant) -> None:
    broken = copy.deepcopy(config())
    plant(broken)
    assert tools_missing(broken, "onprem-bundle") == ["gh at a pinned version, checksum-verified, before its first use"]
