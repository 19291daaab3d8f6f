"""Attaching to a container that its monitor runs: ``run -i/-t`` (foreground), ``attach``,
``start -a -i``.

The monitor of a detached container holds its stdio. This module is that side:

* the monitor listens on ``<bundle>/attach.sock`` (:func:`listen`) for its whole life
  and serves the clients in its poll loop (:class:`dockyard.engine.shim.Idle`); each
  client gets the container's output (every chunk, as it comes, besides the json log) and
  may feed its stdin (``OpenStdin``: a pipe the monitor keeps open between clients; a
  ``Tty`` container: its pty master, which the monitor holds, so ``run -dit`` then
  ``attach`` reaches the shell) and change its window size. A client leaving (``detach
  keys``) ends only that client. When the container exits, every client is sent its exit
  code and let go.
* :class:`RunIO` makes the container's stdio for one run: pipes (or a console socket for
  a pty) whose output the loop copies into the log and to the clients.
* :func:`connect` is the client side's way in: Docker's checks, then the socket.

Wire format, both ways (:mod:`dockyard.engine.frames`): frames of one type byte, a
4-byte big-endian length and the payload. The first client of a foreground ``run
-i/-t`` is one end of a socketpair inherited by the monitor at its fork, so that nothing
the container writes at once is lost.
"""

from __future__ import annotations

import os
import socket
import threading

from dockyard.engine.frames import (
    EOF,
    EXIT,
    HEAD_SIZE,
    HELLO,
    RESIZE,
    SIGNAL,
    STDERR,
    STDIN,
    STDOUT,
    pack,
)
from dockyard.engine.shim import Out
from dockyard.errors import Conflict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.shim import Idle

__all__ = ["EOF", "EXIT", "HELLO", "RESIZE", "SIGNAL", "STDERR", "STDIN", "STDOUT",
           "RunIO", "connect", "listen", "read_frame", "send_frame"]

SOCKET_NAME = "attach.sock"


def send_frame(sock: socket.socket, kind: int, payload: bytes = b"") -> None:
    sock.sendall(pack(kind, payload))


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """The next frame, or None at the end of the stream."""
    head = _recv_exact(sock, HEAD_SIZE)
    if head is None:
        return None
    kind, size = head[0], int.from_bytes(head[1:], "big")
    payload = _recv_exact(sock, size) if size else b""
    if payload is None:
        return None
    return kind, payload


def _unix_path(directory: str) -> tuple[int, str]:
    """A short path to ``directory/attach.sock`` (a unix socket path has 108 bytes at
    most; a test's root is longer): through an O_PATH descriptor, closed by the caller."""
    dfd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return dfd, f"/proc/self/fd/{dfd}/{SOCKET_NAME}"


def connect(engine: Engine, ref: str) -> tuple[ContainerRecord, socket.socket]:
    """Docker's checks for ``attach``, then a connection to the container's monitor."""
    from dockyard.engine.containers import Status

    record = engine.refresh(engine.containers.get(ref))
    if record.status is Status.PAUSED:
        raise Conflict("You cannot attach to a paused container, unpause it first")
    if record.status is Status.RESTARTING:
        raise Conflict("You cannot attach to a restarting container, wait until it is "
                       "running")
    if record.status is not Status.RUNNING:
        raise Conflict("You cannot attach to a stopped container, start it first")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dfd, path = _unix_path(record.bundle_dir)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise Conflict(f"container {record.id} cannot be attached to: its monitor does "
                       "not listen") from None
    finally:
        os.close(dfd)
    from dockyard.engine import events

    events.container(engine.root, record, "attach")
    return record, sock


class RunIO:
    """The container's stdio for one run, made by the monitor into its :class:`Idle`.

    :meth:`before_launch` puts the container's ends on fds 0-2 (the runtime hands its
    stdio to the container) and returns the console socket's fd for a ``Tty`` container
    (-1 otherwise); :meth:`after_launch` takes them away again so that the container's
    exit ends the pipes; :meth:`started` hands the pty master over once the init runs;
    :meth:`abort` closes what a failed launch leaves.
    """

    def __init__(self, record: ContainerRecord, idle: Idle) -> None:
        self.idle = idle
        self.tty = bool(record.config.get("Tty"))
        self.open_stdin = bool(record.config.get("OpenStdin"))
        self._child_fds: list[int] = []
        self._console: socket.socket | None = None
        self._receiver: threading.Thread | None = None

    def before_launch(self) -> int:
        if self.tty:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self._console = ours
            fd = theirs.detach()
            self._child_fds.append(fd)
            # The init sends the master during the create: sized before the start.
            self._receiver = threading.Thread(target=self._receive_master, daemon=True)
            self._receiver.start()
            return fd
        if self.open_stdin:
            in_r, self.idle.sink = os.pipe()
            os.dup2(in_r, 0)
            os.close(in_r)
        for stream, target in (("stdout", 1), ("stderr", 2)):
            r, w = os.pipe()
            os.dup2(w, target)
            os.close(w)
            self.idle.outs[r] = Out(stream, b"")
        return -1

    def after_launch(self) -> None:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        for fd in self._child_fds:
            os.close(fd)
        self._child_fds = []

    def _receive_master(self) -> None:
        """On a thread, while the main one creates the container."""
        assert self._console is not None
        try:
            _, fds, _, _ = socket.recv_fds(self._console, 1024, 1)
        except OSError:
            return
        if fds:
            self.idle.master = self.idle.sink = fds[0]
            self.idle.pending_input()  # the window size a client sent already
            self.idle.apply_size()

    def _join_receiver(self, cut: bool) -> None:
        if cut and self._console is not None:
            try:  # ends a receiver still waiting (a failed create)
                self._console.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._receiver is not None:
            self._receiver.join(10)
            self._receiver = None
        if self._console is not None:
            self._console.close()
            self._console = None

    def started(self, pid: int) -> None:
        if self.tty:
            self._join_receiver(False)
            if self.idle.master < 0:
                raise OSError("no terminal received from the container")
            self.idle.outs[self.idle.master] = Out("stdout", b"")
        self.idle.pid = pid

    def abort(self) -> None:
        """A launch that failed: close what was made for it."""
        self._join_receiver(True)
        for fd in self._child_fds:
            os.close(fd)
        self._child_fds = []
        self.idle.pid = 0
        for fd in list(self.idle.outs):
            del self.idle.outs[fd]
            if fd != self.idle.master:
                os.close(fd)
        for fd in {self.idle.sink, self.idle.master} - {-1}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.idle.sink = self.idle.master = -1


def listen(bundle_dir: str) -> int:
    """The attach listener of a container's monitor, ``<bundle>/attach.sock``: its fd."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dfd, path = _unix_path(bundle_dir)
    try:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock.bind(path)
    finally:
        os.close(dfd)
    sock.listen(16)
    return sock.detach()
