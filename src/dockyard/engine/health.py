"""Health checks (``--health-cmd``...; moby ``daemon/health.go``).

Every ``Interval`` (default 30 s) after the last check ended, the container's monitor
spawns a short-lived probe process (:func:`probe_main`, as podman runs ``podman
healthcheck run`` from a timer) that runs the check inside the running container through
the runtime's exec library, given ``Timeout`` (30 s), and records the result.
``State.Health`` starts ``starting``; a check exiting 0 makes it ``healthy`` and resets
``FailingStreak``; ``Retries`` (3) failures in a row make it ``unhealthy``. Failures during
``StartPeriod`` do not count. ``Log`` keeps the last five results (``Start``, ``End``,
``ExitCode``, ``Output``: stdout and stderr, at most 4 KiB).

``Test`` is ``["CMD-SHELL", "cmd"]`` (run by ``/bin/sh -c``), ``["CMD", args...]``, or
``["NONE"]`` (no check). The exec runs in a forked helper whose stdout/stderr is a pipe.
"""

from __future__ import annotations

import os
import select
import time

from dockyard.engine.containers import rfc3339_ns
from dockyard.errors import DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine

__all__ = ["Check", "begin", "check_args", "next_health", "probe_main", "run_check"]

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_OUTPUT = 4096
MAX_LOG = 5


def check_args(test: list[str]) -> list[str] | None:
    """The process args of a ``Test``; None for no check."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    if test[0] == "CMD":
        return list(test[1:]) or None
    return list(test)


def next_health(health: dict[str, Any] | None, result: dict[str, Any], retries: int,
                in_start_period: bool) -> dict[str, Any]:
    """``State.Health`` after one check (moby ``handleProbeResult``)."""
    h = dict(health or {"Status": "starting", "FailingStreak": 0, "Log": []})
    h["Log"] = ([*h.get("Log", []), result])[-MAX_LOG:]
    if result["ExitCode"] == 0:
        h["Status"], h["FailingStreak"] = "healthy", 0
    elif not in_start_period or h.get("Status") != "starting":
        h["FailingStreak"] = int(h.get("FailingStreak", 0)) + 1
        if h["FailingStreak"] >= retries:
            h["Status"] = "unhealthy"
    return h


def _seconds(ns: Any, default: float) -> float:
    return float(ns) / 1e9 if isinstance(ns, int) and ns > 0 else default


class Check:
    """A container's ``Healthcheck`` with moby's defaults filled in."""

    def __init__(self, args: list[str], check: dict[str, Any]) -> None:
        self.args = args
        self.interval = _seconds(check.get("Interval"), DEFAULT_INTERVAL)
        self.timeout = _seconds(check.get("Timeout"), DEFAULT_TIMEOUT)
        self.start_period = _seconds(check.get("StartPeriod"), 0.0)
        retries = check.get("Retries")
        self.retries = retries if isinstance(retries, int) and retries > 0 \
            else DEFAULT_RETRIES

    @classmethod
    def of(cls, record: ContainerRecord) -> Check | None:
        check = record.config.get("Healthcheck")
        if not isinstance(check, dict):
            return None
        args = check_args(list(check.get("Test") or []))
        if args is None:
            return None
        return cls(args, check)


def begin(engine: Engine, record: ContainerRecord) -> float | None:
    """A run starts: ``State.Health`` is ``starting``; the check's interval in seconds
    (None: no check), for the monitor's timer."""
    check = Check.of(record)
    if check is None:
        return None
    engine.containers.update_state(
        record.id, health={"Status": "starting", "FailingStreak": 0, "Log": []})
    return check.interval


def run_check(engine: Engine, cid: str, pid: int, began: float) -> None:
    """One check of the run whose init is ``pid`` and began at ``began`` (monotonic),
    its result recorded (and an event if the status changed). Nothing is recorded if
    that run is over."""
    rec = engine.containers.get(cid)
    check = Check.of(rec)
    if check is None or rec.pid != pid:
        return
    start = rfc3339_ns()
    code, output = _probe(engine, rec, check)
    result = {"Start": start, "End": rfc3339_ns(), "ExitCode": code, "Output": output}
    in_start = time.monotonic() - began < check.start_period
    rec = engine.containers.get(cid)
    if rec.pid != pid or not rec.status.is_active:
        return  # the container exited meanwhile
    new = engine.containers.update_state(
        cid, health=next_health(rec.health, result, check.retries, in_start))
    status = (new.health or {}).get("Status", "")
    if status != (rec.health or {}).get("Status", ""):  # moby: on a change
        from dockyard.engine import events

        events.container(engine.root, new, f"health_status: {status}")


def probe_main() -> None:
    """A health probe process, spawned by the container's monitor at each interval:
    ``argv``: root, exec root, container id, init pid, the run's start (monotonic)."""
    import sys

    from dockyard.engine.lifecycle import Engine

    root, exec_root, cid, pid, began = sys.argv[1:6]
    code = 0
    engine = Engine(root, exec_root)
    try:
        run_check(engine, cid, int(pid), float(began))
    except (NotFound, DockyardError, OSError):
        code = 1
    finally:
        engine.close()
    sys.stdout.flush()
    os._exit(code)


def _probe(engine: Engine, record: ContainerRecord, check: Check) -> tuple[int, str]:
    """Run the check once: (exit code, output); -1 and a message on a timeout."""
    process = _exec_process(engine, record, check.args)
    out_r, out_w = os.pipe()
    pid_r, pid_w = os.pipe()
    helper = os.fork()
    if helper == 0:  # pragma: no cover - the forked helper
        code = 1
        try:
            os.close(out_r)
            os.close(pid_r)
            code = _helper(engine.runtime_root, record.id, process, out_w, pid_w)
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(pid_w)
    output = b""
    deadline = time.monotonic() + check.timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([out_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            output = (output + chunk)[:MAX_OUTPUT]
        if timed_out:
            # the check itself if it started (its helper then exits), else the helper
            inner = os.read(pid_r, 64) if select.select([pid_r], [], [], 0)[0] else b""
            victim = int(inner) if inner.strip().isdigit() else helper
            try:
                os.kill(victim, 9)
            except ProcessLookupError:
                pass
    finally:
        os.close(out_r)
        os.close(pid_r)
    try:
        status: int | None = os.waitpid(helper, 0)[1]
    except ChildProcessError:
        status = None
    if timed_out:
        return -1, f"Health check exceeded timeout ({check.timeout:g}s)"
    if status is None:
        return 1, output.decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    return (code if code >= 0 else 128 - code), output.decode(errors="replace")


def _exec_process(engine: Engine, record: ContainerRecord, args: list[str]) -> Any:
    """The check's process spec: the container's, with the check's args and no tty."""
    import json

    from dockyard.runtime.exec import merge_process

    with open(os.path.join(record.bundle_dir, "config.json")) as f:
        base = json.load(f)["process"]
    return merge_process(base, args=args, tty=False)


def _helper(runtime_root: str, cid: str, process: Any, out: int, pid_w: int) -> int:
    """In the forked helper: exec the check with stdout/stderr on ``out``; its code."""
    from dockyard.linux import process as proc
    from dockyard.runtime.exec import ExecFailed, exec_process, reap

    proc.prctl(proc.PR_SET_CHILD_SUBREAPER, 1)  # the exec'd process is re-parented here
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    try:
        pid, _ = exec_process(runtime_root, cid, process, detach=True)
    except ExecFailed as e:
        os.write(2, str(e).encode())
        return e.code
    except DockyardError as e:
        os.write(2, str(e).encode())
        return 1
    os.write(pid_w, str(pid).encode())
    os.close(pid_w)
    return reap(pid)
