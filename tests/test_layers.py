"""The Kubernetes layer receives everything from the AWS layer through the cluster handle and imports nothing of it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
K8S_LAYER = ROOT / "components" / "k8s"
# What the Kubernetes layer may never import: the AWS layer and the cloud SDKs it wraps.
FORBIDDEN = ("components.aws", "pulumi_aws", "pulumi_eks")


def imported_modules(source: str, module: str) -> set[str]:
    """Absolute names of every module `source` (the text of `module`, dotted) imports, relative imports resolved."""
    package = module.split(".")
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def forbidden_imports(source: str, module: str) -> list[str]:
    return sorted(n for n in imported_modules(source, module) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_kubernetes_layer_imports_nothing_from_the_aws_layer():
    files = sorted(K8S_LAYER.rglob("*.py"))
    assert len(files) > 10, "the Kubernetes layer's modules were not found"
    found = {str(f.relative_to(ROOT)): forbidden_imports(f.read_text(), _module_name(f)) for f in files}
    assert {f: names for f, names in found.items() if names} == {}


@pytest.mark.parametrize(
    "source",
    [
        "from components.aws.iam import irsa_role",
        "import pulumi_aws as aws",
        "from ...aws import cluster",  # relative, from components/k8s/apps/service.py
        "from components import aws",
    ],
)
def test_the_layer_check_catches_a_planted_import(source: str):
    assert forbidden_imports(source, "components.k8s.apps.service")


def test_the_seam_module_belongs_to_neither_layer():
    seam = ROOT / "components" / "handle.py"
    assert forbidden_imports(seam.read_text(), "components.handle") == []
    assert not [n for n in imported_modules(seam.read_text(), "components.handle") if n.startswith("components.k8s")]
