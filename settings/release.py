"""The release this stack runs: every service image is tagged with it."""

from collections.abc import Iterator

from pydantic import Field

from delivery.release import ReleaseError, check_version_for_tier, parse_version

from .base import Section
from .errors import Problem
from .tiers import TierPolicy


class ReleaseConfig(Section):
    version: str = Field(
        # [0-9]: \d accepts other scripts' digits.
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$",
        description="the release every image is tagged with, of the tier's kind (x.y.z-SNAPSHOT, x.y.z-rc.N, x.y.z)",
    )


def check_release(tier: TierPolicy, release: ReleaseConfig) -> Iterator[Problem]:
    """The version must be of the kind this stack's tier runs (delivery.release)."""
    try:
        check_version_for_tier(tier.name, parse_version(release.version))
    except ReleaseError as err:
        yield Problem("release.version", release.version, str(err))
