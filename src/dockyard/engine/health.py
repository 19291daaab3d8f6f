"""Health checks (``--health-cmd``...; moby ``daemon/health.go``).

A thread of the monitor runs the check inside the running container through the
runtime's exec library every ``Interval`` (default 30 s), each given ``Timeout`` (30 s).
``State.Health`` starts ``starting``; a check exiting 0 makes it ``healthy`` and resets
``FailingStreak``; ``Retries`` (3) failures in a row make it ``unhealthy``. Failures during
``StartPeriod`` do not count. ``Log`` keeps the last five results (``Start``, ``End``,
``ExitCode``, ``Output``: stdout and stderr, at most 4 KiB).

``Test`` is ``["CMD-SHELL", "cmd"]`` (run by ``/bin/sh -c``), ``["CMD", args...]``, or
``["NONE"]`` (no check). The exec runs in a forked helper whose stdout/stderr is a pipe:
the monitor's own fds belong to the container's log.
"""

from __future__ import annotations

import os
import select
import threading
import time
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers import rfc3339_ns
from dockyard.errors import DockyardError, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.reaper import Reaper

__all__ = ["HealthChecker", "check_args", "next_health"]

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


class HealthChecker:
    """The checks of one run of a container, on a thread."""

    def __init__(self, engine: Engine, record: ContainerRecord, args: list[str],
                 check: dict[str, Any], reaper: Reaper) -> None:
        self.engine = engine
        self.reaper = reaper
        self.cid = record.id
        self.process = _exec_process(engine, record, args)
        self.interval = _seconds(check.get("Interval"), DEFAULT_INTERVAL)
        self.timeout = _seconds(check.get("Timeout"), DEFAULT_TIMEOUT)
        self.start_period = _seconds(check.get("StartPeriod"), 0.0)
        retries = check.get("Retries")
        self.retries = retries if isinstance(retries, int) and retries > 0 \
            else DEFAULT_RETRIES
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    @classmethod
    def for_record(cls, engine: Engine, record: ContainerRecord,
                   reaper: Reaper) -> HealthChecker | None:
        check = record.config.get("Healthcheck")
        if not isinstance(check, dict):
            return None
        args = check_args(list(check.get("Test") or []))
        if args is None:
            return None
        return cls(engine, record, args, check, reaper)

    def start(self) -> None:
        self.engine.containers.update_state(
            self.cid, health={"Status": "starting", "FailingStreak": 0, "Log": []})
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to end; the caller reaps until :meth:`running` is false."""
        self.stopping.set()

    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _loop(self) -> None:
        began = time.monotonic()
        while not self.stopping.wait(self.interval):
            start = rfc3339_ns()
            code, output = self._probe()
            if self.stopping.is_set():
                return
            result = {"Start": start, "End": rfc3339_ns(), "ExitCode": code,
                      "Output": output}
            in_start = time.monotonic() - began < self.start_period
            try:
                rec = self.engine.containers.get(self.cid)
                new = self.engine.containers.update_state(
                    self.cid, health=next_health(rec.health, result, self.retries, in_start))
                status = (new.health or {}).get("Status", "")
                if status != (rec.health or {}).get("Status", ""):  # moby: on a change
                    from dockyard.engine import events

                    events.container(self.engine.root, new, f"health_status: {status}")
            except (NotFound, DockyardError):
                return

    def _probe(self) -> tuple[int, str]:
        """Run the check once: (exit code, output); -1 and a message on a timeout."""
        out_r, out_w = os.pipe()
        pid_r, pid_w = os.pipe()
        helper = os.fork()
        if helper == 0:  # pragma: no cover - the forked helper
            code = 1
            try:
                os.close(out_r)
                os.close(pid_r)
                code = _helper(self.engine.runtime_root, self.cid, self.process,
                               out_w, pid_w)
            finally:
                os._exit(code)
        os.close(out_w)
        os.close(pid_w)
        output = b""
        deadline = time.monotonic() + self.timeout
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
        status = self.reaper.status_of(helper)
        if timed_out:
            return -1, f"Health check exceeded timeout ({self.timeout:g}s)"
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
    from dockyard.runtime.exec import ExecFailed, _reap, exec_process

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
    return _reap(pid)
