"""checkov over every stack's rendered manifests: zero failures, skips only from the one versioned file."""

from pathlib import Path

import pytest

from offline.manifests import write_manifests
from policy.manifest_scan import CHECKOV, load_skips, namespace_of, scan
from settings import STACKS

from .conftest import declared

BAD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: apps}
spec:
  replicas: 2
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers:
        - name: app
          image: nginx
          securityContext: {privileged: true}
"""


@pytest.fixture(scope="module", autouse=True)
def checkov_installed():
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make scan-install` (make test does)"


def test_rendered_manifests_of_every_stack_pass_checkov_and_a_broken_one_fails(tmp_path: Path):
    # One checkov run (its start-up dominates) over all three stacks and a known-bad manifest;
    # each failure's file names its folder, so the stacks' verdict and the scan's teeth are read apart.
    for stack in STACKS:
        (tmp_path / stack).mkdir()
        write_manifests(declared(stack), tmp_path / stack)
        assert any((tmp_path / stack / "manifests").glob("*.yaml")), f"{stack}: no manifests rendered"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "apps.deployment.bad.yaml").write_text(BAD_DEPLOYMENT)
    failures = scan(tmp_path)
    stacks = [f for f in failures if not f.file.startswith("/broken/")]
    assert stacks == [], "\n".join(f.line() for f in stacks)
    broken = [f for f in failures if f.file.startswith("/broken/")]
    assert {f.namespace for f in broken} == {"apps"}
    assert "CKV_K8S_16" in {f.check_id for f in broken}  # privileged container


def test_every_skip_has_a_reason(tmp_path: Path):
    assert all(reason.strip() for reason in load_skips().values())
    unexplained = tmp_path / "skips.yaml"
    unexplained.write_text("skips:\n  - check: CKV_K8S_16\n")
    with pytest.raises(ValueError, match="CKV_K8S_16"):
        load_skips(unexplained)


def test_namespace_comes_from_checkov_resource_ids():
    assert namespace_of("Deployment.apps.search") == "apps"
    assert namespace_of("ClusterRole.reader") == "cluster-scoped"
