"""The whole test suite's wall time with the number of tests, as `make test` runs it (target: under a minute on 2 cores)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60


def main() -> int:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2"], cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|errors?|skipped)", tail)}
    tests = sum(counts.values())
    verdict = "OK" if seconds < TARGET_SECONDS and result.returncode == 0 else "OVER TARGET" if seconds >= TARGET_SECONDS else "FAILING"
    print(
        f"test suite: {tests} tests ({tail}) in {seconds:.1f} s wall on {os.cpu_count()} cores: {seconds / TARGET_SECONDS:.2f} of the {TARGET_SECONDS} s target {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
