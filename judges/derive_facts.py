"""Run by hand: fill each `from_values` entry of judges/facts/pods.yaml with the chart's default at that path,
read from the unmodified upstream values file under ../shared/upstream/ (tests never read outside the repo)."""

import sys
from pathlib import Path
from typing import Any

import yaml

from .facts import FACTS_FILE, values_at

# The checkout sits beside shared/ (../shared/upstream); pass another folder as the argument.
UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "upstream"


def derive(facts: dict[str, Any], upstream: Path) -> dict[str, Any]:
    for row in facts["installs"]:
        if "values" not in row:
            continue
        chart_values = yaml.safe_load((upstream / row["values"]["copy"]).read_text())
        entries = [row["pod_security_context"]] + [c["security_context"] for c in row["containers"] + row.get("init_containers", [])]
        for entry in entries:
            if "from_values" in entry:
                entry["default"] = values_at(chart_values, entry["from_values"]) or {}
    return facts


def main() -> None:
    upstream = Path(sys.argv[1]) if len(sys.argv) > 1 else UPSTREAM
    facts = derive(yaml.safe_load(FACTS_FILE.read_text()), upstream)
    lines = FACTS_FILE.read_text().splitlines()
    header = "".join(f"{line}\n" for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))])
    FACTS_FILE.write_text(header + yaml.safe_dump(facts, sort_keys=False, width=200))


if __name__ == "__main__":
    main()
