"""The monitor of a detached container (``dockyard run -d``).

There is no daemon: the CLI forks a monitor that detaches from it (a new session, a double
fork so it is re-parented away from the CLI, stdin from /dev/null) and holds the container
for as long as it runs. It is a child subreaper; it mounts the rootfs, creates and starts
the container through the runtime library with the container's stdout/stderr going to
pipes, and writes each line to ``<bundle dir>/<id>-json.log`` in Docker's json-file
format. It records ``running`` and the pid once started, ``exited`` with the exit code
when the init exits, then deletes the runtime state, unmounts the rootfs and exits.

The CLI learns the outcome of the start over a pipe: one JSON object,
``{"started": true}`` or ``{"status": N, "error": "..."}``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers import Status, rfc3339_ns

if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine


def log_path(record: ContainerRecord) -> str:
    return os.path.join(record.bundle_dir, f"{record.id}-json.log")


def spawn_monitor(engine: Engine, record: ContainerRecord,
                  auto_remove: bool = False) -> dict[str, Any]:
    """Fork the detached monitor of ``record``; what it reported about the start. With
    ``auto_remove`` (``run -d --rm``) the monitor removes the container once it exits.

    ``engine`` is closed here (its database connection must not cross the fork)."""
    root, exec_root = engine.root, engine.exec_root
    engine.close()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked children
        code = 1
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                _monitor_main(root, exec_root, record.id, w, auto_remove)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    os.waitpid(pid, 0)
    data = b""
    with os.fdopen(r, "rb") as f:
        data = f.read()
    try:
        report: dict[str, Any] = json.loads(data)
    except ValueError:
        report = {"status": 125, "error": "container monitor exited before it reported"}
    return report


def _monitor_main(root: str, exec_root: str, cid: str, report_fd: int,
                  auto_remove: bool) -> None:
    """The detached grandchild: never returns."""
    code = 0
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # let go of the CLI's terminal or pipes at once
            os.dup2(null, fd)
        os.close(null)
        monitor(root, exec_root, cid, report_fd, auto_remove)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _report(fd: int, obj: dict[str, Any]) -> None:
    if fd < 0:
        return
    try:
        os.write(fd, json.dumps(obj).encode())
    except OSError:
        pass
    os.close(fd)


class _LogWriter:
    """Lines of both streams into one json-file log, whole lines at a time."""

    def __init__(self, path: str) -> None:
        self.f = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self.lock = threading.Lock()

    def write(self, stream: str, line: bytes) -> None:
        entry = {"log": line.decode(errors="replace"), "stream": stream,
                 "time": rfc3339_ns()}
        data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        with self.lock:
            self.f.write(data)

    def pump(self, fd: int, stream: str) -> None:
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self.write(stream, line + b"\n")
            if pending:
                self.write(stream, pending)
        finally:
            os.close(fd)

    def close(self) -> None:
        self.f.close()


def monitor(root: str, exec_root: str, cid: str, report_fd: int,
            auto_remove: bool = False) -> None:
    """Run container ``cid`` (created by :meth:`Engine.create`) to its end."""
    from dockyard.engine.lifecycle import Engine, ExecFailure
    from dockyard.errors import DockyardError
    from dockyard.linux import process as proc

    proc.prctl(proc.PR_SET_CHILD_SUBREAPER, 1)
    # fd 2 becomes the container's stderr pipe below; the runtime's own warnings must not
    # land in the container's log.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of this process
    engine = Engine(root, exec_root)
    try:
        record = engine.containers.get(cid)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        logs = _LogWriter(log_path(record))
        # Nobody reads the pipes until the idle monitor does (see started()).
        pumps: list[threading.Thread] = []
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)

        def started(pid: int) -> None:
            # The container holds the pipes now; ours go so that its exit ends them.
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.close(null)
            # The rest of this container's life runs in a small fresh interpreter; it
            # reports "started" once it has taken what the container wrote so far.
            from dockyard.engine.idle_monitor import exec_idle

            exec_idle(root, exec_root, cid, pid, log_path(record),
                      ((out_r, "stdout"), (err_r, "stderr")), auto_remove, report_fd)

        try:
            engine.run_attached(record, started, pumps)
        except ExecFailure as e:
            _report(report_fd, {"status": e.status, "error": str(e)})
            report_fd = -1
        except BaseException as e:
            _report(report_fd, {"status": 125, "error": str(e) or type(e).__name__})
            report_fd = -1
            raise
        finally:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.close(null)
            for t in pumps:
                t.join(5)
            logs.close()
            if auto_remove:
                try:
                    engine.remove(cid, force=True)
                except DockyardError:
                    pass  # removed already (rm -f)
    finally:
        _report(report_fd, {"status": 125, "error": "container monitor failed"})
        engine.close()


__all__ = ["Status", "log_path", "monitor", "spawn_monitor"]
