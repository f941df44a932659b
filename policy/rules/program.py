"""What the pack knows of the program it judges. The pack is published alone (`pulumi policy publish` ships
this folder), so it states these itself; tests/test_policy_pack.py checks they agree with the program's."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# Kubernetes versions in EKS standard support that the program is tested against (settings/aws_catalog.py).
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.33", "1.34", "1.35")
# Node pool label and spot taint of the cluster's node groups (settings/scheduling.py).
POOL_LABEL = "insight.io/pool"
SPOT_TAINT_KEY = "insight.io/spot"
# The namespace of the catalog's services, the only one exposed to the internet (settings/endpoints.py).
APPS_NAMESPACE = "apps"

# The tier table's part the rules read (settings/tiers.py): the pack cannot import it, so it states it here.
Severity = Literal["mandatory", "advisory", "disabled"]
RuleClass = Literal["everywhere", "review", "production", "protection", "retention"]


@dataclass(frozen=True)
class PackTier:
    name: str
    min_azs: int
    quorum_replicas: int
    lb_deletion_protection: bool
    severity: Mapping[RuleClass, Severity]
    # The stack declares its own storage classes (the AWS tiers); False: the customer's cluster provides them.
    aws: bool = True


TIERS: Mapping[str, PackTier] = {
    "test": PackTier("test", 2, 1, False, {"everywhere": "mandatory", "review": "advisory", "production": "advisory", "protection": "disabled", "retention": "disabled"}),
    "staging": PackTier("staging", 2, 1, False, {"everywhere": "mandatory", "review": "advisory", "production": "advisory", "protection": "mandatory", "retention": "advisory"}),
    "prod": PackTier("prod", 3, 3, True, {"everywhere": "mandatory", "review": "advisory", "production": "mandatory", "protection": "mandatory", "retention": "mandatory"}),
    "onprem": PackTier("onprem", 1, 1, False, {"everywhere": "mandatory", "review": "advisory", "production": "advisory", "protection": "mandatory", "retention": "mandatory"}, aws=False),
}  # fmt: skip
STRICTEST = "prod"


def tier_policy(tier: str) -> PackTier:
    """An unknown tier (or a stack name that is none) gets the strictest."""
    return TIERS.get(tier, TIERS[STRICTEST])
