"""ctypes access to libc and raw syscalls, with errno checking done once, here."""

from __future__ import annotations

import ctypes
import os

from dockyard.linux.errors import SyscallError

libc = ctypes.CDLL(None, use_errno=True)
_syscall = libc.syscall
_syscall.restype = ctypes.c_long

# Syscall numbers for calls glibc 2.36 does not wrap (asm/unistd_64.h; asm-generic/unistd.h).
_NR: dict[str, dict[str, int]] = {
    "x86_64": {"pivot_root": 155, "pidfd_send_signal": 424, "pidfd_open": 434,
               "close_range": 436, "openat2": 437, "keyctl": 250, "setns": 308},
    "aarch64": {"pivot_root": 41, "pidfd_send_signal": 424, "pidfd_open": 434,
                "close_range": 436, "openat2": 437, "keyctl": 219, "setns": 268},
}
_MACHINE = os.uname().machine


def nr(name: str) -> int:
    """The syscall number of ``name`` on this machine's architecture."""
    try:
        return _NR[_MACHINE][name]
    except KeyError:
        raise SyscallError(38, name, f"(no syscall number for {_MACHINE})") from None


def check(ret: int, call: str, path: str | None = None) -> int:
    """Turn a libc ``-1`` return into a :class:`SyscallError` carrying errno."""
    if ret == -1:
        raise SyscallError(ctypes.get_errno(), call, path)
    return ret


def syscall(name: str, *args: object, path: str | None = None) -> int:
    """Call the raw syscall ``name`` and check its result."""
    return check(_syscall(nr(name), *args), name, path)


def fsencode(path: str | bytes | None) -> bytes | None:
    return None if path is None else os.fsencode(path)
