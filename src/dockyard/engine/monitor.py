"""The monitor of a detached container (``run -d``, ``start``).

There is no daemon: the CLI forks a monitor that detaches from it (a new session, a double
fork so it is re-parented away from the CLI, stdin from /dev/null) and holds the container
for as long as it runs, restarts included. It is a child subreaper and holds the
container's ``monitor.lock`` (see :mod:`dockyard.engine.lifecycle`).

Its loop, one turn per run of the container (:func:`monitor`, :func:`_runs`):

1. pipes for stdout/stderr (or a console socket for a pty), the stdin
   (:class:`dockyard.engine.attach.RunIO`);
2. :meth:`Engine.launch`: mount, runtime create + start, record ``running``; the health
   status ``starting`` (:mod:`dockyard.engine.health`);
3. exec into the idle phase (:mod:`dockyard.engine.shim`): a small single-threaded
   program that copies the output into the json-file log and to the attach clients,
   serves the clients, runs the health probes and reaps the init; it execs back into
   :func:`resume` once the init has exited and its output is drained. (A container
   whose embedded DNS this process serves runs the same loop here, without the exec.)
4. record OOMKilled, clean up the runtime state and mount, the ``die`` event;
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

from dockyard.engine.containers import Status, rfc3339_ns
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.shim import Idle


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


def _shim_ok(engine: Engine, record: ContainerRecord) -> bool:
    """Whether the idle phase may exec into the small program: not while this process
    serves the container's embedded DNS (user networks), or if asked not to."""
    if os.environ.get("DOCKYARD_NO_SHIM"):
        return False
    handle = engine._networks.get(record.id)  # the launch's network handle
    return handle is None or handle.dns is None


def _run_once(engine: Engine, record: ContainerRecord, idle: Idle,
              reporter: _Reporter) -> _Outcome:
    """One run of the container, from mount to unmount. While it runs, this process
    execs into the shim (see :mod:`dockyard.engine.shim`), which comes back through
    :func:`resume`; with embedded DNS the same loop runs here."""
    from dockyard.engine import health
    from dockyard.engine.attach import RunIO
    from dockyard.runtime.exec import exit_code

    io = RunIO(record, idle)
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
        io.abort()
        raise
    started = time.monotonic()
    idle.st.update(started=started, health=health.begin(engine, record) or 0.0)
    reporter.send({"started": True, "pid": pid})
    if _shim_ok(engine, record):
        _exec_shim(engine, idle)
    idle.run()
    return _after_exit(engine, record, exit_code(idle.status or 0), idle.ended - started)


def _exec_shim(engine: Engine, idle: Idle) -> None:
    """Exec into the idle phase's small program; never returns."""
    from dockyard.engine.shim import code_line, exec_with_state

    engine.close()
    idle.flush_output()
    if idle.log is not None:
        idle.log.close()
        idle.log = None
    code = code_line(idle.st["pkg"], "dockyard.engine.shim", "main")
    exec_with_state([_shim_interpreter(), "-I", "-S", "-c", code], idle,
                    argv0="dockyard-shim")


def _shim_interpreter() -> str:
    """The distribution's ``/usr/bin/pythonX.Y`` of the running X.Y if there is one, else
    the running interpreter. The shim needs only the interpreter's builtins and our
    bytecode (the same for every X.Y.z); Debian's build is linked statically, while a
    ``--enable-shared`` build (pyenv's) relocates libpython's data into pages private to
    each process: ~280 KiB more per idle container."""
    from dockyard.runtime.launch import interpreter

    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    return system if os.access(system, os.X_OK) else interpreter()


def _after_exit(engine: Engine, record: ContainerRecord, code: int,
                ran_for: float) -> _Outcome:
    """The init has exited and its output is drained: OOMKilled, runtime state and
    mount cleaned up, the ``die`` event."""
    oom = engine.oom_killed(record)
    engine.cleanup_run(record)
    _reap_strays()
    from dockyard.engine import events

    events.container(engine.root, record, "die", exitCode=str(code))
    return _Outcome(code, ran_for, oom)


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
    import dockyard
    from dockyard.engine.attach import listen
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.logfile import parse_log_opts
    from dockyard.engine.shim import Idle
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
        size, files = parse_log_opts(
            (record.host_config.get("LogConfig") or {}).get("Config") or {})
        os.makedirs(os.path.dirname(log_path(record)), mode=0o700, exist_ok=True)
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__)))
        st = {"cid": cid, "root": root, "exec_root": exec_root, "lock": lock,
              "auto_remove": auto_remove, "python": sys.executable, "pkg": pkg,
              "log": (log_path(record), size, files), "backoff": 0.0,
              "listener": listen(record.bundle_dir),
              "clients": [(attach_fd, False, b"")] if attach_fd >= 0 else []}
        attach_fd = -1
        _runs(engine, Idle(st), reporter, None)
    finally:
        if attach_fd >= 0:
            os.close(attach_fd)
        reporter.send({"status": 125, "error": "container monitor failed"})
        if lock is not None:
            os.close(lock)
        engine.close()


def resume() -> None:
    """The full monitor again, exec'd by the shim once the init has exited (``argv[1]``:
    the state's fd): record the exit, then as :func:`monitor`. Never returns."""
    code = 0
    try:
        _resume(int(sys.argv[1]))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _resume(state_fd: int) -> None:
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.shim import Idle, load_state, private
    from dockyard.errors import NotFound
    from dockyard.runtime.exec import exit_code

    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of this process
    idle = Idle(load_state(state_fd))
    private(idle)
    st = idle.st
    engine = Engine(st["root"], st["exec_root"])
    try:
        code = exit_code(st["status"] or 0)
        try:
            record = engine.containers.get(st["cid"])
        except NotFound:  # removed (rm -f) while it ran
            _gone(engine, st["cid"])
            idle.close(code)
            return
        outcome = _after_exit(engine, record, code, st["ended"] - st["started"])
        _runs(engine, idle, _Reporter(-1), outcome)
    finally:
        os.close(st["lock"])
        engine.close()


def _gone(engine: Engine, cid: str) -> None:
    from dockyard.runtime.delete import delete

    try:
        delete(engine.runtime_root, cid, force=True)
    except (DockyardError, OSError):
        pass
    _reap_strays()


def _runs(engine: Engine, idle: Idle, reporter: _Reporter, ended: _Outcome | None) -> None:
    """Runs of the container until its restart policy says no more; ``ended``: the
    outcome of a run that ended already (after :func:`resume`)."""
    from dockyard.engine.lifecycle import ExecFailure
    from dockyard.engine.restart import Backoff, RestartPolicy
    from dockyard.errors import NotFound

    st = idle.st
    cid, lock = st["cid"], st["lock"]
    backoff = Backoff()
    backoff.delay = st["backoff"]
    last_code = -1
    try:
        while True:
            if ended is None:
                try:
                    outcome = _run_once(engine, engine.containers.get(cid), idle, reporter)
                except ExecFailure as e:
                    reporter.send({"status": e.status, "error": str(e)})
                    break
            else:
                outcome, ended = ended, None
            try:
                record = engine.containers.get(cid)
            except NotFound:
                last_code = outcome.code
                break  # removed (rm -f) while it ran
            policy = RestartPolicy.from_json(record.host_config.get("RestartPolicy"))
            done = {"pid": 0, "exit_code": outcome.code, "oom_killed": outcome.oom,
                    "finished_at": rfc3339_ns()}
            if not policy.should_restart(outcome.code, record.restart_count,
                                         record.manual_stop):
                engine.containers.update_state(cid, status=Status.EXITED, **done)
                last_code = outcome.code
                break
            # moby counts the restart when it decides it, before the backoff
            engine.containers.update_state(cid, status=Status.RESTARTING,
                                           restart_count=record.restart_count + 1, **done)
            idle.end_clients(outcome.code)
            st["backoff"] = backoff.next(outcome.ran_for)
            if not _backoff_wait(engine, cid, st["backoff"]):
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
        if st["auto_remove"]:
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
        idle.close(last_code)


__all__ = ["Status", "log_path", "monitor", "monitor_holds", "resume", "spawn_monitor"]
