"""``kill``: signal a container's init (or, with ``all``, every process in its cgroup)."""

from __future__ import annotations

import os

from dockyard.errors import Conflict
from dockyard.linux import process as proc
from dockyard.runtime.state import Container


def kill(root: str, container_id: str, sig: int, all_processes: bool = False) -> None:
    c = Container.load(root, container_id)
    if not c.status().can_kill():
        raise Conflict("container not running")
    if all_processes:

        c.cgroup().kill_all(sig)
        return
    signal_init(c, sig)


def signal_init(c: Container, sig: int) -> None:
    """Through a pidfd, after checking the start time: a recycled pid is never hit."""
    try:
        pidfd = proc.pidfd_open(c.pid)
    except ProcessLookupError:
        raise Conflict("container not running") from None
    try:
        if not c.init_alive():
            raise Conflict("container not running")
        proc.pidfd_send_signal(pidfd, sig)
    finally:
        os.close(pidfd)
