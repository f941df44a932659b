"""A component's outputs are the attributes annotated at the top of its class, and it registers exactly those.

    class Network(pulumi.ComponentResource):
        vpc_id: pulumi.Output[str]
        ...
        register_declared(self)   # registers {"vpcId": self.vpc_id, ...}

Children and helpers are plain attributes set in `__init__`, never annotated at class level.
"""

import pulumi


def declared_outputs(cls: type) -> tuple[str, ...]:
    """The attribute names a component class declares as its outputs, in declaration order."""
    return tuple(vars(cls).get("__annotations__", {}))


def output_key(attribute: str) -> str:
    """The registered (engine-side) name of an output: camelCase, as every other Pulumi output."""
    head, *rest = attribute.split("_")
    return head + "".join(part.capitalize() for part in rest)


def register_declared(component: pulumi.ComponentResource) -> None:
    component.register_outputs({output_key(a): getattr(component, a) for a in declared_outputs(type(component))})
