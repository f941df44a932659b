"""Pod Security admission over a whole stack: every pod against the level its namespace enforces."""

from .pod_security import enforced_level, violations
from .stack import Obj, Pod, namespaces


def rejected(pods: list[Pod], objects: list[Obj]) -> list[str]:
    """One line per reason the API server would refuse a pod (empty: every pod is admitted)."""
    declared = namespaces(objects)
    lines = []
    for pod in pods:
        level = enforced_level(declared.get(pod.namespace))
        lines += [f"{pod.origin} in {pod.namespace} ({level}): {v}" for v in violations(pod.spec, level)]
    return lines
