"""Capability names <-> masks, and the two steps that give a container process its caps.

The container init applies capabilities in this order (runc ``libcontainer/init_linux.go``)::

    drop_bounding(bounding)          # PR_CAPBSET_DROP needs CAP_SETPCAP: still root here
    prctl(PR_SET_KEEPCAPS, 1)        # keep permitted caps across the uid change
    setgroups / setresgid / setresuid
    prctl(PR_SET_KEEPCAPS, 0)
    apply_process_caps(effective, permitted, inheritable, ambient)   # capset, then ambient
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import InvalidArgument
from dockyard.linux.errors import SyscallError
from dockyard.linux.process import (
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAP_AMBIENT_RAISE,
    PR_CAPBSET_DROP,
    capset,
    last_cap,
    prctl,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from dockyard.oci.runtime_types import Capabilities

__all__ = [
    "CAPABILITIES",
    "CapSets",
    "apply_process_caps",
    "caps_to_mask",
    "drop_bounding",
    "mask_to_names",
]

# linux/capability.h: #define CAP_CHOWN 0 ... #define CAP_CHECKPOINT_RESTORE 40
CAPABILITIES: dict[str, int] = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14,
    "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25,
    "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27,
    "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29,
    "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33,
    "CAP_SYSLOG": 34,
    "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36,
    "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}
_NAMES = {v: k for k, v in CAPABILITIES.items()}


_last_cap: int | None = None


def _warn(message: str) -> None:
    os.write(2, f"dockyard: warning: {message}\n".encode())


def _kernel_last_cap() -> int:
    """/proc/sys/kernel/cap_last_cap, read once: it cannot change while we run."""
    global _last_cap
    if _last_cap is None:
        _last_cap = last_cap()
    return _last_cap


def caps_to_mask(names: Iterable[str], last: int | None = None) -> int:
    """The bit mask of capability ``names`` (``CAP_*``).

    An unknown name is an :class:`InvalidArgument`. A cap this kernel does not have (above
    ``/proc/sys/kernel/cap_last_cap``, or ``last`` when given) is left out with a warning
    on stderr, as runc does: a config written for a newer kernel still runs.
    """
    if last is None:
        last = _kernel_last_cap()
    mask = 0
    unavailable = []
    for name in names:
        try:
            bit = CAPABILITIES[name]
        except KeyError:
            raise InvalidArgument(f'unknown capability "{name}"') from None
        if bit > last:
            unavailable.append(name)
        else:
            mask |= 1 << bit
    if unavailable:
        _warn(f"ignoring capabilities this kernel lacks: {', '.join(sorted(set(unavailable)))}")
    return mask


def mask_to_names(mask: int) -> list[str]:
    """The ``CAP_*`` names of the bits set in ``mask``, lowest bit first; an unnamed bit
    shows as ``CAP_<n>``."""
    out = []
    bit = 0
    while mask >> bit:
        if mask >> bit & 1:
            out.append(_NAMES.get(bit, f"CAP_{bit}"))
        bit += 1
    return out


class CapSets:
    """The five capability sets of ``process.capabilities`` as masks (absent set: 0)."""

    __slots__ = ("ambient", "bounding", "effective", "inheritable", "permitted")

    def __init__(self, bounding: int = 0, effective: int = 0, permitted: int = 0,
                 inheritable: int = 0, ambient: int = 0) -> None:
        self.bounding = bounding
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
        self.ambient = ambient

    @classmethod
    def from_spec(cls, caps: Capabilities, last: int | None = None) -> CapSets:
        """Masks of an OCI ``process.capabilities`` object (see :func:`caps_to_mask`)."""
        if last is None:
            last = _kernel_last_cap()
        return cls(bounding=caps_to_mask(caps.get("bounding", ()), last),
                   effective=caps_to_mask(caps.get("effective", ()), last),
                   permitted=caps_to_mask(caps.get("permitted", ()), last),
                   inheritable=caps_to_mask(caps.get("inheritable", ()), last),
                   ambient=caps_to_mask(caps.get("ambient", ()), last))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CapSets) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sets = ", ".join(f"{k}={getattr(self, k):#x}" for k in self.__slots__)
        return f"CapSets({sets})"


def drop_bounding(keep_mask: int) -> None:
    """Drop every capability not in ``keep_mask`` from the bounding set.

    ``prctl(PR_CAPBSET_DROP, cap)`` needs CAP_SETPCAP in the effective set: call this
    first, while the init still runs as root, before switching uid (see module docstring).
    """
    for cap in range(_kernel_last_cap() + 1):
        if not keep_mask >> cap & 1:
            prctl(PR_CAPBSET_DROP, cap)


def apply_process_caps(effective: int, permitted: int, inheritable: int,
                       ambient: int) -> list[str]:
    """Set the effective, permitted and inheritable sets, then the ambient set.

    Last step of the sequence in the module docstring, after the uid switch (made with
    PR_SET_KEEPCAPS so that the permitted set survived it). capset(2) comes first because
    ``PR_CAP_AMBIENT_RAISE`` needs the cap in both permitted and inheritable; an ambient cap
    that is not is skipped, as runc does, and returned: the caller decides where a
    warning can go (the container init's stderr is the container's). A kernel without
    ambient caps (EINVAL from ``PR_CAP_AMBIENT_CLEAR_ALL``) is accepted when ``ambient``
    is empty.
    """
    capset(effective, permitted, inheritable)
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except SyscallError as e:
        if e.errno != errno.EINVAL or ambient:
            raise
        return []
    raisable = permitted & inheritable
    skipped = []
    for cap in range(64):
        if not ambient >> cap & 1:
            continue
        if not raisable >> cap & 1:
            skipped.append(_NAMES.get(cap, f"CAP_{cap}"))
            continue
        try:
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)
        except SyscallError as e:  # e.g. SECBIT_NO_CAP_AMBIENT_RAISE
            if e.errno != errno.EPERM:
                raise
            skipped.append(_NAMES.get(cap, f"CAP_{cap}"))
    return skipped
