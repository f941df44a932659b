"""Derive the controllers' published IAM policies into the repository (run by hand, never by tests).

Reads the unmodified upstream policy document under ../shared/upstream and writes its statements (structure only:
effects, actions, resources, conditions) with provenance to components/k8s/platform/published/. Tests read only
that copy. Re-run after bumping the chart in settings/versions.py, then review the diff.

    .venv/bin/python -m tools.derive_controller_policies ../shared/upstream
"""

import hashlib
import json
import sys
from pathlib import Path

from settings import versions

OUT = Path(__file__).resolve().parent.parent / "components" / "k8s" / "platform" / "published"

# (controller, upstream project, tag, path in the upstream repository, commit, folder under ../shared/upstream)
SOURCES = {
    "aws-load-balancer-controller": {
        "project": "kubernetes-sigs/aws-load-balancer-controller",
        "tag": "v2.13.4",
        "commit": "aefed36aa30528e35a73281a5dc131ed26caa0f4",
        "path": "docs/install/iam_policy.json",
        "chart": f"{versions.AWS_LOAD_BALANCER_CONTROLLER.name} {versions.AWS_LOAD_BALANCER_CONTROLLER.version} (appVersion v2.13.4)",
        "local": "aws-load-balancer-controller/2.13.4/iam_policy.json",
    },
}


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def derive(upstream: Path) -> None:
    for controller, source in SOURCES.items():
        raw = (upstream / source["local"]).read_bytes()
        document = json.loads(raw)
        structure = [
            {key: statement[key] for key in ("Effect", "Action", "Resource", "Condition") if key in statement}
            for statement in document["Statement"]
        ]
        provenance = {key: value for key, value in source.items() if key != "local"} | {"blob": git_blob_sha(raw)}
        out = OUT / f"{controller}.json"
        out.write_text(json.dumps({"source": provenance, "Version": document["Version"], "Statement": structure}, indent=1) + "\n")
        print(f"{out}: {len(structure)} statements from {source['project']}@{source['tag']}:{source['path']}")


if __name__ == "__main__":
    derive(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/upstream"))
