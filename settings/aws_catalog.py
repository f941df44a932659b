"""Static AWS facts the config is checked against before anything is declared.

Shipped as data so validation never calls AWS. Reviewed 2026-11; extend a table when a
stack needs a region or instance family that is not here.
"""

from typing import NamedTuple

# Availability zones a new account can use, per region (ap-northeast-1b is closed to new accounts).
REGION_AZS: dict[str, tuple[str, ...]] = {
    "us-east-1": ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"),
    "us-east-2": ("us-east-2a", "us-east-2b", "us-east-2c"),
    "us-west-2": ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"),
    "ca-central-1": ("ca-central-1a", "ca-central-1b", "ca-central-1d"),
    "ap-northeast-1": ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"),
}

# Kubernetes versions in EKS standard support that this program is tested against.
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.33", "1.34", "1.35")


class InstanceShape(NamedTuple):
    vcpu: int
    memory_gib: float


# General purpose (4 GiB/vCPU), compute (2 GiB/vCPU) and memory (8 GiB/vCPU) families follow
# a fixed ratio at every size, so the table is built from the ratios.
_FAMILY_GIB_PER_VCPU = {
    **dict.fromkeys(("m5", "m5a", "m6i", "m6a", "m7i", "m7a", "m7g", "m6g"), 4),
    **dict.fromkeys(("c5", "c5a", "c6i", "c6a", "c7i", "c7a", "c7g", "c6g"), 2),
    **dict.fromkeys(("r5", "r5a", "r6i", "r6a", "r7i", "r7a", "r7g", "r6g"), 8),
}
_SIZE_VCPU = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}

INSTANCE_TYPES: dict[str, InstanceShape] = {
    f"{family}.{size}": InstanceShape(vcpu, float(vcpu * ratio))
    for family, ratio in _FAMILY_GIB_PER_VCPU.items()
    for size, vcpu in _SIZE_VCPU.items()
} | {
    "t3.medium": InstanceShape(2, 4.0),
    "t3.large": InstanceShape(2, 8.0),
    "t3.xlarge": InstanceShape(4, 16.0),
    "t3.2xlarge": InstanceShape(8, 32.0),
}

# Graviton families need an arm64 AMI; pools must not mix architectures.
ARM64_FAMILIES = frozenset(f for f in _FAMILY_GIB_PER_VCPU if f.endswith("g"))


def architecture(instance_type: str) -> str:
    return "arm64" if instance_type.split(".", maxsplit=1)[0] in ARM64_FAMILIES else "x86_64"
