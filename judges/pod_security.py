"""Pod Security admission as the API server applies it (Kubernetes 1.34 Pod Security Standards).

`violations(pod, level)` is the check of one pod spec against `baseline` or `restricted`; `privileged`
admits everything. A namespace without an `enforce` label is privileged (the API server's and EKS's
default). Only the fields the standards name are read, exactly as the documentation lists them.
"""

from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]
LEVELS = ("privileged", "baseline", "restricted")

BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE"}
    | {"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


def containers(pod: Obj) -> Iterator[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def _baseline(pod: Obj) -> Iterator[str]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            yield f"{key}: true"
    pod_sc = pod.get("securityContext") or {}
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        yield "pod windowsOptions.hostProcess"
    for volume in pod.get("volumes") or []:
        if "hostPath" in volume:
            yield f"volume {volume.get('name')}: hostPath"
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"sysctl {sysctl.get('name')} is not in the safe set"
    contexts = [("pod", pod_sc)] + [(f"container {c.get('name')}", c.get("securityContext") or {}) for c in containers(pod)]
    for where, sc in contexts:
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"{where}: seccompProfile Unconfined"
        if (sc.get("appArmorProfile") or {}).get("type") not in {None, "RuntimeDefault", "Localhost"}:
            yield f"{where}: appArmorProfile {sc['appArmorProfile']['type']}"
        selinux = sc.get("seLinuxOptions") or {}
        if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            yield f"{where}: seLinuxOptions {selinux}"
    for c in containers(pod):
        sc, name = c.get("securityContext") or {}, c.get("name")
        if sc.get("privileged"):
            yield f"container {name}: privileged"
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield f"container {name}: windowsOptions.hostProcess"
        for cap in set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES:
            yield f"container {name}: adds capability {cap}"
        if sc.get("procMount", "Default") != "Default":
            yield f"container {name}: procMount {sc['procMount']}"
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                yield f"container {name}: hostPort {port['hostPort']}"


def _restricted(pod: Obj) -> Iterator[str]:
    pod_sc = pod.get("securityContext") or {}
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {volume.get('name')}: type {', '.join(sorted(kinds))} not allowed"
    if pod_sc.get("runAsUser") == 0:
        yield "pod runAsUser 0"
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    for c in containers(pod):
        sc, name = c.get("securityContext") or {}, c.get("name")
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"container {name}: allowPrivilegeEscalation must be false"
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            yield f"container {name}: runAsNonRoot must be true (pod or container)"
        if sc.get("runAsUser") == 0:
            yield f"container {name}: runAsUser 0"
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            yield f"container {name}: seccompProfile must be RuntimeDefault or Localhost (pod or container)"
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"container {name}: capabilities must drop ALL"
        for cap in set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            yield f"container {name}: adds capability {cap}"


def violations(pod: Obj, level: str) -> list[str]:
    """Why the API server would reject `pod` in a namespace enforcing `level` (empty: admitted)."""
    if level not in LEVELS:
        raise ValueError(f"Pod Security level {level!r}: one of {', '.join(LEVELS)}")
    found: list[str] = []
    if level in {"baseline", "restricted"}:
        found += _baseline(pod)
    if level == "restricted":
        found += _restricted(pod)
    return found


def enforced_level(namespace: Obj | None) -> str:
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    return labels.get("pod-security.kubernetes.io/enforce", "privileged")
