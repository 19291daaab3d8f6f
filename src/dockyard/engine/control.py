"""What a user does to an existing container: stop, kill, restart, pause, wait, rename,
update, prune (moby ``daemon/stop.go``, ``kill.go``, ``pause.go``, ``wait.go``...).

The engine has no daemon: these act through the runtime library and the records, and
the container's monitor notices (it records the exit, and a stop or kill marks the
record ``manual_stop`` so that its restart policy no longer applies).
"""

from __future__ import annotations

import time

from dockyard.engine import events
from dockyard.engine.containers import ContainerRecord, Status
from dockyard.errors import Conflict, DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.lifecycle import Engine

__all__ = ["kill", "pause", "prune", "rename", "restart", "stop", "unpause", "update", "wait",
           "wait_stopped"]

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
    events.container(engine.root, rec, "kill", signal=str(sig))
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
    events.container(engine.root, rec, "stop")
    return done or rec


def kill(engine: Engine, ref: str, signal: str = "KILL") -> ContainerRecord:
    from dockyard.runtime.signals import parse_signal

    rec = _running(engine, ref)
    sig = parse_signal(signal)
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
    events.container(engine.root, rec, "restart")
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
    events.container(engine.root, rec, "pause")


def unpause(engine: Engine, ref: str) -> None:
    rec = engine.refresh(engine.containers.get(ref))
    if rec.status is not Status.PAUSED:
        raise Conflict(f"Container {rec.id} is not paused")
    _thaw(engine, rec)
    events.container(engine.root, rec, "unpause")


def wait(engine: Engine, ref: str) -> int:
    """Block until the container's run ends; its exit code (a container with a restart
    policy goes on restarting). A container removed as it exits (``--rm``) leaves its
    code in its monitor's lock file for waiters."""
    import fcntl
    import os

    rec = engine.containers.get(ref)
    try:
        lock = os.open(os.path.join(rec.bundle_dir, "monitor.lock"), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        lock = -1
    try:
        done = _run_ended(engine, rec)
        if done is not None:
            return done.exit_code
        if lock < 0:
            return rec.exit_code
        fcntl.flock(lock, fcntl.LOCK_SH)  # until the monitor has finished
        text = os.pread(lock, 16, 0).decode(errors="replace").strip()
        return int(text) if text.lstrip("-").isdigit() else rec.exit_code
    finally:
        if lock >= 0:
            os.close(lock)


def _run_ended(engine: Engine, rec: ContainerRecord) -> ContainerRecord | None:
    """Wait until the current (or, for a restarting container, the next) run has ended:
    the record once it is no longer running or its monitor decided a restart (moby's
    ``SetRestarting`` wakes the waiters as ``SetStopped`` does); None if it was removed."""
    count = rec.restart_count
    delay = 0.01
    while True:
        try:
            now = engine.refresh(engine.containers.get(rec.id))
        except NotFound:
            return None
        if not now.status.is_active or now.restart_count != count:
            return now
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def rename(engine: Engine, ref: str, new_name: str) -> None:
    rec = engine.containers.get(ref)
    new = engine.containers.rename(rec.id, new_name)
    events.container(engine.root, new, "rename", oldName=f"/{rec.name}")


def update(engine: Engine, ref: str, *, memory: str | None = None,
           memory_swap: str | None = None, cpus: str | None = None,
           cpu_shares: int | None = None, pids_limit: int | None = None,
           restart: str | None = None) -> ContainerRecord:
    """``docker update``: the new limits go to the running container's cgroup (through
    the runtime), its ``HostConfig`` and its spec (kept for the next start)."""
    from dockyard.engine.restart import RestartPolicy
    from dockyard.engine.run_options import parse_cpus, parse_memory_swap, size_flag
    from dockyard.errors import InvalidArgument

    rec = engine.refresh(engine.containers.get(ref))
    hc = dict(rec.host_config)
    res: dict[str, Any] = {}
    if memory is not None or memory_swap is not None:
        mem = size_flag(memory, "--memory")
        swap = parse_memory_swap(memory_swap)
        if mem is not None and 0 < mem < 6 << 20:
            raise InvalidArgument("Minimum memory limit allowed is 6MB")
        cur_swap = int(hc.get("MemorySwap") or 0)
        if mem is not None and swap is None and cur_swap > 0 and mem > cur_swap:
            raise Conflict("Cannot update container: Memory limit should be smaller than "
                           "already set memoryswap limit, update the memoryswap at the "
                           "same time")
        new_mem = mem if mem is not None else int(hc.get("Memory") or 0)
        if swap is not None and swap > 0 and 0 < swap < new_mem:
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory "
                                  "limit, see usage")
        if swap is not None and swap > 0 and not new_mem:
            raise InvalidArgument("You should always set the Memory limit when using "
                                  "Memoryswap limit, see usage")
        res["memory"] = {}
        if mem is not None:
            hc["Memory"] = mem
            res["memory"]["limit"] = mem
        if swap is not None:
            hc["MemorySwap"] = swap
            res["memory"]["swap"] = swap
    if cpus is not None:
        nano = parse_cpus(cpus)
        hc["NanoCpus"] = nano
        res.setdefault("cpu", {}).update(
            {"quota": nano * 100000 // 10**9, "period": 100000} if nano
            else {"quota": -1, "period": 100000})
    if cpu_shares is not None:
        hc["CpuShares"] = cpu_shares
        res.setdefault("cpu", {})["shares"] = cpu_shares
    if pids_limit is not None:
        hc["PidsLimit"] = pids_limit if pids_limit > 0 else None
        res["pids"] = {"limit": pids_limit if pids_limit > 0 else -1}
    if restart is not None:
        policy = RestartPolicy.parse(restart)
        if hc.get("AutoRemove") and not policy.is_none:
            raise InvalidArgument("Restart policy cannot be updated because AutoRemove is "
                                  "enabled for the container")
        hc["RestartPolicy"] = policy.to_json()
    if res and rec.status.is_active:
        from dockyard.runtime.update import update as rt_update

        try:
            rt_update(engine.runtime_root, rec.id, res)  # type: ignore[arg-type]
        except (NotFound, Conflict):
            pass  # it exited meanwhile: the spec below applies at its next start
        except OSError as e:
            raise Conflict(f"Cannot update container {rec.id}: {e}") from None
    if res:
        _update_specs(engine, rec, res)
    return engine.containers.update_state(rec.id, host_config=hc)


def _update_specs(engine: Engine, rec: ContainerRecord, res: dict[str, Any]) -> None:
    import json
    import os

    from dockyard.oci import jsontext
    from dockyard.runtime.update import merge_resources

    for d in (rec.bundle_dir, engine.state_dir(rec.id)):
        path = os.path.join(d, "config.json")
        try:
            with open(path) as f:
                spec = json.load(f)
        except FileNotFoundError:
            continue
        merge_resources(spec.setdefault("linux", {}).setdefault("resources", {}), res)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(jsontext.dumps(spec))
        os.replace(tmp, path)


def prune(engine: Engine, until: float | None = None,
          labels: tuple[list[str], list[str]] = ([], [])) -> tuple[list[str], int]:
    """``container prune``: remove every stopped container (created, exited, dead) that
    matches; the IDs removed and the bytes their writable layers held. ``labels``:
    (``label=`` filters, ``label!=`` filters)."""
    import calendar

    removed: list[str] = []
    reclaimed = 0
    want, unwanted = labels
    svc = engine._images()
    try:
        for rec in engine.containers.all():
            rec = engine.refresh(rec)
            if rec.status.is_active or rec.status is Status.REMOVING:
                continue
            if until is not None:
                created = calendar.timegm(time.strptime(rec.created[:19],
                                                        "%Y-%m-%dT%H:%M:%S"))
                if created >= until:
                    continue
            if want and not all(_label_match(rec, f) for f in want):
                continue
            if unwanted and any(_label_match(rec, f) for f in unwanted):
                continue
            try:
                size = svc.snapshots.usage(rec.rootfs_key)
            except (NotFound, OSError):
                size = 0
            try:
                engine.remove(rec.id)
            except (NotFound, Conflict):
                continue
            removed.append(rec.id)
            reclaimed += size
    finally:
        svc.close()
    return removed, reclaimed


def _label_match(rec: ContainerRecord, flt: str) -> bool:
    key, sep, value = flt.partition("=")
    labels = rec.labels
    return key in labels and (not sep or labels[key] == value)
