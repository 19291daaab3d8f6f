"""The idle phase of a detached container's monitor, in a small fresh interpreter.

The monitor (:mod:`dockyard.engine.monitor`) is a fork of the CLI: once the CLI exits,
every page of its heap (all of ``engine``, ``sqlite3``, ``dataclasses``...) belongs to
the monitor alone, about 11 MiB per container. Once the container runs, all a monitor
does for hours is copy the container's output into its json-file log and wait for the
init to exit. :func:`exec_idle` re-executes the monitor (same pid: it stays the init's
parent and a child subreaper, both kept across ``execve``) as ``python -I -S`` running
:func:`main`, which imports nothing beyond builtin modules (``os``, ``sys``, ``time``,
``select``, ``_signal``, ``_json``): about 3 MiB of memory. When the init has exited and
its output is drained, :func:`main` imports the engine again (memory no longer matters)
and :func:`finish` records the exit and cleans up as the monitor would have.

Nothing here may import at module level what the idle phase does not need.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Sequence
else:
    import _signal  # the C module: ``signal`` builds its enums at import

#: How long the output is still drained after the init exited (processes it left behind
#: may hold the pipes open), as the monitor's pump threads are joined.
DRAIN_SECONDS = 5.0


def exec_idle(root: str, exec_root: str, cid: str, init_pid: int, log: str,
              streams: Sequence[tuple[int, str]], auto_remove: bool,
              report_fd: int) -> None:
    """Replace this process with the idle monitor; never returns. ``streams`` are
    (read end of a pipe, "stdout" | "stderr") pairs nobody has read from yet; the idle
    monitor writes ``{"started": true, "pid": N}`` to ``report_fd`` once it has logged
    what they held."""
    import dockyard

    for fd in (report_fd, *(fd for fd, _ in streams)):
        os.set_inheritable(fd, True)
    exe = os.path.realpath(os.readlink("/proc/self/exe"))  # not a venv symlink
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__)))
    code = (f"import sys;sys.path.insert(0,{pkg_parent!r});"
            "from dockyard.engine.idle_monitor import main;main()")
    argv = [exe, "-I", "-S", "-c", code, root, exec_root, cid, str(init_pid), log,
            "1" if auto_remove else "0", str(report_fd),
            *(f"{fd}:{name}" for fd, name in streams)]
    os.execv(exe, argv)


def _line(stream: str, data: bytes) -> bytes:
    """One json-file entry: what ``json.dumps({"log", "stream", "time"})`` writes."""
    import _json

    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"
    text = _json.encode_basestring_ascii(data.decode(errors="replace"))
    return f'{{"log":{text},"stream":"{stream}","time":"{stamp}"}}\n'.encode()


class _Logs:
    """Whole lines of each stream into one log file."""

    def __init__(self, path: str, streams: dict[int, str]) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.streams = streams
        self.pending = {fd: b"" for fd in streams}

    def feed(self, fd: int) -> bool:
        """Read what ``fd`` has; False at its end (the rest is flushed, ``fd`` closed)."""
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        stream = self.streams[fd]
        if not chunk:
            if self.pending[fd]:
                self._write(_line(stream, self.pending[fd]))
            del self.pending[fd]
            os.close(fd)
            return False
        data = self.pending[fd] + chunk
        *lines, self.pending[fd] = data.split(b"\n")
        if lines:
            self._write(b"".join(_line(stream, ln + b"\n") for ln in lines))
        return True

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
        except OSError:
            pass  # a full disk must not stop the monitor from recording the exit


def _reap(init_pid: int) -> int | None:
    """Reap every exited child (we are a subreaper); the init's exit code if it was one."""
    code = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 255 if code is None else code  # the init is gone and not ours to reap
        if pid == 0:
            return code
        if pid == init_pid:
            code = (128 + os.WTERMSIG(status) if os.WIFSIGNALED(status)
                    else os.waitstatus_to_exitcode(status))


def wait(init_pid: int, logs: _Logs, report_fd: int) -> int:
    """Report the start once what the container wrote so far is logged, then copy its
    output until the init exits (and its output ends, or DRAIN_SECONDS pass)."""
    import select

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    _signal.set_wakeup_fd(wake_w)
    _signal.signal(_signal.SIGCHLD, lambda _s, _f: None)  # so that SIGCHLD wakes poll
    poll = select.poll()
    poll.register(wake_r, select.POLLIN)
    for fd in list(logs.streams):
        os.set_blocking(fd, False)
        if logs.feed(fd):
            poll.register(fd, select.POLLIN)
    try:
        os.write(report_fd, b'{"started": true, "pid": %d}' % init_pid)
    except OSError:
        pass  # the CLI is gone (killed): the container runs on all the same
    os.close(report_fd)
    code = _reap(init_pid)  # it may have exited before we were ready
    deadline = None if code is None else time.monotonic() + DRAIN_SECONDS
    while logs.pending:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
        if timeout == 0:
            break
        for fd, _ in poll.poll(timeout):
            if fd == wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            elif not logs.feed(fd):
                poll.unregister(fd)
        if code is None:
            code = _reap(init_pid)
            if code is not None:
                deadline = time.monotonic() + DRAIN_SECONDS
    while code is None:  # the output ended first: wait for the exit itself
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            code = 255
            break
        if pid == init_pid:
            code = (128 + os.WTERMSIG(status) if os.WIFSIGNALED(status)
                    else os.waitstatus_to_exitcode(status))
    return code


def finish(root: str, exec_root: str, cid: str, code: int, auto_remove: bool) -> None:
    """What the monitor does once the init exited: record it, delete the runtime's
    state, unmount the rootfs; with ``--rm``, remove the container."""
    from dockyard.engine.containers import Status, rfc3339_ns
    from dockyard.engine.lifecycle import Engine, _unmount_if_mounted
    from dockyard.errors import DockyardError, NotFound
    from dockyard.runtime.delete import delete

    engine = Engine(root, exec_root)
    try:
        try:
            record = engine.containers.get(cid)
            engine.containers.update_state(cid, status=Status.EXITED, pid=0,
                                           exit_code=code, finished_at=rfc3339_ns())
        except NotFound:
            return  # removed (rm -f) while it ran; rm cleaned up
        try:
            delete(engine.runtime_root, cid, force=True)
        except DockyardError:
            pass
        _unmount_if_mounted(os.path.join(record.bundle_dir, "rootfs"))
        if auto_remove:
            try:
                engine.remove(cid, force=True)
            except DockyardError:
                pass
    finally:
        engine.close()


def main() -> None:
    """``python -I -S -c ... ROOT EXEC_ROOT ID INIT_PID LOG AUTO_REMOVE FD:STREAM...``"""
    root, exec_root, cid, init_pid, log, auto_remove, report, *pairs = sys.argv[1:]
    os.set_inheritable(int(report), False)
    streams = {}
    for pair in pairs:
        fd, _, name = pair.partition(":")
        streams[int(fd)] = name
        os.set_inheritable(int(fd), False)
    status = 1
    try:
        code = wait(int(init_pid), _Logs(log, streams), int(report))
        finish(root, exec_root, cid, code, auto_remove == "1")
        status = 0
    finally:
        os._exit(status)
