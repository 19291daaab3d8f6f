"""The monitor's idle phase: a small, single-threaded program that holds a running
container (the part conmon and containerd-shim play).

The full monitor (:mod:`dockyard.engine.monitor`) launches the container, then *execs*
(same pid: it stays the init's parent and a child subreaper, and keeps the container's
``monitor.lock`` open) into ``python -I -S -c "...; from dockyard.engine.shim import
main; main()" STATE_FD``. The state (a ``marshal``'ed dict in a memfd) carries the
container, the init's pid, its output fds (pipes or the pty master), its stdin, the
attach listener and clients, the log's settings and the health-check interval.

One ``poll`` loop (:class:`Idle`) then serves, without threads:

* the output: each chunk to the attach clients, each line to the json-file log
  (:mod:`dockyard.engine.jsonlog`);
* the attach listener and its clients' frames (:mod:`dockyard.engine.frames`): stdin,
  its end, window sizes, signals;
* its children, through SIGCHLD on a wakeup pipe: the init's exit, health probes
  (a short-lived ``dockyard.engine.health`` process every interval, as podman runs
  ``podman healthcheck run`` from a timer), and strays re-parented to it;

When the init has exited and its output is drained, it execs back into the full monitor
(``dockyard.engine.monitor.resume``) with the state, the wait status and the end time,
which records the exit, cleans up and applies the restart policy.

It imports only builtins-backed modules (``posix``, not ``os``: ``os`` brings
``_collections_abc`` and a copy of the environment, ~270 KiB; select, marshal, time,
``_signal``, ``_socket``), no ``__future__``, and the two light modules it shares with
the full monitor: its memory is what an idle container costs.
"""

import posix
import select
import time

from dockyard.engine import frames
from dockyard.engine.jsonlog import JsonLog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Idle", "Out", "exec_with_state", "load_state", "main", "private"]

#: How long the output may take to end once the init has exited.
DRAIN_SECONDS = 5.0
_IN = select.POLLIN | select.POLLHUP | select.POLLERR


def code_line(pkg_parent: str, module: str, func: str) -> str:
    """``python -c`` code that runs ``module.func()`` from the package at ``pkg_parent``."""
    return (f"import sys;sys.path.insert(0,{pkg_parent!r});"
            f"from {module} import {func};{func}()")


class _Client:
    __slots__ = ("fd", "inbuf", "stdin_once")

    def __init__(self, fd: int, stdin_once: bool, inbuf: bytes) -> None:
        self.fd = fd
        self.stdin_once = stdin_once
        self.inbuf = inbuf


class Out:
    __slots__ = ("kind", "pending", "stream")

    def __init__(self, stream: str, pending: bytes) -> None:
        self.stream = stream
        self.kind = frames.STDOUT if stream == "stdout" else frames.STDERR
        self.pending = pending


def _on_child(signum: int, frame: object) -> None:
    """SIGCHLD's handler: nothing; its wakeup byte ends the ``poll``."""


class Idle:
    """One run's I/O and children, from a state dict (see :meth:`state`)."""

    def __init__(self, st: "dict[str, Any]") -> None:
        self.st = st
        self.pid: int = st.get("pid", 0)
        self.listener: int = st["listener"]
        self.clients: dict[int, _Client] = {
            fd: _Client(fd, once, buf) for fd, once, buf in st.get("clients", ())}
        self.outs: dict[int, Out] = {
            fd: Out(stream, pending) for fd, stream, pending in st.get("outs", ())}
        self.sink: int = st.get("sink", -1)
        self.master: int = st.get("master", -1)
        self.size: tuple[int, int] | None = st.get("size")
        self.status: int | None = None
        self.ended = 0.0
        self.probe = 0
        self.next_probe = 0.0
        self._lsock: Any = None
        self.log: JsonLog | None = None

    def state(self) -> "dict[str, Any]":
        """The state to hand over through an exec."""
        st = dict(self.st)
        st.update(pid=self.pid, listener=self.listener, sink=self.sink, master=self.master,
                  size=self.size,
                  clients=[(c.fd, c.stdin_once, c.inbuf) for c in self.clients.values()],
                  outs=[(fd, o.stream, o.pending) for fd, o in self.outs.items()],
                  status=self.status, ended=self.ended)
        return st

    def fds(self) -> list[int]:
        """Every fd the state names (they must cross an exec)."""
        out = [self.listener, self.sink, self.master, self.st.get("lock", -1),
               *self.clients, *self.outs]
        return sorted({fd for fd in out if fd >= 0})

    # --- the loop ---------------------------------------------------------------------
    def run(self) -> None:
        """Serve until the init exits and its output is drained; :attr:`status` is its
        wait status, :attr:`ended` the monotonic time it was reaped."""
        import _signal  # type: ignore[import-not-found]  # signal imports enum

        health: float = self.st.get("health") or 0.0
        if health:
            self.next_probe = self.st["started"] + health
        self.open_log()
        wake_r, wake_w = posix.pipe2(posix.O_NONBLOCK | posix.O_CLOEXEC)
        old = _signal.signal(_signal.SIGCHLD, _on_child)
        _signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        try:
            self._reap()
            while self.status is None:
                self._turn(wake_r, health)
                self._reap()
            self._stop_probe()
            self._drain(wake_r)
        finally:
            _signal.set_wakeup_fd(-1)
            _signal.signal(_signal.SIGCHLD, old)
            posix.close(wake_r)
            posix.close(wake_w)
            self._end_run()

    def open_log(self) -> None:
        if self.log is None:
            path, max_size, max_files = self.st["log"]
            self.log = JsonLog(path, max_size, max_files)

    def flush_output(self) -> None:
        """Copy what the container wrote already, without waiting (before an exec: the
        new program takes a moment to start)."""
        self.open_log()
        while self.outs:
            poll = select.poll()
            for fd in self.outs:
                poll.register(fd, _IN)
            ready = [fd for fd, ev in poll.poll(0) if ev & select.POLLIN]
            if not ready:
                break
            for fd in ready:
                if fd in self.outs:
                    self._read_out(fd)

    def _turn(self, wake_r: int, health: float) -> None:
        poll = select.poll()
        for fd in (wake_r, self.listener, *self.outs, *self.clients):
            poll.register(fd, _IN)
        timeout = None
        if health and not self.probe:
            left = self.next_probe - time.monotonic()
            if left <= 0:
                self._spawn_probe()
            else:
                timeout = left * 1000 + 1
        for fd, _ in poll.poll(timeout):
            self._ready(fd, wake_r)

    def _ready(self, fd: int, wake_r: int) -> None:
        if fd == wake_r:
            try:
                while posix.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        elif fd in self.outs:
            self._read_out(fd)
        elif fd == self.listener:
            self._accept()
        elif fd in self.clients:
            self._read_client(self.clients[fd])

    def _drain(self, wake_r: int) -> None:
        """The init has exited: its output to its end (the writers are gone)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.outs:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            poll = select.poll()
            for fd in (wake_r, *self.outs):
                poll.register(fd, _IN)
            for fd, _ in poll.poll(left * 1000 + 1):
                if fd == wake_r or fd in self.outs:
                    self._ready(fd, wake_r)
            self._reap()
        for fd in list(self.outs):
            self._out_done(fd)

    def _end_run(self) -> None:
        """Close what belonged to this run: the output fds, the stdin, the log."""
        for fd in list(self.outs):
            self._out_done(fd)
        for fd in {self.sink, self.master} - {-1}:
            try:
                posix.close(fd)
            except OSError:
                pass
        self.sink = self.master = -1
        self.pid = 0
        if self.log is not None:
            self.log.close()
            self.log = None

    # --- children -----------------------------------------------------------------------
    def _reap(self) -> None:
        while True:
            try:
                pid, status = posix.waitpid(-1, posix.WNOHANG)
            except ChildProcessError:  # the init is not our child (never, but not for ever)
                if self.status is None:
                    self.status, self.ended = 0, time.monotonic()
                return
            if pid == 0:
                return
            if pid == self.pid and self.status is None:
                self.status = status
                self.ended = time.monotonic()
            elif pid == self.probe:
                self.probe = 0
                self.next_probe = time.monotonic() + self.st["health"]

    def _spawn_probe(self) -> None:
        st = self.st
        code = code_line(st["pkg"], "dockyard.engine.health", "probe_main")
        argv = [st["python"], "-c", code, st["root"], st["exec_root"], st["cid"],
                str(self.pid), repr(st["started"])]
        try:
            self.probe = posix.posix_spawn(st["python"], argv, posix.environ)
        except OSError:
            self.next_probe = time.monotonic() + st["health"]

    def _stop_probe(self) -> None:
        """A check still running is of no use once the container has exited."""
        if self.probe:
            try:
                posix.kill(self.probe, 9)
                posix.waitpid(self.probe, 0)
            except OSError:
                pass
            self.probe = 0

    # --- output ---------------------------------------------------------------------------
    def _read_out(self, fd: int) -> None:
        try:
            chunk = posix.read(fd, 65536)
        except OSError:  # EIO: a pty whose every slave is closed
            chunk = b""
        if not chunk:
            self._out_done(fd)
            return
        out = self.outs[fd]
        self.broadcast(out.kind, chunk)
        *lines, out.pending = (out.pending + chunk).split(b"\n")
        if self.log is not None:
            for line in lines:
                self.log.write(out.stream, line + b"\n")

    def _out_done(self, fd: int) -> None:
        out = self.outs.pop(fd)
        if out.pending and self.log is not None:
            self.log.write(out.stream, out.pending)
        if fd != self.master:
            posix.close(fd)

    def broadcast(self, kind: int, data: bytes) -> None:
        frame = frames.pack(kind, data)
        for client in list(self.clients.values()):
            if not _write_all(client.fd, frame):
                self._drop(client)

    # --- attach clients ----------------------------------------------------------------
    def _accept(self) -> None:
        import _socket

        if self._lsock is None:
            self._lsock = _socket.socket(fileno=self.listener)
        try:
            fd, _ = self._lsock._accept()
        except OSError:
            return
        self.clients[fd] = _Client(fd, False, b"")

    def _drop(self, client: _Client) -> None:
        self.clients.pop(client.fd, None)
        try:
            posix.close(client.fd)
        except OSError:
            pass

    def _read_client(self, client: _Client) -> None:
        try:
            data = posix.read(client.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        got, client.inbuf = frames.split(client.inbuf + data)
        for kind, payload in got:
            self._frame(client, kind, payload)

    def pending_input(self) -> None:
        """Serve the frames the clients sent already (e.g. the window size of ``run -t``,
        before the container starts), without waiting."""
        poll = select.poll()
        for fd in self.clients:
            poll.register(fd, _IN)
        for fd, _ in poll.poll(0):
            if fd in self.clients:
                self._read_client(self.clients[fd])

    def _frame(self, client: _Client, kind: int, payload: bytes) -> None:
        if kind == frames.HELLO:
            client.stdin_once = frames.hello_stdin_once(payload)
        elif kind == frames.STDIN and self.sink >= 0:
            _write_all(self.sink, payload)
        elif kind == frames.EOF and client.stdin_once and self.master < 0 \
                and self.sink >= 0:
            posix.close(self.sink)
            self.sink = -1
        elif kind == frames.RESIZE:
            try:
                rows, cols = (int(x) for x in payload.split())
            except ValueError:
                return
            self.size = (rows, cols)
            self.apply_size()
        elif kind == frames.SIGNAL and self.pid > 0:
            try:
                posix.kill(self.pid, int(payload))
            except (OSError, ValueError):
                pass

    def apply_size(self) -> None:
        if self.master >= 0 and self.size is not None:
            import termios

            try:
                termios.tcsetwinsize(self.master, self.size)
            except (OSError, termios.error):
                pass

    def end_clients(self, code: int) -> None:
        """The container exited: each client gets its exit code and is let go."""
        import _socket

        clients, self.clients = self.clients, {}
        for c in clients.values():
            _write_all(c.fd, frames.pack(frames.EXIT, str(code).encode()))
            sock = _socket.socket(fileno=c.fd)
            try:
                sock.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self, code: int) -> None:
        """The monitor ends: ``code`` to the clients (-1: the container did not run)."""
        if self.listener >= 0:
            posix.close(self.listener)
            self.listener = -1
            self._lsock = None
        self.end_clients(code)


def _write_all(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    try:
        while view:
            view = view[posix.write(fd, view):]
    except OSError:
        return False
    return True


def exec_with_state(argv: list[str], idle: "Idle", argv0: str = "") -> None:
    """Exec ``argv`` + the fd of a memfd holding ``idle``'s state + the container's root
    and id (for ``ps``; ``argv0``: the name the program shows there); never returns."""
    import marshal

    fd = posix.memfd_create("dockyard-monitor-state", 0)
    data = marshal.dumps(idle.state())
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view):]
    posix.lseek(fd, 0, 0)  # SEEK_SET
    for keep in (*idle.fds(), fd):
        posix.set_inheritable(keep, True)
    st = idle.st
    posix.execv(argv[0], [argv0 or argv[0], *argv[1:], str(fd), st["root"], st["cid"]])


def load_state(fd: int) -> "dict[str, Any]":
    """The state an exec handed over (and its fds made private again)."""
    import marshal

    chunks = []
    while True:
        chunk = posix.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    posix.close(fd)
    st: dict[str, Any] = marshal.loads(b"".join(chunks))
    return st


def private(idle: "Idle") -> None:
    """The handed-over fds are not for our children (health probes)."""
    for fd in idle.fds():
        posix.set_inheritable(fd, False)


def main() -> None:
    """The exec'd idle phase: ``argv[1]`` is the state's fd. Never returns."""
    import sys

    try:
        idle = Idle(load_state(int(sys.argv[1])))
        private(idle)
        idle.run()
        st = idle.st
        code = code_line(st["pkg"], "dockyard.engine.monitor", "resume")
        exec_with_state([st["python"], "-c", code], idle)
    finally:
        posix._exit(1)
