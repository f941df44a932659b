"""The release this stack runs: every service image is tagged with it."""

from collections.abc import Iterator

from pydantic import Field

from delivery.release import ReleaseError, check_version_for_stack, parse_version

from .base import Section
from .errors import Problem


class ReleaseConfig(Section):
    # x.y.z-SNAPSHOT in test, x.y.z-rc.N in staging, x.y.z in prod (check_release).
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")


def check_release(environment: str, release: ReleaseConfig) -> Iterator[Problem]:
    """The version must be one the release rules send to this stack (delivery.release)."""
    try:
        check_version_for_stack(environment, parse_version(release.version))
    except ReleaseError as err:
        yield Problem("release.version", release.version, str(err))
