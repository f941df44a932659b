"""The offline preview of each stack against the SDK floor (target <= 1.5x).

The floor: the same number of trivial resources registered under the same mocks, recorder and
runner in the same process, so the ratio is what the program itself adds to the SDK's own cost.
"""

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pulumi

from offline.preview import preview
from offline.runner import run_stack
from settings import STACKS

TARGET = 1.5
ROUNDS = 3  # best of: the least disturbed measurement of each side


def best_seconds(action: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def trivial_program(count: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Trivial", f"trivial-{i}", {})

    return program


def main() -> int:
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="insight-bench-") as build:
        for stack in STACKS:
            preview(stack, Path(build))  # warm-up: imports and caches are not the program's cost
            resources = len(run_stack(stack).records) - 1  # the stack itself is in both runs
            program = trivial_program(resources)
            run_stack(stack, program=program)
            full = best_seconds(lambda s=stack: preview(s, Path(build)))
            declare = best_seconds(lambda s=stack: run_stack(s))
            floor = best_seconds(lambda s=stack, p=program: run_stack(s, program=p))
            ratio = full / floor
            worst = max(worst, ratio)
            print(
                f"preview {stack}: {resources} resources, {full:.3f} s against the SDK floor {floor:.3f} s: {ratio:.2f}x "
                f"(target <= {TARGET}x); declaring alone {declare / floor:.2f}x, writing build/ {(full - declare) / floor:.2f}x"
            )
    print(f"preview vs SDK floor, worst stack: {worst:.2f}x {'OK' if worst <= TARGET else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
