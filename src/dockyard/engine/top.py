"""``docker top``: the processes of a container's cgroup, in ``ps -ef``'s columns.

Read from /proc (``proc(5)``: ``/proc/PID/stat`` fields 4 ppid, 7 tty_nr, 14 utime,
15 stime, 22 starttime in clock ticks since boot; ``/proc/PID/status`` ``Uid:``).
"""

from __future__ import annotations

import os
import time

from dockyard.engine.containers import Status
from dockyard.errors import Conflict, NotFound

__all__ = ["TITLES", "process_rows"]

TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]


def _users() -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    out.setdefault(int(parts[2]), parts[0])
    except OSError:
        pass
    return out


def _boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def _tty(nr: int) -> str:
    if nr == 0:
        return "?"
    major, minor = (nr >> 8) & 0xFFF, (nr & 0xFF) | ((nr >> 12) & 0xFFF00)
    if major == 136:
        return f"pts/{minor}"
    if major == 4:
        return f"tty{minor}"
    return "?"


def _cputime(secs: int) -> str:
    days, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return (f"{days}-" if days else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _row(pid: int, users: dict[int, str], hz: int, boot: float, now: float) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    ppid, tty_nr = int(fields[1]), int(fields[4])
    cpu_ticks = int(fields[11]) + int(fields[12])
    started = boot + int(fields[19]) / hz
    uid = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                break
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    elapsed = max(now - started, 1e-9)
    c = int(cpu_ticks / hz * 100 / elapsed)
    st = time.localtime(started)
    stime = (time.strftime("%H:%M", st) if time.localtime(now)[:3] == st[:3]
             else time.strftime("%b%d", st))
    return [users.get(uid, str(uid)), str(pid), str(ppid), str(c), stime, _tty(tty_nr),
            _cputime(cpu_ticks // hz), " ".join(argv) if argv else f"[{comm}]"]


def process_rows(runtime_root: str, cid: str, status: Status) -> list[list[str]]:
    """One row of :data:`TITLES` per process of the container, by pid."""
    from dockyard.runtime.state import Container

    if not status.is_active or status is Status.RESTARTING:
        raise Conflict(f"Container {cid} is not running")
    try:
        pids = sorted(Container.load(runtime_root, cid).cgroup().pids())
    except NotFound:
        raise Conflict(f"Container {cid} is not running") from None
    users, hz, boot, now = _users(), os.sysconf("SC_CLK_TCK"), _boot_time(), time.time()
    rows = []
    for pid in pids:
        try:
            rows.append(_row(pid, users, hz, boot, now))
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
    return rows
