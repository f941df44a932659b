"""Which templates of each pinned chart are Helm hooks; run by hand on a chart bump.

    .venv/bin/python tools/derive_chart_hooks.py MIRROR_DIR

MIRROR_DIR holds bare git mirrors as `<owner>+<name>/repo` (the chart repositories named in CHARTS below).
`helm.v4.Chart` renders hook templates but runs no hooks (no pre-/post-install ordering, no hook Jobs' deletion
policy), so every hook template the program's values leave enabled is a deploy that hangs or a Secret that never
appears. Writes `schemas/chart-hooks.json`: under `charts`, per chart and version, each template carrying a `helm.sh/hook`
annotation at the pinned tag, with its hook kinds and the template's `if` guards (facts, no upstream prose), and
the provenance (project, tag, commit, path, blob) of every template read.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas" / "chart-hooks.json"
# chart name -> (repository, tag of the pinned version, chart folder at that tag); tags as in upstream SOURCES.md.
CHARTS = {
    "kube-prometheus-stack": ("prometheus-community/helm-charts", "kube-prometheus-stack-77.6.2", "charts/kube-prometheus-stack"),
    "datadog": ("DataDog/helm-charts", "datadog-3.130.1", "charts/datadog"),
    "eck-operator": ("elastic/cloud-on-k8s", "v3.1.0", "deploy/eck-operator"),
    "mongodb-kubernetes": ("mongodb/mongodb-kubernetes", "1.3.0", "helm_chart"),
    "aws-load-balancer-controller": ("aws/eks-charts", "v0.0.204", "stable/aws-load-balancer-controller"),
    "cluster-autoscaler": ("kubernetes/autoscaler", "cluster-autoscaler-chart-9.50.1", "charts/cluster-autoscaler"),
    "metrics-server": ("kubernetes-sigs/metrics-server", "metrics-server-helm-chart-3.13.1", "charts/metrics-server"),
}
HOOK = re.compile(r"""["']?helm\.sh/hook["']?\s*:\s*["']?([a-z ,-]+)""")
GUARD = re.compile(r"\{\{-?\s*if\s+(.*?)\s*-?\}\}")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def chart_hooks(mirrors: Path, project: str, tag: str, folder: str) -> dict:
    repo = mirrors / project.replace("/", "+") / "repo"
    commit = git(repo, "rev-parse", f"{tag}^{{commit}}").strip()
    chart = yaml.safe_load(git(repo, "show", f"{commit}:{folder}/Chart.yaml"))
    templates = []
    for line in git(repo, "ls-tree", "-r", commit, "--", folder).splitlines():
        meta, path = line.split("\t")
        blob = meta.split()[2]
        if "/templates/" not in path or not path.endswith((".yaml", ".yml", ".tpl")):
            continue
        text = git(repo, "cat-file", "blob", blob)
        kinds = sorted({k.strip() for m in HOOK.finditer(text) for k in m.group(1).split(",") if k.strip()})
        if kinds:
            templates.append({"path": path, "blob": blob, "hooks": kinds, "guards": GUARD.findall(text)[:3]})
    return {
        "version": chart["version"],
        "provenance": {
            "project": project,
            "tag": tag,
            "commit": commit,
            "folder": folder,
            "chart_blob": git(repo, "rev-parse", f"{commit}:{folder}/Chart.yaml").strip(),
        },
        "hook_templates": templates,
        # Subcharts pulled from other repositories at package time are not in this folder: named, not read.
        "dependencies": [d["name"] for d in chart.get("dependencies") or []],
    }


def provenance(facts: dict) -> list[dict[str, str]]:
    """One row per upstream file the facts rest on: each chart's Chart.yaml and each hook template."""
    rows = []
    for chart in facts.values():
        where = chart["provenance"]
        files = [(f"{where['folder']}/Chart.yaml", where["chart_blob"])] + [(t["path"], t["blob"]) for t in chart["hook_templates"]]
        rows += [{"project": where["project"], "tag": where["tag"], "commit": where["commit"], "path": p, "blob": b} for p, b in files]
    return rows


def main(mirrors: Path) -> None:
    facts = {name: chart_hooks(mirrors, *where) for name, where in CHARTS.items()}
    OUT.write_text(json.dumps({"charts": facts, "provenance": provenance(facts)}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: " + ", ".join(f"{n} {len(f['hook_templates'])}" for n, f in facts.items()))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
