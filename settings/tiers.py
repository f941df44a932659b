"""Tiers: what a stack must be, apart from where it runs and how big it is.

A stack's tier comes from `insight:tier` in its stack file and defaults to the stack's name, so
`Pulumi.prod.yaml` is tier prod without saying so. Every tier decision (HA minimums, protection,
release kind, policy severities) reads the policy of the stack's tier here, never the stack's name:
a second prod region is a stack file that says `insight:tier: prod` (plus its catalog cluster file).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

import yaml

ROOT = Path(__file__).resolve().parent.parent
TIER_KEY = "insight:tier"

TierName = Literal["test", "staging", "prod", "onprem"]
TIER_NAMES: tuple[str, ...] = get_args(TierName)
ReleaseKind = Literal["snapshot", "rc", "final"]
Severity = Literal["mandatory", "advisory", "disabled"]
# Each policy rule names its class; a tier's column says how hard each class binds there.
#   everywhere: a guardrail for every stack     review: for people to look at, never blocks
#   production: what serving customers needs    protection / retention: keeping what cannot be rebuilt
RuleClass = Literal["everywhere", "review", "production", "protection", "retention"]


@dataclass(frozen=True)
class TierPolicy:
    name: str
    aws: bool  # its stacks run on EKS in their own AWS account (the AWS layer); False: a cluster the customer runs
    min_azs: int  # private subnets (and node pools) span at least this many zones
    quorum_replicas: int  # quorum systems run exactly this many members, one per zone; 1: any odd count
    min_log_retention_days: int  # access logs are kept at least this long
    protected: bool  # irreplaceable resources carry `protect` and are retained on delete
    locked_backups: bool  # the backups bucket has Object Lock (governance) for its retention: no early delete or overwrite
    lb_deletion_protection: bool  # load balancers cannot be deleted by accident
    open_api_endpoint: bool  # the Kubernetes API endpoint may be open to 0.0.0.0/0
    release_kind: ReleaseKind  # the only kind of release version this tier runs
    release_form: str  # that kind, as people write it
    release_approval: bool  # CI holds each release for a person's approval of its previewed plan before applying it
    required_drills: tuple[str, ...]  # failure drills (drills/) it must survive: a failure fails the preview
    severity: Mapping[RuleClass, Severity]  # the policy severity column
    # Cost targets (`make bench`): node (EC2) cost and whole-stack cost at least this far below all on-demand.
    node_saving_target: float = 0.0
    stack_saving_target: float = 0.0


def _column(*, everywhere: Severity, review: Severity, production: Severity, protection: Severity, retention: Severity):
    column: dict[RuleClass, Severity] = {
        "everywhere": everywhere,
        "review": review,
        "production": production,
        "protection": protection,
        "retention": retention,
    }
    return MappingProxyType(column)


TIERS: Mapping[str, TierPolicy] = MappingProxyType(
    {
        # The throwaway cluster every master commit lands on: cheapest shape, nothing protected.
        "test": TierPolicy(
            name="test", aws=True, min_azs=2, quorum_replicas=1, min_log_retention_days=30, protected=False, locked_backups=False, lb_deletion_protection=False,
            open_api_endpoint=True, release_kind="snapshot", release_form="x.y.z-SNAPSHOT[.B]", release_approval=False, required_drills=(),
            severity=_column(everywhere="mandatory", review="advisory", production="advisory", protection="disabled", retention="disabled"),
            node_saving_target=0.65,
        ),
        # Release candidates: protected like prod, sized like test.
        "staging": TierPolicy(
            name="staging", aws=True, min_azs=2, quorum_replicas=1, min_log_retention_days=90, protected=True, locked_backups=False, lb_deletion_protection=False,
            open_api_endpoint=True, release_kind="rc", release_form="x.y.z-rc.N", release_approval=False,
            required_drills=("baseline", "node-lost:reserved", "node-lost:spot"),
            severity=_column(everywhere="mandatory", review="advisory", production="advisory", protection="mandatory", retention="advisory"),
            node_saving_target=0.65,
        ),
        # Final releases serving customers: survives a zone, every guardrail binds.
        "prod": TierPolicy(
            name="prod", aws=True, min_azs=3, quorum_replicas=3, min_log_retention_days=365, protected=True, locked_backups=True, lb_deletion_protection=True,
            open_api_endpoint=False, release_kind="final", release_form="x.y.z", release_approval=True,
            required_drills=("baseline", "node-lost:reserved", "node-lost:spot", "zone-lost", "spot-wave"),
            severity=_column(everywhere="mandatory", review="advisory", production="mandatory", protection="mandatory", retention="mandatory"),
            node_saving_target=0.60, stack_saving_target=0.40,
        ),
        # A customer's own cluster (or one host): final releases, their data protected and retained; its size and
        # zones are the customer's, so HA minimums only advise. No AWS node pools, so no drills.
        "onprem": TierPolicy(
            name="onprem", aws=False, min_azs=1, quorum_replicas=1, min_log_retention_days=30, protected=True, locked_backups=False, lb_deletion_protection=False,
            open_api_endpoint=True, release_kind="final", release_form="x.y.z", release_approval=False, required_drills=(),
            severity=_column(everywhere="mandatory", review="advisory", production="advisory", protection="mandatory", retention="mandatory"),
        ),
    }
)  # fmt: skip
# Where the tier is unknown (a policy pack run on a stack without a readable stack file), the strictest binds.
STRICTEST = "prod"


def tier_policy(tier: str) -> TierPolicy:
    """The policy of a tier; an unknown name gets the strictest (settings refuse unknown tiers before this)."""
    return TIERS.get(tier, TIERS[STRICTEST])


def tiers_taking(kind: ReleaseKind) -> list[str]:
    """The tiers CI deploys a release of this kind to: the AWS ones (on-prem takes final releases as a bundle)."""
    return [t.name for t in TIERS.values() if t.release_kind == kind and t.aws]


def stack_names(root: Path = ROOT) -> list[str]:
    """Every stack of the project: one `Pulumi.<stack>.yaml` each."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))


def stack_tier(stack: str, root: Path = ROOT) -> str:
    """The tier a stack file declares (`insight:tier`), else the stack's name; unreadable files give the name."""
    path = root / f"Pulumi.{stack}.yaml"
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return stack
    config = document.get("config") if isinstance(document, dict) else None
    declared = config.get(TIER_KEY) if isinstance(config, dict) else None
    return declared if isinstance(declared, str) else stack


if __name__ == "__main__":
    # `python -m settings.tiers <stack>` prints the stack's tier (CI hands it to the policy pack as INSIGHT_TIER).
    import sys

    print(stack_tier(sys.argv[1]))
