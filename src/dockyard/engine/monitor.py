"""The monitor of a detached container (``run -d``, ``start``).

There is no daemon: the CLI forks a monitor that detaches from it (a new session, a double
fork so it is re-parented away from the CLI, stdin from /dev/null) and holds the container
for as long as it runs, restarts included. It is a child subreaper and holds the
container's ``monitor.lock`` (see :mod:`dockyard.engine.lifecycle`).

Its loop, one turn per run of the container (:func:`monitor`):

1. pipes for stdout/stderr, each pumped into the json-file log by a thread
   (:mod:`dockyard.engine.logfile`, rotated by ``--log-opt max-size/max-file``);
2. :meth:`Engine.launch`: mount, runtime create + start, record ``running``;
3. the health checker thread, if the container has a health check
   (:mod:`dockyard.engine.health`);
4. wait for the init to exit; record OOMKilled, clean up the runtime state and mount;
5. ask the restart policy (:mod:`dockyard.engine.restart`): either ``exited`` and the
   monitor ends (removing the container with ``--rm``), or ``restarting``, the backoff
   wait (cut short by a ``stop``), and the next turn.

The CLI learns the outcome of the first start over a pipe: one JSON object,
``{"started": true, "pid": N}`` or ``{"status": N, "error": "..."}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers import Status, rfc3339_ns

if TYPE_CHECKING:
    from dockyard.engine.attach import AttachHub
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.logfile import LogWriter


def log_path(record: ContainerRecord) -> str:
    return record.log_path or os.path.join(record.bundle_dir, f"{record.id}-json.log")


def monitor_holds(record: ContainerRecord) -> bool:
    """Whether a monitor (or a foreground ``run``) holds the container's
    ``monitor.lock`` right now."""
    import fcntl

    try:
        fd = os.open(os.path.join(record.bundle_dir, "monitor.lock"), os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def spawn_monitor(engine: Engine, record: ContainerRecord,
                  auto_remove: bool = False, attach_fd: int = -1) -> dict[str, Any]:
    """Fork the detached monitor of ``record``; what it reported about the start. The
    container is removed once it exits if ``auto_remove`` or its ``HostConfig.AutoRemove``.

    ``engine`` is closed here (its database connection must not cross the fork).
    ``attach_fd``: a socket the monitor serves as its first attached client (see
    :mod:`dockyard.engine.attach`); the caller still owns (and closes) its copy."""
    root, exec_root = engine.root, engine.exec_root
    auto_remove = auto_remove or bool(record.host_config.get("AutoRemove"))
    engine.close()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked children
        code = 1
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                _monitor_main(root, exec_root, record.id, w, auto_remove, attach_fd)
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
                  auto_remove: bool, attach_fd: int = -1) -> None:
    """The detached grandchild: never returns."""
    code = 0
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # let go of the CLI's terminal or pipes at once
            os.dup2(null, fd)
        os.close(null)
        monitor(root, exec_root, cid, report_fd, auto_remove, attach_fd)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


class _Reporter:
    """The one message to the CLI that spawned the monitor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, obj: dict[str, Any]) -> None:
        if self.fd < 0:
            return
        try:
            os.write(self.fd, json.dumps(obj).encode())
        except OSError:
            pass
        os.close(self.fd)
        self.fd = -1


class _Outcome:
    def __init__(self, code: int, ran_for: float, oom: bool) -> None:
        self.code = code
        self.ran_for = ran_for
        self.oom = oom


def _run_once(engine: Engine, record: ContainerRecord, logs: LogWriter, hub: AttachHub,
              reporter: _Reporter) -> _Outcome:
    """One run of the container, from mount to unmount."""
    from dockyard.engine.attach import RunIO
    from dockyard.engine.health import HealthChecker
    from dockyard.engine.reaper import Reaper
    from dockyard.runtime.exec import exit_code

    io = RunIO(record, logs, hub)
    # The runtime hands its own stdio to the container: its ends go on fds 0-2 for the
    # create, and away again at once so that the container's exit ends them.
    try:
        console = io.before_launch()
        try:
            pid = engine.launch(record, console_fd=console)
        finally:
            io.after_launch()
        io.started(pid)
    except BaseException:
        io.finish()
        raise
    started = time.monotonic()
    reporter.send({"started": True, "pid": pid})
    reaper = Reaper()
    checker = HealthChecker.for_record(engine, record, reaper)
    if checker is not None:
        checker.start()
    try:
        code = exit_code(reaper.wait_exit(pid))
    finally:
        if checker is not None:
            checker.stop()
            while checker.running():  # its check dies with the container: reap it
                if reaper.reap(block=False) is None:
                    time.sleep(0.05)
                checker.join(0.05)
        io.finish()
        oom = engine.oom_killed(record)
        engine.cleanup_run(record)
        _reap_strays()
    from dockyard.engine import events

    events.container(engine.root, record, "die", exitCode=str(code))
    return _Outcome(code, time.monotonic() - started, oom)


def _reap_strays() -> None:
    """Orphans re-parented to us (we are a subreaper) while the container ran."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _take_lock(engine: Engine, cid: str, patience: float = 10.0) -> int | None:
    """The container's monitor lock, or None if another monitor runs the container. A
    monitor that recorded the exit may still hold it for a moment (a quick restart)."""
    deadline = time.monotonic() + patience
    while True:
        record = engine.containers.get(cid)
        lock = engine.lock_monitor(record)
        if lock is not None or record.status.is_active or time.monotonic() > deadline:
            return lock
        time.sleep(0.02)


def _backoff_wait(engine: Engine, cid: str, delay: float) -> bool:
    """Sleep ``delay`` seconds before a restart; False if the container was stopped or
    removed meanwhile."""
    from dockyard.errors import NotFound

    deadline = time.monotonic() + delay
    while True:
        try:
            if engine.containers.get(cid).manual_stop:
                return False
        except NotFound:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, 0.1))


def monitor(root: str, exec_root: str, cid: str, report_fd: int,
            auto_remove: bool = False, attach_fd: int = -1) -> None:
    """Run container ``cid`` (created by :meth:`Engine.create`) to its end, restarts
    included."""
    from dockyard.engine.attach import AttachHub
    from dockyard.engine.lifecycle import Engine, ExecFailure
    from dockyard.engine.logfile import LogWriter, parse_log_opts
    from dockyard.engine.restart import Backoff, RestartPolicy
    from dockyard.errors import DockyardError, NotFound
    from dockyard.linux import process as proc

    proc.prctl(proc.PR_SET_CHILD_SUBREAPER, 1)
    # The runtime's own warnings must not land in the container's log.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of this process
    reporter = _Reporter(report_fd)
    engine = Engine(root, exec_root)
    lock: int | None = None
    try:
        record = engine.containers.get(cid)
        lock = _take_lock(engine, cid)
        if lock is None:  # another monitor runs it: a racing start
            reporter.send({"started": True})
            return
        hub = AttachHub(record.bundle_dir, attach_fd)
        attach_fd = -1
        last_code = -1
        size, files = parse_log_opts(
            (record.host_config.get("LogConfig") or {}).get("Config") or {})
        os.makedirs(os.path.dirname(log_path(record)), mode=0o700, exist_ok=True)
        logs = LogWriter(log_path(record), size, files)
        backoff = Backoff()
        try:
            while True:
                try:
                    outcome = _run_once(engine, record, logs, hub, reporter)
                except ExecFailure as e:
                    reporter.send({"status": e.status, "error": str(e)})
                    break
                try:
                    record = engine.containers.get(cid)
                except NotFound:
                    last_code = outcome.code
                    break  # removed (rm -f) while it ran
                policy = RestartPolicy.from_json(record.host_config.get("RestartPolicy"))
                ended = {"pid": 0, "exit_code": outcome.code, "oom_killed": outcome.oom,
                         "finished_at": rfc3339_ns()}
                if not policy.should_restart(outcome.code, record.restart_count,
                                             record.manual_stop):
                    engine.containers.update_state(cid, status=Status.EXITED, **ended)
                    last_code = outcome.code
                    break
                # moby counts the restart when it decides it, before the backoff
                engine.containers.update_state(cid, status=Status.RESTARTING,
                                               restart_count=record.restart_count + 1,
                                               **ended)
                hub.ended(outcome.code)
                if not _backoff_wait(engine, cid, backoff.next(outcome.ran_for)):
                    try:
                        engine.containers.update_state(cid, status=Status.EXITED)
                    except NotFound:
                        pass
                    break
        except NotFound:
            pass  # removed meanwhile
        except BaseException as e:
            reporter.send({"status": 125, "error": str(e) or type(e).__name__})
            raise
        finally:
            logs.close()
            if auto_remove:
                # a `wait` that outlives the record reads the exit code from the lock
                # file it holds open (see control.wait)
                try:
                    os.pwrite(lock, str(engine.containers.get(cid).exit_code).encode(), 0)
                except (NotFound, OSError):
                    pass
                try:
                    engine.remove(cid, force=True, volumes=True)
                except DockyardError:
                    pass  # removed already (rm -f)
            hub.close(last_code)
    finally:
        if attach_fd >= 0:
            os.close(attach_fd)
        reporter.send({"status": 125, "error": "container monitor failed"})
        if lock is not None:
            os.close(lock)
        engine.close()


__all__ = ["Status", "log_path", "monitor", "monitor_holds", "spawn_monitor"]
