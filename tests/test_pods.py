"""One pod vocabulary for the Kubernetes layer (components/k8s/pods.py), and pyright checking all of components/."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
# A file-wide pyright comment: `# pyright: reportX=false`, `# pyright: basic` and the like.
FILE_SWITCH = re.compile(r"^\s*#\s*pyright\s*:", re.MULTILINE)


def pyright_switches(source: str) -> list[str]:
    return [m.group(0).strip() for m in FILE_SWITCH.finditer(source)]


def test_a_file_wide_pyright_switch_is_found():
    planted = '"""Doc."""\n\n# pyright: reportArgumentType=false\nimport pulumi\n'
    assert pyright_switches(planted) == ["# pyright:"]
    assert pyright_switches("x = 1  # a comment about pyright, not a switch\n") == []


def test_no_pyright_switch_remains_in_components():
    files = sorted(COMPONENTS.rglob("*.py"))
    assert len(files) > 20, "components/ was not found"
    switched = {str(f.relative_to(ROOT)): s for f in files if (s := pyright_switches(f.read_text()))}
    assert switched == {}, "pyright checks are switched off file-wide; hand manifests over with pods.as_input instead"
