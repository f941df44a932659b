"""The offline preview writes build/<stack>/ for each stack, masks secrets and reads the stack file itself."""

import json
import shutil

import pytest

from offline.preview import main
from offline.stackfile import ROOT, offline_secret, read_stack_file
from settings import STACKS

EXPECTED_KEYS = {"urn", "type", "name", "parent", "custom", "inputs", "dependencies", "protect", "retain_on_delete"}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    # Every stack file previews with exit 0 (no mandatory violation, no required drill failed), as CI's preview-all.
    assert main(["--quiet", "--build-dir", str(out), *STACKS]) == 0
    return out


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_resources_json_records_the_whole_graph(build, stack):
    records = json.loads((build / stack / "resources.json").read_text())
    assert all(set(r) >= EXPECTED_KEYS for r in records)
    urns = {r["urn"] for r in records}
    assert all(r["parent"] in urns or r["type"] == "pulumi:pulumi:Stack" for r in records)
    assert all(set(r["dependencies"]) <= urns for r in records)
    assert any(r["protect"] for r in records) is (stack != "test")


@pytest.mark.parametrize("stack", ["test", "staging", "prod"])
def test_summary_counts_and_tree(build, stack):
    summary = (build / stack / "summary.md").read_text()
    assert summary.startswith(f"# Offline preview of stack `{stack}`")
    assert "| `eks:index:ManagedNodeGroup` | 3 |" in summary  # reserved, spot, on-demand overflow
    assert "  - **network** `insight:network:Network`" in summary
    assert "  - **cluster** `insight:cluster:Cluster`" in summary


def test_prod_preview_shows_three_az_vpc_and_two_pools(build):
    summary = (build / "prod" / "summary.md").read_text()
    for row in ("| `aws:ec2/natGateway:NatGateway` | 3 |", "| `aws:ec2/subnet:Subnet` | 6 |", "| `eks:index:Cluster` | 1 |"):
        assert row in summary
    records = json.loads((build / "prod" / "resources.json").read_text())
    provider = next(r for r in records if r["type"] == "pulumi:providers:aws")
    assert provider["inputs"]["region"] == "ap-northeast-1"
    assert provider["inputs"]["allowedAccountIds"] == ["333333333333"]


def test_secret_config_is_masked_in_every_file(tmp_path, monkeypatch):
    """A `secure:` value in a stack file never reaches build/ in plain text."""
    stack_file = read_stack_file("test", overrides={"insight:kubeconfigProbe": {"secure": "v1:abc"}})
    assert "insight:kubeconfigProbe" in stack_file.secret_keys
    # Unknown secret keys are refused by name without their value being read.
    from offline.runner import run_stack
    from settings import ConfigError

    with pytest.raises(ConfigError) as caught:
        run_stack("test", overrides={"insight:kubeconfigProbe": {"secure": "v1:abc"}})
    assert "insight:kubeconfigProbe = '[secret]': unknown key" in caught.value.render()
    assert offline_secret("insight:kubeconfigProbe") not in caught.value.render()


def test_the_terminal_gets_a_short_report_and_the_full_one_stays_in_summary_md(tmp_path, capsys):
    assert main(["--build-dir", str(tmp_path), "test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 10
    labels = [line.split()[0] for line in lines[2:]]
    assert labels == ["resources", "policies", "cost", "drills", "deploy", "files"]
    assert f"{tmp_path}/test/summary.md (full report)" in lines[-1]
    assert len((tmp_path / "test" / "summary.md").read_text().splitlines()) > 100


def test_bad_settings_exit_2_saying_so(tmp_path, capsys):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.test.yaml").write_text("config:\n  insight:network: {azCount: 9}\n")
    assert main(["--root", str(tmp_path), "--build-dir", str(tmp_path / "build"), "test"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "[1/1] test: exit 2, the stack's settings are invalid (above); nothing was declared"
    )


def test_unknown_stack_is_refused(capsys):
    assert main(["qa"]) == 2
    assert "no stack file Pulumi.qa.yaml" in capsys.readouterr().err
