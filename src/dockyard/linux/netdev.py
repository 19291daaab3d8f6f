"""Network device flags through ioctl(2), for the one thing a container with
``--network none`` needs: its ``lo`` up. Netlink (pyroute2) does the rest of the
networking; loading it costs a detached container's monitor ~14 MiB for as long as the
container runs, which this avoids."""

from __future__ import annotations

import fcntl
import os
import struct

from dockyard.linux.errors import SyscallError
from dockyard.linux.namespaces import CLONE_NEWNET, setns

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: ifr_name, then ifr_flags in the union (40 bytes)


def link_up(name: str) -> None:
    """Set ``IFF_UP`` on interface ``name`` of this thread's network namespace."""
    import _socket

    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        req = struct.pack(_IFREQ, name.encode(), 0)
        try:
            flags = struct.unpack(_IFREQ, fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
            if not flags & IFF_UP:
                fcntl.ioctl(s.fileno(), SIOCSIFFLAGS,
                            struct.pack(_IFREQ, name.encode(), flags | IFF_UP))
        except OSError as e:
            raise SyscallError(e.errno or 0, "ioctl SIOCSIFFLAGS", name) from None
    finally:
        s.close()


def link_up_in(ns_path: str, name: str) -> None:
    """:func:`link_up` in the network namespace at ``ns_path``, from a short-lived thread
    (setns changes only the calling thread's namespace)."""
    import _thread

    done = _thread.allocate_lock()
    done.acquire()
    box: list[BaseException] = []

    def body() -> None:
        try:
            fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                setns(fd, CLONE_NEWNET, path=ns_path)
            finally:
                os.close(fd)
            link_up(name)
        except BaseException as e:
            box.append(e)
        finally:
            done.release()

    _thread.start_new_thread(body, ())
    done.acquire()
    if box:
        raise box[0]
