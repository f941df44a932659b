"""The CrossGuard pack is publishable: `pulumi policy publish` ships policy/ alone, so the pack must load from
a copy of that folder with nothing of the repository beside it, declare its version and its own pinned
requirements, and keep its virtualenv out of the tarball."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline.stackfile import ROOT
from policy.rules import RULES, program
from settings import aws_catalog, endpoints, scheduling, tiers

PACK = ROOT / "policy"
# The pack's imports that are not its own modules, by the distribution that provides them.
DISTRIBUTIONS = {"pulumi": "pulumi", "pulumi_policy": "pulumi-policy"}

LOAD_ALONE = """
import runpy, sys
pack = runpy.run_path(sys.argv[1], run_name="insight_pack")  # as the policy host runs it, less the gRPC server
print(len(pack["policies"]("prod")))
"""


def load_copy(folder: Path) -> subprocess.CompletedProcess[str]:
    """Load the pack from `folder` in an isolated interpreter (-I: no cwd, PYTHONPATH or user site on the path)."""
    return subprocess.run([sys.executable, "-I", "-c", LOAD_ALONE, str(folder)], cwd=folder, capture_output=True, text=True, check=False)


def copy_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "policy"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return folder


def test_the_pack_loads_from_its_folder_alone(tmp_path):
    done = load_copy(copy_pack(tmp_path))
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == sum(1 for rule in RULES if not rule.offline_only)


def test_a_rule_importing_from_the_repository_breaks_the_published_pack(tmp_path):
    folder = copy_pack(tmp_path)
    rules = folder / "rules" / "kubernetes.py"
    rules.write_text("from settings.endpoints import APPS_NAMESPACE  # planted\n" + rules.read_text())
    done = load_copy(folder)
    assert done.returncode != 0
    assert "No module named 'settings'" in done.stderr


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    return {name.split(".")[0] for name in names}


def pack_files() -> list[Path]:
    return [PACK / "__main__.py", PACK / "__init__.py", *sorted((PACK / "rules").glob("*.py"))]


def unpinned_imports(files: list[Path], requirements: str) -> list[str]:
    """Imports of the pack that are neither its own, the standard library's, nor in its requirements."""
    own = {"rules"}  # the host runs __main__.py with the pack folder first on sys.path
    pinned = dict(line.split("==") for line in requirements.splitlines() if "==" in line)
    return [
        f"{path.name} imports {name}"
        for path in files
        for name in sorted(_imports(path) - own - set(sys.stdlib_module_names))
        if DISTRIBUTIONS.get(name) not in pinned
    ]


def test_every_import_of_the_pack_is_its_own_the_standard_librarys_or_in_its_requirements(tmp_path):
    requirements = (PACK / "requirements.txt").read_text()
    assert unpinned_imports(pack_files(), requirements) == []
    planted = tmp_path / "planted.py"
    planted.write_text("import yaml\n")
    assert unpinned_imports([planted], requirements) == ["planted.py imports yaml"]


def test_the_pack_has_a_version_and_installs_into_its_own_folder():
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(project["version"]))
    assert project["runtime"]["name"] == "python"
    venv = project["runtime"]["options"]["virtualenv"]
    assert not Path(venv).is_absolute() and ".." not in Path(venv).parts  # installed pack: the venv is inside it
    assert f"{venv.rstrip('/')}/" in (PACK / ".gitignore").read_text().split()  # publish honours .gitignore


@pytest.mark.parametrize("distribution", ["pulumi", "pulumi-policy"])
def test_the_pack_pins_what_the_project_runs(distribution):
    pins = {}
    for name in ("requirements.txt", "policy/requirements.txt"):
        pins.update({(name, k): v for k, v in re.findall(r"^([\w-]+)==(\S+)", (ROOT / name).read_text(), re.MULTILINE)})
    assert "-r policy/requirements.txt" in (ROOT / "requirements.txt").read_text()
    pack = pins[("policy/requirements.txt", distribution)]
    assert pins.get(("requirements.txt", distribution), pack) == pack


def test_what_the_pack_knows_of_the_program_is_true():
    assert program.SUPPORTED_KUBERNETES_VERSIONS == aws_catalog.SUPPORTED_KUBERNETES_VERSIONS
    assert (program.POOL_LABEL, program.SPOT_TAINT_KEY) == (scheduling.POOL_LABEL, scheduling.SPOT_TAINT_KEY)
    assert program.APPS_NAMESPACE == endpoints.APPS_NAMESPACE


def test_the_packs_tier_table_agrees_with_the_programs():
    from settings.tiers import TIERS

    assert set(program.TIERS) == set(TIERS) and program.STRICTEST == tiers.STRICTEST
    for name, tier in TIERS.items():
        mirror = program.TIERS[name]
        assert (mirror.min_azs, mirror.quorum_replicas, mirror.lb_deletion_protection) == (
            tier.min_azs,
            tier.quorum_replicas,
            tier.lb_deletion_protection,
        ), name
        assert dict(mirror.severity) == dict(tier.severity), name
        assert mirror.aws == tier.aws, name
