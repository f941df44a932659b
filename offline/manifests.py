"""`build/<stack>/manifests/`: every Kubernetes object the program declares, one YAML file each, as applied.

Opaque installs (Helm charts, release manifests) are not objects of their own offline; they are listed in
`summary.md` instead. Secret values appear as `[secret]`, exactly as the recorder masks them.
"""

from pathlib import Path
from typing import Any

import yaml

from .recorder import Record
from .runner import Run

OPAQUE = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")


def is_object(record: Record) -> bool:
    return record.type.startswith("kubernetes:") and record.custom and not record.type.startswith(OPAQUE)


def manifest(record: Record) -> dict[str, Any]:
    """The object as `kubectl apply` would get it: apiVersion and kind first, then metadata and the rest."""
    body = dict(record.inputs)
    head = {k: body.pop(k) for k in ("apiVersion", "kind", "metadata") if k in body}
    return {**head, **dict(sorted(body.items()))}


def manifests(run: Run) -> list[dict[str, Any]]:
    return [manifest(r) for r in run.records if is_object(r)]


def file_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace', '_cluster')}.{obj['kind'].lower()}.{meta['name']}.yaml"


class _ReviewableDumper(yaml.SafeDumper):
    """Multi-line strings (rendered application.conf, scripts) as literal blocks, so a diff reads line by line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReviewableDumper.add_representer(str, _str)


def write_manifests(run: Run, out: Path) -> None:
    folder = out / "manifests"
    folder.mkdir(exist_ok=True)
    for obj in manifests(run):
        (folder / file_name(obj)).write_text(yaml.dump(obj, Dumper=_ReviewableDumper, sort_keys=False, default_flow_style=False))
