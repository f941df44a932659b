"""checkov (framework kubernetes, offline) over the rendered manifests of a stack, reported per namespace.

checkov runs from its own venv (.venv-scan, `make scan-install`) because it pins many libraries.
Skipped checks live in one versioned file, policy/checkov-skips.yaml, each with its reason.
"""

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"
SKIPS_FILE = Path(__file__).resolve().parent / "checkov-skips.yaml"


@dataclass(frozen=True)
class Failure:
    namespace: str
    check_id: str
    check_name: str
    resource: str  # checkov's id: Kind.namespace.name
    file: str

    def line(self) -> str:
        return f"{self.namespace}: {self.check_id} {self.resource} ({self.file}): {self.check_name}"


def load_skips(path: Path = SKIPS_FILE) -> dict[str, str]:
    """check id -> reason; a skip without a reason is refused."""
    entries = (yaml.safe_load(path.read_text()) or {}).get("skips") or []
    unexplained = [e.get("check") for e in entries if not str(e.get("reason", "")).strip()]
    if unexplained:
        raise ValueError(f"{path.name}: skips without a reason: {', '.join(map(str, unexplained))}")
    return {e["check"]: e["reason"] for e in entries}


def namespace_of(resource: str) -> str:
    """checkov names resources Kind.namespace.name[.container]; cluster-scoped ones Kind.name."""
    parts = resource.split(".")
    return parts[1] if len(parts) >= 3 else "cluster-scoped"


def scan(manifests: Path, checkov: Path = CHECKOV, skips: dict[str, str] | None = None) -> list[Failure]:
    """Every failed check over the YAML files under `manifests`; raises when checkov itself fails."""
    skipped = load_skips() if skips is None else skips
    command = [str(checkov), "-d", str(manifests), "--framework", "kubernetes", "-o", "json", "--quiet", "--skip-download"]
    if skipped:
        command += ["--skip-check", ",".join(sorted(skipped))]
    # Offline: no platform mapping download, no telemetry.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    reports = json.loads(done.stdout) if done.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    return [
        Failure(namespace_of(f["resource"]), f["check_id"], f["check_name"], f["resource"], f["file_path"])
        for report in reports
        for f in report.get("results", {}).get("failed_checks", [])
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.manifest_scan", description=__doc__)
    parser.add_argument("manifests", nargs="+", type=Path, help="build/<stack>/manifests folders")
    args = parser.parse_args(argv)
    failed = False
    for folder in args.manifests:
        if not folder.is_dir():
            print(f"{folder}: no rendered manifests", file=sys.stderr)
            return 2
        failures = scan(folder)
        for failure in sorted(failures, key=lambda f: (f.namespace, f.resource, f.check_id)):
            print(f"{folder}: {failure.line()}", file=sys.stderr)
        print(f"{folder}: checkov {'failed ' + str(len(failures)) + ' check(s)' if failures else 'passed'}")
        failed = failed or bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
