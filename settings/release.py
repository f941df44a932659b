"""The release this stack runs: every service image is tagged with it."""

from pydantic import Field

from .base import Section


class ReleaseConfig(Section):
    # x.y.z-SNAPSHOT in test, x.y.z-rc.N in staging, x.y.z in prod (checked in settings.stack).
    version: str = Field(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
