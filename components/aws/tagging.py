"""Tags every taggable AWS resource carries. The provider adds the stack-wide ones; components add theirs."""

from settings import PROJECT, StackConfig


def stack_tags(cfg: StackConfig) -> dict[str, str]:
    """Provider default tags: on every taggable resource the stack's AWS provider creates."""
    return {"project": PROJECT, "environment": cfg.environment, "managed-by": "pulumi"}


def component_tags(component: str, **extra: str) -> dict[str, str]:
    return {"component": component, **extra}
