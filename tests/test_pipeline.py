"""The CircleCI pipeline: it parses, its jobs are wired, and its filters send each ref where delivery.release does."""

import importlib
import re
from functools import cache
from typing import Any

import pytest

from catalog import load_catalog
from delivery.images import main as images_main
from delivery.pr_comment import comment_body, marker, pull_request, upsert_comment
from delivery.pr_comment import main as comment_main
from delivery.release import ReleaseError, main, parse_tag, target_tiers
from offline.stackfile import ROOT
from settings.tiers import TIERS, stack_tier

from . import circleci
from .circleci import STACKS


def config() -> dict[str, Any]:
    return circleci.config()


def workflow_jobs() -> dict[str, dict[str, Any]]:
    return circleci.workflow_jobs(config())


def _matches(pattern: str | list[str], ref: str) -> bool:
    """CircleCI filter semantics: `/regex/` must match the whole name; anything else is the literal name."""
    patterns = pattern if isinstance(pattern, list) else [pattern]
    return any(re.fullmatch(p[1:-1], ref) if p.startswith("/") and p.endswith("/") else p == ref for p in patterns)


def _passes_filters(spec: dict[str, Any], kind: str, ref: str) -> bool:
    filters = spec.get("filters", {}).get("tags" if kind == "tag" else "branches", {})
    if kind == "tag" and "only" not in filters:
        return False  # CircleCI runs no job for a tag unless its filters name the tag
    if "only" in filters and not _matches(filters["only"], ref):
        return False
    return not ("ignore" in filters and _matches(filters["ignore"], ref))


def jobs_run(kind: str, ref: str) -> set[str]:
    """The workflow's jobs a push of this branch or tag runs: those passing their filters whose requirements run."""
    jobs = workflow_jobs()

    @cache
    def runs(name: str) -> bool:
        spec = jobs[name]
        return _passes_filters(spec, kind, ref) and all(runs(r) for r in spec.get("requires", []))

    return {name for name in jobs if runs(name)}


def stacks_of(job: str, kind: str, ref: str) -> set[str]:
    """The stacks for which a push runs `job` (build-images or deploy)."""
    jobs = workflow_jobs()
    return {jobs[name]["stack"] for name in jobs_run(kind, ref) if jobs[name]["job"] == job}


def release_rule(kind: str, ref: str) -> frozenset[str]:
    """The stacks delivery.release sends this push to: master commits (SNAPSHOTs) and release tags to every stack
    of a tier that takes their kind."""
    if kind == "branch":
        tiers = [t.name for t in TIERS.values() if t.release_kind == "snapshot"] if ref == "master" else []
    else:
        try:
            tiers = target_tiers(parse_tag(ref))
        except ReleaseError:
            tiers = []
    return frozenset(s for s in STACKS if stack_tier(s) in tiers)


REFS = [
    ("branch", "master"),
    ("branch", "feature/edge-dns"),
    ("branch", "v1.4.0"),  # a branch named like a tag is still a branch
    ("branch", "master-backup"),
    ("tag", "v1.4.0-rc.2"),
    ("tag", "v10.20.30-rc.11"),
    ("tag", "v1.4.0"),
    ("tag", "v0.1.0"),
    ("tag", "v1.4.0-SNAPSHOT"),
    ("tag", "v1.4.0-rc.2-hotfix"),
    ("tag", "v1.4.0-beta.1"),
    ("tag", "v1.4.0-rc.01"),
    ("tag", "v01.4.0"),
    ("tag", "v1.4"),
    ("tag", "1.4.0"),
    ("tag", "v1.4.0+build.5"),
    ("tag", "nightly"),
]


@pytest.mark.parametrize(("kind", "ref"), REFS)
def test_tag_and_branch_filters_agree_with_the_release_rules(kind, ref):
    expected = release_rule(kind, ref)
    for job in ("build-images", "release-preview", "deploy"):
        assert stacks_of(job, kind, ref) == expected, job


def test_the_table_covers_every_stack_and_refusal():
    routed = {release_rule(kind, ref) for kind, ref in REFS}
    assert frozenset() in routed and set().union(*routed) == set(STACKS)


@pytest.mark.parametrize(("kind", "ref"), [("branch", "feature/edge-dns"), ("branch", "master")])
def test_every_branch_is_linted_tested_and_previewed_offline(kind, ref):
    ran = jobs_run(kind, ref)
    assert {"check", "test"} <= ran
    pull_request_previews = {f"pr-preview-{s}" for s in STACKS}
    assert ran & pull_request_previews == (pull_request_previews if ref != "master" else set())
    assert ("offline-preview" in ran) is (ref == "master")


def test_master_builds_snapshot_images_before_it_deploys_test():
    jobs = workflow_jobs()
    assert jobs_run("branch", "master") >= {"images-test", "preview-test", "deploy-test"}
    assert jobs["deploy-test"]["requires"] == ["preview-test"]
    assert jobs["preview-test"]["requires"] == ["images-test"]
    assert set(jobs["images-test"]["requires"]) == {"check", "test"}
    assert "delivery.release next-snapshot --build" in run_commands(config()["jobs"]["build-images"]["steps"])


def test_prod_waits_for_an_approval_and_staging_does_not():
    jobs = workflow_jobs()
    assert jobs["hold-prod"]["type"] == "approval"
    assert jobs["deploy-prod"]["requires"] == ["hold-prod"]
    assert jobs["hold-prod"]["requires"] == ["preview-prod"]
    assert "hold-prod" in jobs_run("tag", "v1.4.0")
    assert "hold-prod" not in jobs_run("tag", "v1.4.0-rc.2")
    assert {"check", "test", "images-staging", "preview-staging", "deploy-staging"} <= jobs_run("tag", "v1.4.0-rc.2")
    assert jobs["deploy-staging"]["requires"] == ["preview-staging"]


def test_jobs_are_wired():
    jobs = workflow_jobs()
    defined = config()["jobs"]
    contexts = {"deploy": "insight-{}", "build-images": "insight-{}", "release-preview": "insight-{}", "pr-preview": "insight-preview-{}"}
    for name, spec in jobs.items():
        assert spec["job"] in defined or spec.get("type") == "approval", name
        assert all(r in jobs for r in spec.get("requires", [])), name
        if spec["job"] in contexts:
            # Each stack runs with its own context (its backend settings, and the OIDC token needs a context).
            assert spec["context"] == contexts[spec["job"]].format(spec["stack"]), name
    for key in contexts:
        assert sorted(defined[key]["parameters"]["stack"]["enum"]) == sorted(STACKS)
        identity = [s["aws-identity"] for s in defined[key]["steps"] if isinstance(s, dict) and "aws-identity" in s]
        assert [i["stack"] for i in identity] == ["<< parameters.stack >>"], key  # AWS through the job's OIDC token


def run_commands(steps: list[Any]) -> str:
    """The shell of every `run` step, as CircleCI hands it to bash."""
    runs = [s["run"] for s in steps if isinstance(s, dict) and "run" in s]
    return "\n".join(r if isinstance(r, str) else r["command"] for r in runs)


def _commands() -> str:
    blocks = [*config()["jobs"].values(), *config()["commands"].values()]
    return "\n".join(run_commands(block["steps"]) for block in blocks)


def test_every_module_and_release_command_the_pipeline_calls_exists():
    text = _commands()
    modules = set(re.findall(r"python -m (delivery\.\w+)", text))
    assert modules >= {"delivery.release", "delivery.images", "delivery.ci_role", "delivery.preview_comment"}
    for module in modules:
        assert callable(importlib.import_module(module).main)
    for command in set(re.findall(r"delivery\.release ([a-z-]+)", text)):
        with pytest.raises(SystemExit) as help_exit:
            main([command, "--help"])
        assert help_exit.value.code == 0, command


def test_every_make_target_the_pipeline_calls_exists():
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    called = set(re.findall(r"\bmake ([a-z-]+)", _commands()))
    assert called == {"install", "check", "test", "preview", "preview-all", "policy-pack", "compose"}
    assert called <= targets


def test_pull_requests_get_one_comment_per_stack():
    for stack in STACKS:
        steps = "\n".join(circleci.runs(config(), f"pr-preview-{stack}"))
        assert 'make preview STACK="$stack" BASE="$(git merge-base origin/master HEAD)"' in steps
        assert 'delivery.preview_comment "$stack"' in steps
        assert f"stack={stack}" in steps


def test_deploy_refuses_a_backwards_version_before_pulumi_up():
    for stack in STACKS:
        for job in (f"preview-{stack}", f"deploy-{stack}"):
            command = "\n".join(circleci.runs(config(), job))
            pulumi = command.index("pulumi up" if job.startswith("deploy") else "pulumi preview")
            check = command.index("delivery.release check")
            assert check < command.index("pulumi config set --path insight:release.version") < pulumi, job


def test_pr_comment_edits_its_own_comment_and_leaves_others_alone():
    calls: list[tuple[str, str, Any]] = []
    existing = [{"id": 7, "body": "looks good"}, {"id": 9, "body": marker("offline-diff-prod") + "\nold"}]

    def api(method: str, path: str, payload: dict[str, Any] | None) -> Any:
        calls.append((method, path, payload))
        return existing if method == "GET" else {}

    body = comment_body("offline-diff-prod", "**no changes**")
    assert upsert_comment(api, "insightio/platform", 42, "offline-diff-prod", body) == "updated"
    assert calls[-1] == ("PATCH", "/repos/insightio/platform/issues/comments/9", {"body": body})
    assert upsert_comment(api, "insightio/platform", 42, "offline-diff-test", comment_body("offline-diff-test", "x")) == "added"
    assert calls[-1][:2] == ("POST", "/repos/insightio/platform/issues/42/comments")


def test_pr_comment_body_is_marked_fenced_and_bounded():
    assert pull_request("https://github.com/insightio/platform/pull/42") == ("insightio/platform", 42)
    with pytest.raises(ValueError, match="not a GitHub pull request URL"):
        pull_request("https://github.com/insightio/platform/commit/abc")
    assert comment_body("k", "+ added", code=True) == f"{marker('k')}\n```diff\n+ added\n```"
    long = comment_body("k", "x" * 100_000, artifacts="https://circleci.com/build/1")
    assert len(long) < 65_536
    assert long.endswith("cut at 60000 characters (whole file: https://circleci.com/build/1)")


def test_pr_comment_without_a_pull_request_posts_nothing(tmp_path, capsys):
    diff = tmp_path / "diff.md"
    diff.write_text("**no changes**")

    def api(method: str, path: str, payload: dict[str, Any] | None) -> Any:
        raise AssertionError("no call expected")

    assert comment_main(["offline-diff-test", str(diff)], environ={"GITHUB_TOKEN": "t"}, api=api) == 0
    assert capsys.readouterr().out == "offline-diff-test: not posted (no pull request)\n"


@pytest.mark.parametrize(("stack", "version", "registry"), [("test", "1.4.1-SNAPSHOT.812", "111111111111.dkr.ecr.us-west-2.amazonaws.com")])
def test_images_are_one_per_catalog_service_in_the_stacks_registry(stack, version, registry, capsys):
    assert images_main([stack, version]) == 0
    lines = capsys.readouterr().out.splitlines()
    services = sorted(s.name for s in load_catalog(stack).services)
    assert lines == [f"{name} {registry}/insight-{stack}/{name}:{version}" for name in services]
    assert images_main(["prod", version]) == 2
    assert "is a SNAPSHOT and goes to test, not prod" in capsys.readouterr().err
