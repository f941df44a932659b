"""Derive the structure the tests judge against from unmodified upstream files; run by hand on a version bump.

    .venv/bin/python tools/derive_schemas.py UPSTREAM_DIR

UPSTREAM_DIR holds unmodified upstream files as `<project>/<version>/<file>` and a SOURCES.md that lists them.

Reads `<upstream>/SOURCES.md` (one row per stored file: project, version, tag, commit, upstream path, blob) and
writes `schemas/<project>/<version>/`:
- `<crd file stem>.json` per CustomResourceDefinition: group, kind and, per served version, the OpenAPI schema
  reduced to structure (types, properties, required, enums, formats, bounds, x-kubernetes-* markers); upstream
  descriptions and examples are dropped (they are upstream prose).
- `compose-spec.json` from the Compose Specification's JSON Schema: the schema with its prose (title,
  description, examples) dropped and every keyword that validates kept, so a Compose file validates exactly as
  against the upstream schema.
- `values.json` per Helm chart: chart name, version, appVersion and the tree of known values keys with their kind
  (map, list, scalar, or null when values.yaml leaves it empty), from values.yaml and values.schema.json.
Every file carries its provenance. Tests read only `schemas/`; nothing else in the repository reads upstream.
"""

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas"
# Schema keywords that state structure; everything else (description, example, title) is prose and is dropped.
STRUCTURE = {
    "type", "required", "enum", "format", "pattern", "default", "nullable",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
}  # fmt: skip
NESTED = {"items", "additionalProperties", "not"}
NESTED_LISTS = {"anyOf", "oneOf", "allOf"}


def sources(upstream: Path) -> list[dict[str, str]]:
    """The rows of SOURCES.md's file table, keyed by its column names."""
    rows: list[dict[str, str]] = []
    header: list[str] = []
    for line in (upstream / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:2] == ["Project", "Version"] and "Stored as" in cells:
            header = cells
        elif header and line.startswith("|") and len(cells) == len(header) and not set(cells[0]) <= {"-", " "}:
            rows.append(dict(zip(header, cells, strict=True)))
        elif header and not line.startswith("|"):
            header = []
    return rows


def provenance(row: dict[str, str]) -> dict[str, str]:
    return {
        "project": row["Repository"],
        "tag": row["Tag"],
        "commit": row["Commit"],
        "path": row["Upstream path"],
        "blob": row["Git blob SHA-1"],
        "license": row["License of the repo"],
    }


def structure(schema: Any) -> Any:
    """The schema with only structural keywords; `properties` keys are field names, kept as they are."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in STRUCTURE or key.startswith("x-kubernetes-"):
            out[key] = value
        elif key == "properties":
            out[key] = {name: structure(sub) for name, sub in value.items()}
        elif key in NESTED:
            out[key] = structure(value)
        elif key in NESTED_LISTS:
            out[key] = [structure(sub) for sub in value]
    return out


# Keywords of a JSON Schema (draft 7) that validate or point; everything else (title, description, examples) is prose.
VALIDATING = STRUCTURE | {"$schema", "$id", "$ref", "const", "propertyNames", "dependencies", "contains", "if", "then", "else"}
SCHEMA_MAPS = {"properties", "patternProperties", "definitions"}


def derive_json_schema(schema: Any) -> Any:
    """A JSON Schema with only the keywords that decide validity; names under properties/definitions kept as they are."""
    if isinstance(schema, list):
        return [derive_json_schema(sub) for sub in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in SCHEMA_MAPS:
            out[key] = {name: derive_json_schema(sub) for name, sub in value.items()}
        elif key in VALIDATING:
            out[key] = value if key in STRUCTURE | {"$schema", "$id", "$ref", "const"} else derive_json_schema(value)
        elif key in NESTED | NESTED_LISTS | {"additionalItems"}:
            out[key] = derive_json_schema(value)
    return out


def derive_crd(crd: dict[str, Any], row: dict[str, str]) -> dict[str, Any]:
    spec = crd["spec"]
    return {
        "provenance": provenance(row),
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "versions": {v["name"]: structure(v["schema"]["openAPIV3Schema"]) for v in spec["versions"] if v.get("served", True)},
    }


def value_tree(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"kind": "map", "keys": {str(k): value_tree(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"kind": "list"}
    return {"kind": None if value is None else "scalar"}


def schema_tree(schema: dict[str, Any]) -> dict[str, Any]:
    """values.schema.json's properties as the same tree (a `$ref` or untyped node is of unknown kind)."""
    declared = schema.get("type")
    kind = None if declared is None or isinstance(declared, list) else {"object": "map", "array": "list"}.get(declared, "scalar")
    tree: dict[str, Any] = {"kind": kind}
    if "properties" in schema:
        tree = {"kind": "map", "keys": {k: schema_tree(v) for k, v in schema["properties"].items()}}
    return tree


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    kind = a["kind"] or b["kind"]
    merged: dict[str, Any] = {"kind": kind}
    if kind == "map":
        keys = dict(a.get("keys", {}))
        for name, sub in b.get("keys", {}).items():
            keys[name] = merge(keys[name], sub) if name in keys else sub
        merged["keys"] = keys
    return merged


def derive_chart(folder: Path, rows: dict[str, dict[str, str]]) -> dict[str, Any]:
    chart = yaml.safe_load((folder / "Chart.yaml").read_text())
    tree = value_tree(yaml.safe_load((folder / "values.yaml").read_text()) or {})
    if (folder / "values.schema.json").exists():
        tree = merge(tree, schema_tree(json.loads((folder / "values.schema.json").read_text())))
    files = [n for n in ("Chart.yaml", "values.yaml", "values.schema.json") if (folder / n).exists()]
    return {
        "provenance": [provenance(rows[n]) for n in files],
        "chart": chart["name"],
        "version": str(chart["version"]),
        "appVersion": str(chart.get("appVersion", "")),
        "values": tree,
    }


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def main(upstream: Path) -> None:
    by_folder: dict[Path, dict[str, dict[str, str]]] = {}
    for row in sources(upstream):
        stored = upstream / row["Stored as"]
        by_folder.setdefault(stored.parent, {})[stored.name] = row
    shutil.rmtree(OUT, ignore_errors=True)
    for folder, rows in sorted(by_folder.items()):
        target = OUT / folder.relative_to(upstream)
        for name, row in rows.items():
            text = (folder / name).read_text()
            # Templates and kustomize files are stored too; only CRDs are plain YAML worth reading here.
            if name.endswith(".yaml") and "\nkind: CustomResourceDefinition\n" in text:
                doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                write(target / f"{Path(name).stem}.json", derive_crd(doc, row))
            elif name == "compose-spec.json":
                write(target / name, {"provenance": provenance(row), "schema": derive_json_schema(json.loads(text))})
        if "Chart.yaml" in rows and "values.yaml" in rows:
            write(target / "values.json", derive_chart(folder, rows))
    print(f"wrote {sum(1 for _ in OUT.rglob('*.json'))} files under {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "SOURCES.md").is_file():
        sys.exit("usage: python tools/derive_schemas.py UPSTREAM_DIR  (a folder with SOURCES.md and <project>/<version>/)")
    main(Path(sys.argv[1]))
