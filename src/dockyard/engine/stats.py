"""``docker stats``: resource usage of running containers, from their cgroups (v1 memory,
cpuacct, blkio, pids; or the v2 files) and ``/proc/PID/net/dev`` (moby
``daemon/stats``; docker/cli ``command/container/stats_helpers.go`` for the figures).

CPU % is Docker's: the container's CPU time over the host's (``/proc/stat``) between two
samples, times the online CPUs. Memory usage leaves out the inactive page cache
(``total_inactive_file`` on v1, ``inactive_file`` on v2), as docker 20.10's CLI does; a
container without a memory limit shows the host's memory as its limit.
"""

from __future__ import annotations

import os
import time

from dockyard.errors import DockyardError
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine

__all__ = ["Sample", "StatsRow", "row", "sample"]


@record(frozen=True)
class Sample:
    """One reading of one container; zeros for a container that does not run."""

    cpu_ns: int = 0
    system_ns: int = 0
    online_cpus: int = 1
    mem_usage: int = 0
    mem_limit: int = 0
    net_rx: int = 0
    net_tx: int = 0
    blk_read: int = 0
    blk_write: int = 0
    pids: int = 0
    running: bool = False


def _system_ns() -> int:
    """The host's CPU time: the ``cpu`` line of /proc/stat, in ns (USER_HZ = 100)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                return sum(int(x) for x in line.split()[1:8]) * 10_000_000
    return 0


def _host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _net(pid: int) -> tuple[int, int]:
    """Bytes received and sent by the container's interfaces but ``lo``."""
    rx = tx = 0
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if name.strip() == "lo" or len(fields) < 9:
            continue
        rx += int(fields[0])
        tx += int(fields[8])
    return rx, tx


def _inactive_file(paths: dict[str, str]) -> int:
    for key, field in (("memory", "total_inactive_file"), ("unified", "inactive_file")):
        d = paths.get(key)
        if not d:
            continue
        try:
            with open(os.path.join(d, "memory.stat")) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == field:
                        return int(v)
        except OSError:
            continue
    return 0


def sample(engine: Engine, rec: ContainerRecord) -> Sample:
    """Read the container's figures now."""
    from dockyard.runtime.state import Container

    if not rec.status.is_active or rec.pid <= 0:
        return Sample()
    try:
        cg = Container.load(engine.runtime_root, rec.id).cgroup()
        st = cg.stats()
        paths = cg.paths()
    except (DockyardError, OSError, KeyError):
        return Sample()
    usage = st.get("memory_usage", 0)
    usage = max(0, usage - _inactive_file(paths)) if usage > 0 else 0
    limit = st.get("memory_limit", -1)
    host = _host_memory()
    if limit <= 0 or limit > host:
        limit = host
    rx, tx = _net(rec.pid)
    return Sample(cpu_ns=st.get("cpu_usage_ns", 0), system_ns=_system_ns(),
                  online_cpus=len(os.sched_getaffinity(0)) or 1, mem_usage=usage,
                  mem_limit=limit, net_rx=rx, net_tx=tx,
                  blk_read=st.get("blkio_read_bytes", 0),
                  blk_write=st.get("blkio_write_bytes", 0),
                  pids=max(0, st.get("pids_current", 0)), running=True)


def cpu_percent(prev: Sample | None, cur: Sample) -> float:
    """docker/cli ``calculateCPUPercentUnix``."""
    if prev is None or not cur.running:
        return 0.0
    cpu = cur.cpu_ns - prev.cpu_ns
    system = cur.system_ns - prev.system_ns
    if cpu > 0 and system > 0:
        return cpu / system * cur.online_cpus * 100.0
    return 0.0


# --- Docker's units (go-units) ----------------------------------------------------------

def _custom(size: float, base: float, units: tuple[str, ...], precision: int) -> str:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{size:.{precision}g}{units[i]}"


def bytes_size(n: float) -> str:
    """go-units ``BytesSize``: ``1.5MiB``."""
    return _custom(n, 1024.0, ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"), 4)


def human_size(n: float) -> str:
    """go-units ``HumanSizeWithPrecision(n, 3)``: ``1.45kB``."""
    return _custom(n, 1000.0, ("B", "kB", "MB", "GB", "TB", "PB", "EB"), 3)


@record(frozen=True)
class StatsRow:
    """The fields a stats template can use (docker/cli ``statsContext``)."""

    Container: str
    ID: str
    Name: str
    CPUPerc: str
    MemUsage: str
    MemPerc: str
    NetIO: str
    BlockIO: str
    PIDs: str


HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME",
           "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
           "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}

DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                  "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")


def row(rec: ContainerRecord, shown: str, prev: Sample | None, cur: Sample,
        no_trunc: bool = False) -> StatsRow:
    mem_pct = cur.mem_usage / cur.mem_limit * 100.0 if cur.mem_limit else 0.0
    return StatsRow(
        Container=shown, ID=rec.id if no_trunc else rec.id[:12], Name=rec.name or "--",
        CPUPerc=f"{cpu_percent(prev, cur):.2f}%",
        MemUsage=f"{bytes_size(cur.mem_usage)} / {bytes_size(cur.mem_limit)}",
        MemPerc=f"{mem_pct:.2f}%",
        NetIO=f"{human_size(cur.net_rx)} / {human_size(cur.net_tx)}",
        BlockIO=f"{human_size(cur.blk_read)} / {human_size(cur.blk_write)}",
        PIDs=str(cur.pids))


def wait_interval(seconds: float = 1.0) -> None:
    time.sleep(seconds)
