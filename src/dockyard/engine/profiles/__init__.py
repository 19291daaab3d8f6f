"""Security profiles the engine puts into a container's config.json by default.

``seccomp_default.json`` is the ``linux.seccomp`` section dockerd (20.10) generated for a
container with Docker's default capabilities (no CAP_SYS_ADMIN, CAP_SYS_PTRACE...): every
syscall not listed fails with EPERM; ``clone`` may not create namespaces; ``clone3`` fails with
ENOSYS so that libcs fall back to ``clone``, which can be filtered on its flags.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from dockyard.oci.runtime_types import Seccomp

__all__ = ["CAP_SYSCALLS", "default_seccomp_profile", "seccomp_profile_for"]

_DIR = os.path.dirname(__file__)


def default_seccomp_profile() -> Seccomp:
    """Docker's default seccomp profile, a fresh copy the caller may change."""
    import json  # only the engine pays for json, and only here

    with open(os.path.join(_DIR, "seccomp_default.json"), encoding="utf-8") as f:
        profile: Seccomp = json.load(f)
    return profile


#: The rules of Docker's default profile (moby ``profiles/seccomp/default.go``, 20.10) that
#: depend on a capability outside the default set: each allows these syscalls when the container
#: has the capability. CAP_SYS_CHROOT is in the default set: its ``chroot`` rule is in the JSON.
CAP_SYSCALLS: dict[str, tuple[str, ...]] = {
    "CAP_DAC_READ_SEARCH": ("open_by_handle_at",),
    "CAP_SYS_ADMIN": ("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                      "fspick", "lookup_dcookie", "mount", "move_mount", "name_to_handle_at",
                      "open_tree", "perf_event_open", "quotactl", "setdomainname",
                      "sethostname", "setns", "syslog", "umount", "umount2", "unshare"),
    "CAP_SYS_BOOT": ("reboot",),
    "CAP_SYS_MODULE": ("delete_module", "init_module", "finit_module"),
    "CAP_SYS_PACCT": ("acct",),
    "CAP_SYS_PTRACE": ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                       "process_vm_writev", "ptrace"),
    "CAP_SYS_RAWIO": ("iopl", "ioperm"),
    "CAP_SYS_TIME": ("settimeofday", "stime", "clock_settime"),
    "CAP_SYS_TTY_CONFIG": ("vhangup",),
    "CAP_SYS_NICE": ("get_mempolicy", "mbind", "set_mempolicy"),
    "CAP_SYSLOG": ("syslog",),
    "CAP_BPF": ("bpf",),
    "CAP_PERFMON": ("perf_event_open",),
}


def seccomp_profile_for(caps: Iterable[str]) -> Seccomp:
    """Docker's default profile for a container whose bounding set is ``caps``.

    The JSON is the profile for the default caps. As in Docker: without CAP_SYS_CHROOT there is
    no ``chroot`` rule; with CAP_SYS_ADMIN the ``clone`` flag filter and the ``clone3`` ENOSYS
    rule are excluded (plain ``clone``/``clone3`` are allowed instead); each extra capability
    in ``CAP_SYSCALLS`` adds one allow rule, in capability order.
    """
    have = set(caps)
    profile = default_seccomp_profile()
    rules = []
    for rule in profile.get("syscalls", []):
        names = rule["names"]
        if names == ["chroot"] and "CAP_SYS_CHROOT" not in have:
            continue
        if "CAP_SYS_ADMIN" in have and names in (["clone"], ["clone3"]):
            continue
        rules.append(rule)
    for cap, syscalls in CAP_SYSCALLS.items():
        if cap in have:
            rules.append({"names": list(syscalls), "action": "SCMP_ACT_ALLOW"})
    profile["syscalls"] = rules
    return profile
