"""Attaching to a container that its monitor runs: ``run -i/-t`` (foreground), ``attach``,
``start -a -i``.

The monitor of a detached container holds its stdio. This module is that side:

* :class:`AttachHub` listens on ``<bundle>/attach.sock`` for the life of the monitor; each
  client gets the container's output (every chunk, as it comes, besides the json log) and
  may feed its stdin (``OpenStdin``: a pipe the monitor keeps open between clients; a
  ``Tty`` container: its pty master, which the monitor holds, so ``run -dit`` then
  ``attach`` reaches the shell) and change its window size. A client leaving (``detach
  keys``) ends only that client. When the container exits, every client is sent its exit
  code and let go.
* :class:`RunIO` makes the container's stdio for one run: pipes (or a console socket for
  a pty) whose output is pumped into the log and the hub.
* :func:`connect` is the client side's way in: Docker's checks, then the socket.

Wire format, both ways: frames of one type byte, a 4-byte big-endian length and the
payload. The first client of a foreground ``run -i/-t`` is one end of a socketpair
inherited by the monitor at its fork, so that nothing the container writes at once is
lost.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from typing import TYPE_CHECKING

from dockyard.errors import Conflict

if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.logfile import LogWriter

__all__ = ["EOF", "EXIT", "HELLO", "RESIZE", "SIGNAL", "STDERR", "STDIN", "STDOUT",
           "AttachHub", "RunIO", "connect", "read_frame", "send_frame"]

#: client -> monitor: bytes for the container's stdin
STDIN = 0
#: monitor -> client: the container's output
STDOUT = 1
STDERR = 2
#: monitor -> client: the container exited; payload: its exit code, in ASCII
EXIT = 3
#: client -> monitor: the window size, ``b"ROWS COLS"``
RESIZE = 4
#: client -> monitor: the client's stdin ended
EOF = 5
#: client -> monitor: ``{"stdin_once": bool}``: this client's EOF closes the stdin
HELLO = 6
#: client -> monitor: a signal number (``--sig-proxy``) for the container's init
SIGNAL = 7

SOCKET_NAME = "attach.sock"
_HEAD = struct.Struct(">BI")


def send_frame(sock: socket.socket, kind: int, payload: bytes = b"") -> None:
    sock.sendall(_HEAD.pack(kind, len(payload)) + payload)


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
    head = _recv_exact(sock, _HEAD.size)
    if head is None:
        return None
    kind, size = _HEAD.unpack(head)
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


class _Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.stdin_once = False


class AttachHub:
    """The monitor's end: clients, the container's stdin, its pty master."""

    def __init__(self, bundle_dir: str, first_client: int = -1) -> None:
        self._lock = threading.Lock()
        self._clients: list[_Client] = []
        self._sink = -1  # the container's stdin: a pipe's write end or the pty master
        self._master = -1
        self._size: tuple[int, int] | None = None  # asked for before there was a pty
        self.pid = 0
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dfd, path = _unix_path(bundle_dir)
        try:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self._listener.bind(path)
        finally:
            os.close(dfd)
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        if first_client >= 0:
            self._add(socket.socket(fileno=first_client))

    # --- clients -------------------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self._add(sock)

    def _add(self, sock: socket.socket) -> None:
        client = _Client(sock)
        with self._lock:
            self._clients.append(client)
        threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _drop(self, client: _Client) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        try:
            client.sock.close()
        except OSError:
            pass

    def _serve(self, client: _Client) -> None:
        """What one client sends: stdin, its end, window sizes, signals."""
        try:
            while True:
                frame = read_frame(client.sock)
                if frame is None:
                    break
                kind, payload = frame
                with self._lock:
                    sink, master, pid = self._sink, self._master, self.pid
                if kind == HELLO:
                    client.stdin_once = bool(json.loads(payload).get("stdin_once"))
                elif kind == STDIN and sink >= 0:
                    _write_all(sink, payload)
                elif kind == EOF and client.stdin_once and master < 0:
                    self._close_stdin()
                elif kind == RESIZE:
                    rows, cols = (int(x) for x in payload.split())
                    with self._lock:
                        self._size = (rows, cols)
                    if master >= 0:
                        _set_size(master, rows, cols)
                elif kind == SIGNAL and pid > 0:
                    try:
                        os.kill(pid, int(payload))
                    except (OSError, ValueError):
                        pass
        except OSError:
            pass
        self._drop(client)

    def broadcast(self, kind: int, data: bytes) -> None:
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            try:
                send_frame(c.sock, kind, data)
            except OSError:
                self._drop(c)

    def ended(self, code: int) -> None:
        """The container exited: each client gets the code and is let go."""
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            try:
                send_frame(c.sock, EXIT, str(code).encode())
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.sock.close()

    def close(self, code: int) -> None:
        """The monitor ends: ``code`` to the clients (-1: the container did not run)."""
        self._listener.close()
        self.ended(code)

    # --- the container's stdin ------------------------------------------------------
    def set_master(self, master: int) -> None:
        """A new pty: the window size a client asked for already is applied at once."""
        with self._lock:
            self._sink = self._master = master
            size = self._size
        if size is not None:
            _set_size(master, *size)

    def set_stdin(self, sink: int, master: int, pid: int) -> None:
        with self._lock:
            self._sink, self._master, self.pid = sink, master, pid

    def _close_stdin(self) -> None:
        with self._lock:
            sink, self._sink = self._sink, -1
        if sink >= 0:
            try:
                os.close(sink)
            except OSError:
                pass

    def detach_stdin(self) -> None:
        """The run is over: the pipe or master is closed by :class:`RunIO`."""
        with self._lock:
            self._sink = self._master = -1
            self.pid = 0


def _set_size(master: int, rows: int, cols: int) -> None:
    import termios

    try:
        termios.tcsetwinsize(master, (rows, cols))
    except (OSError, termios.error):
        pass


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    except OSError:
        pass


class RunIO:
    """The container's stdio for one run, under its monitor.

    :meth:`before_launch` puts the container's ends on fds 0-2 (the runtime hands its
    stdio to the container) and returns the console socket's fd for a ``Tty`` container
    (-1 otherwise); :meth:`after_launch` takes them away again so that the container's
    exit ends the pipes; :meth:`started` begins the pumps; :meth:`finish` drains them.
    """

    def __init__(self, record: ContainerRecord, logs: LogWriter, hub: AttachHub) -> None:
        self.hub = hub
        self.logs = logs
        self.tty = bool(record.config.get("Tty"))
        self.open_stdin = bool(record.config.get("OpenStdin"))
        self._pumps: list[threading.Thread] = []
        self._child_fds: list[int] = []
        self._console: socket.socket | None = None
        self._receiver: threading.Thread | None = None
        self._sink = -1
        self._master = -1

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
            in_r, self._sink = os.pipe()
            os.set_inheritable(self._sink, False)
            os.dup2(in_r, 0)
            os.close(in_r)
        for stream, target in (("stdout", 1), ("stderr", 2)):
            r, w = os.pipe()
            os.dup2(w, target)
            os.close(w)
            self._pumps.append(threading.Thread(target=self._pump, args=(r, stream),
                                                daemon=True))
        for t in self._pumps:
            t.start()
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
        assert self._console is not None
        try:
            _, fds, _, _ = socket.recv_fds(self._console, 1024, 1)
        except OSError:
            return
        if fds:
            self._master = self._sink = fds[0]
            self.hub.set_master(self._master)

    def started(self, pid: int) -> None:
        if self._receiver is not None:
            self._receiver.join(10)
            self._receiver = None
            if self._console is not None:
                self._console.close()
                self._console = None
            if self._master < 0:
                raise OSError("no terminal received from the container")
            t = threading.Thread(target=self._pump, args=(self._master, "stdout"),
                                 daemon=True)
            self._pumps.append(t)
            t.start()
        self.hub.set_stdin(self._sink, self._master, pid)

    def _pump(self, fd: int, stream: str) -> None:
        """Output to the clients as it comes and to the log a line at a time."""
        kind = STDOUT if stream == "stdout" else STDERR
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: a pty whose every slave is closed
                    break
                if not chunk:
                    break
                self.hub.broadcast(kind, chunk)
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self.logs.write(stream, line + b"\n")
            if pending:
                self.logs.write(stream, pending)
        finally:
            if fd != self._master:
                os.close(fd)

    def finish(self) -> None:
        if self._console is not None:
            try:  # ends a receiver still waiting (a failed create)
                self._console.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._receiver is not None:
            self._receiver.join(5)
        if self._console is not None:
            self._console.close()
            self._console = None
        for t in self._pumps:
            t.join(5)
        self.hub.detach_stdin()
        for fd in {self._sink, self._master} - {-1}:
            try:
                os.close(fd)
            except OSError:
                pass
        self._sink = self._master = -1
