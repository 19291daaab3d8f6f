"""accept4(2) and SCM_RIGHTS for the container init, which must not import the ``socket``
module (it pulls in ``enum`` and more on the container start path): ``_socket`` only."""

from __future__ import annotations

import ctypes

from dockyard.linux._libc import check, libc

SOCK_CLOEXEC = 0o2000000
_EINTR = 4
_INT = 4  # sizeof(int): one fd in an SCM_RIGHTS message


def accept(fd: int) -> int:
    """Accept one connection on the listening socket ``fd``; the new fd is close-on-exec."""
    while True:
        ret = libc.accept4(fd, None, None, SOCK_CLOEXEC)
        if ret == -1 and ctypes.get_errno() == _EINTR:
            continue
        return check(ret, "accept4")


def send_fd(sock_fd: int, fd: int, payload: bytes) -> None:
    """sendmsg(2) ``payload`` with ``fd`` attached (SCM_RIGHTS) on the socket ``sock_fd``."""
    import _socket

    sock = _socket.socket(fileno=sock_fd)
    try:
        sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                  fd.to_bytes(_INT, "little" if _little() else "big"))])
    finally:
        sock.detach()


def recv_fd(sock_fd: int, size: int = 1 << 16) -> tuple[bytes, int]:
    """recvmsg(2) one message and the fd it carries (close-on-exec); -1 if it has none."""
    import _socket

    sock = _socket.socket(fileno=sock_fd)
    try:
        data, ancdata, _, _ = sock.recvmsg(size, _socket.CMSG_SPACE(_INT),
                                           _socket.MSG_CMSG_CLOEXEC)
    finally:
        sock.detach()
    fd = -1
    for level, kind, cdata in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(cdata) >= _INT:
            fd = int.from_bytes(cdata[:_INT], "little" if _little() else "big")
    return data, fd


def _little() -> bool:
    import sys

    return sys.byteorder == "little"
