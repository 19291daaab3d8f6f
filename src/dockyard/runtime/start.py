"""``start``: release a created container's init to exec the user's process."""

from __future__ import annotations

import os
import sys

from dockyard.errors import Conflict
from dockyard.runtime.hooks import HookFailed, run_hooks
from dockyard.runtime.launch import InitFailed
from dockyard.runtime.state import CREATED, RUNNING, STOPPED, Container


def start(root: str, container_id: str) -> Container:
    c = Container.load(root, container_id)
    status = c.status()
    if not status.can_start():
        if status.value == STOPPED:
            raise Conflict("cannot start a container that has stopped")
        if status.value == RUNNING:
            raise Conflict("cannot start an already running container")
        raise Conflict(f"cannot start a container in the {status} state")
    release(c)
    state = c.oci_state()
    for i, hook in enumerate(c.spec.get("hooks", {}).get("poststart", [])):
        try:
            run_hooks("poststart", [hook], state)
        except HookFailed as e:
            sys.stderr.write(f"warning: {e} (hook #{i})\n")
    return c


def release(c: Container) -> None:
    """Connect to the init's start socket; EOF means the exec happened."""
    import _socket

    dfd = os.open(c.dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(f"/proc/self/fd/{dfd}/start.sock")
        s.sendall(b"\0")
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError as e:
        raise InitFailed(f"cannot start container: init is gone ({e.strerror})") from None
    finally:
        s.close()
        os.close(dfd)
    try:
        os.unlink(c.start_socket)
    except FileNotFoundError:
        pass
    if reply.startswith(b"E"):
        raise InitFailed(reply[1:].decode(errors="replace"))
    if c.status().value == CREATED:  # pragma: no cover - the unlink above makes it running
        raise InitFailed("container did not start")
