"""The release this stack runs: every service image is tagged with it."""

from collections.abc import Iterator

from pydantic import Field

from delivery.release import ReleaseError, check_version_for_tier, parse_version

from .base import Section
from .errors import Problem
from .tiers import TierPolicy


class ReleaseConfig(Section):
    # Of the kind the tier runs: x.y.z-SNAPSHOT in test, x.y.z-rc.N in staging, x.y.z in prod (check_release).
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")


def check_release(tier: TierPolicy, release: ReleaseConfig) -> Iterator[Problem]:
    """The version must be of the kind this stack's tier runs (delivery.release)."""
    try:
        check_version_for_tier(tier.name, parse_version(release.version))
    except ReleaseError as err:
        yield Problem("release.version", release.version, str(err))
