"""What every platform child is given in common, so each child's own Args hold only what is its own."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pulumi

from components.handle import ClusterHandle
from settings.platform import MetricsBackend


@dataclass(frozen=True)
class PlatformContext:
    cluster: ClusterHandle  # workload identity, backup store, storage classes, the cluster's name
    protect: bool  # the tier protects the data tier (its custom resources, StatefulSets and namespaces)
    scale: int  # the tier's quorum size: quotas grow with it
    metrics_backend: MetricsBackend
    ready: Sequence[pulumi.Resource] = ()  # what a child's resources wait for (the foundations)

    def after(self, *resources: pulumi.Resource) -> "PlatformContext":
        """The same context, its children also waiting for `resources`."""
        return replace(self, ready=(*self.ready, *resources))
