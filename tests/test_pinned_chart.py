"""Every Helm chart is declared through components/k8s/platform/charts.py's pinned_chart(), nowhere by hand."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELPER = Path("components/k8s/platform/charts.py")


def hand_written_charts(root: Path) -> list[str]:
    """Files under components/ (the helper excepted) that declare a Helm chart themselves."""
    return sorted(
        str(path.relative_to(root))
        for path in (root / "components").rglob("*.py")
        if path.relative_to(root) != HELPER and "helm.v4.Chart(" in path.read_text()
    )


def test_only_pinned_chart_declares_helm_charts():
    assert (ROOT / HELPER).is_file()
    assert hand_written_charts(ROOT) == []


def test_a_chart_declared_by_hand_is_named(tmp_path: Path):
    (tmp_path / HELPER).parent.mkdir(parents=True)
    (tmp_path / HELPER).write_text("k8s.helm.v4.Chart(name)\n")
    planted = tmp_path / "components/k8s/platform/new.py"
    planted.write_text('k8s.helm.v4.Chart("x", chart="y")\n')
    assert hand_written_charts(tmp_path) == ["components/k8s/platform/new.py"]
