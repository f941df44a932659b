"""The deployment shape of one service: the `deploy` section of its merged HOCON layers, typed."""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

# Kubernetes resource quantities as the API server accepts them ("250m", "1", "512Mi").
CPU = r"^\d+(\.\d+)?m?$"
MEMORY = r"^\d+(Ki|Mi|Gi)$"
DNS_LABEL = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
AWS_ACTION = r"^[a-z0-9-]+:[A-Za-z*]+$"


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Quantities(Shape):
    cpu: str = Field(pattern=CPU)
    memory: str = Field(pattern=MEMORY)


class Resources(Shape):
    requests: Quantities
    limits: Quantities


class Autoscaling(Shape):
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    target_cpu_percent: int = Field(ge=10, le=100)

    @model_validator(mode="after")
    def _range(self) -> "Autoscaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas {self.min_replicas} is above maxReplicas {self.max_replicas}")
        return self


class Probe(Shape):
    path: str = Field(pattern=r"^/")
    initial_delay_seconds: int = Field(ge=0)
    period_seconds: int = Field(ge=1)
    failure_threshold: int = Field(ge=1)


class Probes(Shape):
    port: int = Field(ge=1, le=65535)  # the admin port (Finagle's TwitterServer answers /health there)
    liveness: Probe
    readiness: Probe


class Volume(Shape):
    size_gib: int = Field(ge=1, le=16384)
    mount_path: str = Field(pattern=r"^/")


class AwsStatement(Shape):
    """One IAM statement the service's role carries: exactly these actions on exactly these resources."""

    actions: tuple[str, ...] = Field(min_length=1)
    resources: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> "AwsStatement":
        for action in self.actions:
            if action == "*" or action.endswith(":*") or not re.match(AWS_ACTION, action):
                raise ValueError(f"action {action!r} must be one service:Action, no wildcard services or actions")
        for resource in self.resources:
            if not resource.startswith("arn:aws:"):
                raise ValueError(f"resource {resource!r} must be an ARN (arn:aws:...), never *")
        return self


class Deploy(Shape):
    kind: Literal["Deployment", "StatefulSet"]
    port: int = Field(ge=1024, le=65535)  # the container's HTTP port; non-root cannot bind below 1024
    public: bool
    # Terminates internet traffic itself (authentication, rate limits): only such a service may be public.
    edge_facing: bool = False
    hostname: str | None = Field(default=None, pattern=DNS_LABEL)
    spot_tolerant: bool
    replicas: int = Field(ge=1)
    autoscaling: Autoscaling
    resources: Resources
    probes: Probes
    volume: Volume | None = None
    # Scratch space larger than the node's disk allows: a volume made for each pod and deleted with it.
    scratch: Volume | None = None
    aws: tuple[AwsStatement, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "Deploy":
        if self.public != (self.hostname is not None):
            raise ValueError("a public service needs a hostname and an internal one has none")
        if self.public and not self.edge_facing:
            raise ValueError("only a service declared edgeFacing = true in its own file may be public")
        if self.public and (self.kind != "Deployment" or self.volume is not None):
            raise ValueError("a public service must be stateless (a Deployment without a volume): its data would face the internet")
        if (self.kind == "StatefulSet") != (self.volume is not None):
            raise ValueError("a StatefulSet needs a volume and a Deployment has none")
        if self.kind == "StatefulSet" and self.spot_tolerant:
            raise ValueError("stateful services run on the reserved pool only: spotTolerant must be false")
        if not self.autoscaling.min_replicas <= self.replicas <= self.autoscaling.max_replicas:
            raise ValueError(
                f"replicas {self.replicas} must lie within autoscaling {self.autoscaling.min_replicas}..{self.autoscaling.max_replicas}"
            )
        return self
