"""Every Helm chart the platform installs, declared one way: the pinned version from its own repository."""

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from settings.versions import Chart


def pinned_chart(name: str, chart: Chart, namespace: str, values: Mapping[str, Any], opts: pulumi.ResourceOptions) -> k8s.helm.v4.Chart:
    """`chart` at its pinned version (settings/versions.py), rendered into `namespace` with `values`."""
    return k8s.helm.v4.Chart(
        name,
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repo},
        namespace=namespace,
        values=values,
        opts=opts,
    )
