"""Credentials: generated passwords and the app-facing Secrets of the endpoints contract."""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from settings.endpoints import APP_SECRETS, APPS_NAMESPACE


def generated_password(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """32 characters without symbols (safe in URIs and config files), a Pulumi secret end to end."""
    password = random.RandomPassword(name, length=32, special=False, opts=pulumi.ResourceOptions(parent=parent))
    return pulumi.Output.secret(password.result)


def secret(
    name: str, namespace: str, values: dict[str, pulumi.Input[str]], opts: pulumi.ResourceOptions, type_: str = "Opaque"
) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        f"{namespace}-{name}",
        metadata={"namespace": namespace, "name": name},
        type=type_,
        string_data={k: pulumi.Output.secret(v) for k, v in values.items()},
        opts=opts,
    )


def app_secret(system: str, values: dict[str, pulumi.Input[str]], opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    """The Secret the services read for `system`, with exactly the contract's name and keys."""
    ref = APP_SECRETS[system]
    if set(values) != set(ref.keys):
        raise ValueError(f"{system} credentials must carry {ref.keys}, got {sorted(values)}")
    return secret(ref.name, APPS_NAMESPACE, values, opts)
