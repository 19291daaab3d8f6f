"""A Docker seccomp profile (``--security-opt seccomp=FILE``) -> the OCI ``linux.seccomp``.

Docker's format (moby ``profiles/seccomp``) adds to the OCI one: ``archMap`` (the host's
architecture and its sub-architectures), ``name`` for a single syscall, and per-rule
``includes``/``excludes`` on capabilities and architectures. A rule applies when every
included capability is in the bounding set and no excluded one is; ``minKernel`` is not checked
(our hosts run recent kernels).
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument
from dockyard.oci import jsontext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from dockyard.oci.runtime_types import Seccomp, SeccompSyscall

__all__ = ["docker_profile_to_oci", "host_seccomp_arch"]

_ARCHES = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64",
           "armv7l": "SCMP_ARCH_ARM", "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
           "riscv64": "SCMP_ARCH_RISCV64"}


def host_seccomp_arch() -> str:
    """The libseccomp name of this machine's architecture."""
    machine = os.uname().machine  # as platform.machine(), without importing platform
    return _ARCHES.get(machine, "SCMP_ARCH_" + machine.upper())


def _applies(rule: dict[str, Any], caps: Sequence[str], arch: str) -> bool:
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if inc.get("arches") and not any(_ARCHES.get(a, a) == arch or a in arch.lower()
                                     for a in inc["arches"]):
        return False
    if any(c not in caps for c in inc.get("caps") or []):
        return False
    if exc.get("arches") and any(_ARCHES.get(a, a) == arch or a in arch.lower()
                                 for a in exc["arches"]):
        return False
    return not any(c in caps for c in exc.get("caps") or [])


def docker_profile_to_oci(profile: Any, caps: Sequence[str], arch: str | None = None) -> Seccomp:
    """The OCI section for ``profile`` given the container's bounding ``caps``."""
    if not isinstance(profile, dict) or not isinstance(profile.get("defaultAction"), str):
        raise InvalidArgument("seccomp profile: defaultAction is required")
    arch = arch or host_seccomp_arch()
    out: Seccomp = {"defaultAction": profile["defaultAction"]}
    if isinstance(profile.get("defaultErrnoRet"), int):
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    if profile.get("archMap") and profile.get("architectures"):
        raise InvalidArgument("'architectures' and 'archMap' were specified in the seccomp "
                              "profile, use either 'architectures' or 'archMap'")
    arches: list[str] = list(profile.get("architectures") or [])
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == arch:
            arches = [arch, *entry.get("subArchitectures", [])]
    if arches:
        out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    syscalls: list[SeccompSyscall] = []
    for rule in profile.get("syscalls") or []:
        if not isinstance(rule, dict) or not isinstance(rule.get("action"), str):
            raise InvalidArgument("seccomp profile: every syscall rule needs an action")
        if rule.get("name") and rule.get("names"):
            raise InvalidArgument("'name' and 'names' were specified in the seccomp profile, "
                                  "use either 'name' or 'names'")
        if not _applies(rule, caps, arch):
            continue
        call: SeccompSyscall = {"names": list(rule.get("names") or [rule.get("name")]),
                                "action": rule["action"]}
        if isinstance(rule.get("errnoRet"), int):
            call["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            call["args"] = jsontext.copy(list(rule["args"]))
        syscalls.append(call)
    if syscalls:
        out["syscalls"] = syscalls
    return out
