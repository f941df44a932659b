"""Each AWS stack's estimated saving below the same stack all on-demand, against its tier's targets, in one run."""

import sys

from costing.model import interface_endpoint_break_even_gb
from costing.prices import load_prices
from costing.report import stack_estimate
from costing.targets import target_results
from offline.runner import run_stack
from settings import AWS_STACKS, StackConfig
from settings.tiers import tier_policy


def main() -> int:
    missed = []
    for stack in AWS_STACKS:
        run = run_stack(stack)
        cfg = run.settings
        assert isinstance(cfg, StackConfig)
        e = stack_estimate(run)
        for result in target_results(stack, tier_policy(cfg.tier), e):
            print(result.line())
            missed += [result] if not result.met else []
        azs = cfg.network.az_count
        break_even = interface_endpoint_break_even_gb(load_prices().region(cfg.region), azs, load_prices().hours_per_month)
        print(f"{stack}: an interface endpoint in {azs} AZs pays off above {break_even:,.0f} GB/month through it")
    if missed:
        print(f"{len(missed)} cost target(s) missed; README.md 'Known limits (issue 14)' says what would meet them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
