"""The cost targets of each tier (settings/tiers.py) read against a stack's estimate: met or missed, as ratios."""

from dataclasses import dataclass

from settings.tiers import TierPolicy

from .model import Estimate


@dataclass(frozen=True)
class TargetResult:
    stack: str
    measure: str  # "node" (EC2) or "stack" (the whole bill)
    saving: float
    target: float

    @property
    def met(self) -> bool:
        return self.saving >= self.target

    def line(self) -> str:
        verdict = "met" if self.met else "MISSED"
        return f"{self.stack} {self.measure} cost: {self.saving:.1%} below all on-demand, target {self.target:.0%}: {verdict}"


def target_results(stack: str, tier: TierPolicy, e: Estimate) -> list[TargetResult]:
    """Every target the stack's tier sets (a zero target is none)."""
    measured = (("node", e.node_saving, tier.node_saving_target), ("stack", e.stack_saving, tier.stack_saving_target))
    return [TargetResult(stack, measure, saving, target) for measure, saving, target in measured if target]
