"""What a user does to an existing container: stop, kill, restart, pause, wait, rename,
update, prune (moby ``daemon/stop.go``, ``kill.go``, ``pause.go``, ``wait.go``...).

The engine has no daemon: these act through the runtime library and the records, and
the container's monitor notices (it records the exit, and a stop or kill marks the
record ``manual_stop`` so that its restart policy no longer applies).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers import ContainerRecord, Status
from dockyard.errors import Conflict, DockyardError, NotFound

if TYPE_CHECKING:
    from dockyard.engine.lifecycle import Engine

__all__ = ["kill", "pause", "restart", "stop", "unpause", "wait", "wait_stopped"]

#: Signals that end a container: sending one is a manual stop (no restart follows).
_ENDING = frozenset({2, 3, 9, 15})


def _running(engine: Engine, ref: str) -> ContainerRecord:
    rec = engine.refresh(engine.containers.get(ref))
    if not rec.status.is_active:
        raise Conflict(f"Container {rec.id} is not running")
    return rec


def _signal(engine: Engine, rec: ContainerRecord, sig: int) -> None:
    """Signal the init; a paused container is thawed so that the signal is acted on."""
    from dockyard.runtime.kill import kill as rt_kill

    try:
        rt_kill(engine.runtime_root, rec.id, sig, all_processes=sig == 9)
    except (NotFound, Conflict):
        return  # exited meanwhile
    if rec.status is Status.PAUSED or engine.containers.get(rec.id).status is Status.PAUSED:
        try:
            _thaw(engine, rec)
        except DockyardError:
            pass


def wait_stopped(engine: Engine, cid: str, timeout: float | None) -> ContainerRecord | None:
    """Wait until the record is no longer running (its monitor recorded the exit); the
    record, or None on timeout. A record nobody runs any more is settled meanwhile."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            rec = engine.refresh(engine.containers.get(cid))
        except NotFound:
            return None
        if not rec.status.is_active:
            return rec
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def stop(engine: Engine, ref: str, timeout: int | None = None) -> ContainerRecord:
    """The stop signal, then SIGKILL after ``timeout`` seconds (the container's
    ``StopTimeout``, else 10; negative waits for ever)."""
    from dockyard.engine.container_config import stop_settings
    from dockyard.runtime.signals import parse_signal

    rec = engine.refresh(engine.containers.get(ref))
    if not rec.status.is_active:
        return rec
    sig_name, default_timeout = stop_settings(rec.config)
    t = default_timeout if timeout is None else timeout
    rec = engine.containers.update_state(rec.id, manual_stop=True)
    if rec.status is not Status.RESTARTING:
        _signal(engine, rec, parse_signal(sig_name))
    done = wait_stopped(engine, rec.id, None if t < 0 else float(t))
    if done is None:
        _signal(engine, rec, 9)
        done = wait_stopped(engine, rec.id, 30.0)
    return done or rec


def kill(engine: Engine, ref: str, signal: str = "KILL") -> ContainerRecord:
    from dockyard.runtime.signals import parse_signal

    sig = parse_signal(signal)
    rec = _running(engine, ref)
    if sig in _ENDING or signal.upper().removeprefix("SIG") == str(
            rec.config.get("StopSignal", "")).upper().removeprefix("SIG"):
        rec = engine.containers.update_state(rec.id, manual_stop=True)
    if rec.status is not Status.RESTARTING:
        _signal(engine, rec, sig)
    if sig == 9:
        wait_stopped(engine, rec.id, 10.0)
    return rec


def restart(engine: Engine, ref: str, timeout: int | None = None) -> dict[str, Any]:
    """Stop (if running) then start; what the new monitor reported."""
    rec = stop(engine, ref, timeout)
    _, report = engine.start(rec.id)  # closes the engine
    return report


def _thaw(engine: Engine, rec: ContainerRecord) -> None:
    from dockyard.runtime.pause import resume

    resume(engine.runtime_root, rec.id)
    engine.containers.transition(rec.id, [Status.PAUSED], Status.RUNNING)


def pause(engine: Engine, ref: str) -> None:
    from dockyard.runtime.pause import pause as rt_pause

    rec = engine.refresh(engine.containers.get(ref))
    if rec.status is Status.PAUSED:
        raise Conflict(f"Container {rec.id} is already paused")
    if rec.status is not Status.RUNNING:
        raise Conflict(f"Container {rec.id} is not running")
    rt_pause(engine.runtime_root, rec.id)
    engine.containers.transition(rec.id, [Status.RUNNING], Status.PAUSED)


def unpause(engine: Engine, ref: str) -> None:
    rec = engine.refresh(engine.containers.get(ref))
    if rec.status is not Status.PAUSED:
        raise Conflict(f"Container {rec.id} is not paused")
    _thaw(engine, rec)


def wait(engine: Engine, ref: str) -> int:
    """Block until the container is not running; its exit code."""
    rec = engine.containers.get(ref)
    done = wait_stopped(engine, rec.id, None)
    if done is None:  # removed meanwhile (--rm): the last code its record had
        return rec.exit_code
    return done.exit_code
