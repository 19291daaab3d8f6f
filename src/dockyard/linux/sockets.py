"""accept4(2) for the container init, which must not import the ``socket`` module
(it pulls in ``enum`` and more on the container start path)."""

from __future__ import annotations

import ctypes

from dockyard.linux._libc import check, libc

SOCK_CLOEXEC = 0o2000000
_EINTR = 4


def accept(fd: int) -> int:
    """Accept one connection on the listening socket ``fd``; the new fd is close-on-exec."""
    while True:
        ret = libc.accept4(fd, None, None, SOCK_CLOEXEC)
        if ret == -1 and ctypes.get_errno() == _EINTR:
            continue
        return check(ret, "accept4")
