"""cgroup v1 driver (runc's ``fs`` driver), also used on hybrid hosts.

One directory per mounted controller hierarchy; on a hybrid host the process is also placed
in the (controller-less) cgroup2 hierarchy, as runc does, so tools reading the unified
tree (systemd, ``/proc/PID/cgroup`` "0::") see the container.
"""

from __future__ import annotations

import errno
import os
import time

from dockyard.errors import InvalidArgument, Unavailable, Unsupported
from dockyard.runtime.cgroups import convert
from dockyard.runtime.cgroups import fs as cgfs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import CPU, BlockIO, Memory, Resources

MEMSW = "memory.memsw.limit_in_bytes"
_MEMORY_KEYS = ("limit", "reservation", "swap", "disableOOMKiller", "swappiness")
_CPU_KEYS = ("shares", "quota", "period", "realtimeRuntime", "realtimePeriod")


class V1Manager:
    """A container's cgroup on a v1 (``unified`` None) or hybrid host."""

    def __init__(self, dirs: dict[str, str], unified: str | None = None) -> None:
        self._dirs = dict(dirs)
        self._unified = unified
        self._created: list[str] = []
        self.mode = "hybrid" if unified else "v1"

    def __repr__(self) -> str:
        return f"V1Manager({self._dirs!r}, unified={self._unified!r})"

    # -- layout ---------------------------------------------------------------------------
    def paths(self) -> dict[str, str]:
        out = dict(self._dirs)
        if self._unified:
            out["unified"] = self._unified
        return out

    def _all_dirs(self) -> list[str]:
        seen = list(dict.fromkeys(self._dirs.values()))
        if self._unified and self._unified not in seen:
            seen.append(self._unified)
        return seen

    def _dir(self, controller: str) -> str:
        try:
            return self._dirs[controller]
        except KeyError:
            raise Unsupported(f"cgroup: the {controller} controller is not mounted "
                              "on this host") from None

    def create(self) -> None:
        for d in self._all_dirs():
            self._created.extend(c for c in cgfs.mkdir_p(d) if c not in self._created)
        if "cpuset" in self._dirs:
            _cpuset_ensure(self._dirs["cpuset"])

    def add(self, pid: int) -> None:
        for d in self._all_dirs():
            cgfs.write(d, "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        for c in ("pids", "freezer", "memory", "devices", "cpu"):
            if c in self._dirs:
                return cgfs.read_procs(self._dirs[c])
        dirs = self._all_dirs()
        return cgfs.read_procs(dirs[0]) if dirs else []

    def destroy(self) -> None:
        cgfs.destroy_dirs(self._all_dirs(), self._created)
        self._created = []

    # -- resources --------------------------------------------------------------------------
    def set(self, resources: Resources) -> None:
        """Write resources controller by controller in runc's order (cpuset, devices,
        memory, cpu, pids, blkio); everything is validated before the first write."""
        if resources.get("unified"):
            raise Unsupported("cgroup: linux.resources.unified needs cgroup v2; this host "
                              f"is {self.mode}")
        mem = resources.get("memory") or {}
        if mem.get("swappiness", -1) not in (-1, None):
            convert.swappiness(mem["swappiness"])
        cpu = resources.get("cpu") or {}
        rules = [convert.device_rule(r) for r in resources.get("devices", [])]
        for ctrl, wanted in (("cpuset", cpu.get("cpus") or cpu.get("mems")),
                             ("devices", "devices" in resources),
                             ("memory", any(mem.get(k) for k in _MEMORY_KEYS)),
                             ("cpu", any(cpu.get(k) for k in _CPU_KEYS)
                              or cpu.get("idle") is not None),
                             ("pids", "pids" in resources),
                             ("blkio", bool(resources.get("blockIO")))):
            if wanted:
                self._dir(ctrl)
        if cpu.get("cpus"):
            cgfs.write(self._dir("cpuset"), "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            cgfs.write(self._dir("cpuset"), "cpuset.mems", cpu["mems"])
        if "devices" in resources:
            self._set_devices(rules)
        if mem:
            self._set_memory(mem)
        if cpu:
            self._set_cpu(cpu)
        pids = resources.get("pids")
        if pids is not None:
            cgfs.write(self._dir("pids"), "pids.max", convert.pids_max(pids.get("limit", 0)))
        blkio = resources.get("blockIO")
        if blkio:
            self._set_blkio(blkio)

    def _set_devices(self, rules: list[tuple[str, str]]) -> None:
        """cgroup-v1 devices.rst: "echo a > devices.deny" denies all, then each rule (from
        convert.device_rule) is written in order to devices.allow or devices.deny."""
        d = self._dir("devices")
        cgfs.write(d, "devices.deny", "a")
        for name, line in rules:
            cgfs.write(d, name, line)

    def _set_memory(self, mem: Memory) -> None:
        """runc ``setMemoryAndSwap``. cgroup-v1 memory.rst: memsw.limit_in_bytes (memory+
        swap) may never drop below limit_in_bytes, so when both change, memsw goes first if
        it grows past the current limit (or becomes unlimited), else memory goes first."""
        d = self._dir("memory")
        limit, swap = mem.get("limit", 0) or 0, mem.get("swap", 0) or 0
        has_memsw = cgfs.exists(d, MEMSW)
        if limit == -1 and swap == 0 and has_memsw:
            swap = -1
        if swap != 0 and not has_memsw:
            cgfs.warn_once(MEMSW, f"{MEMSW} is missing (swap accounting is off): "
                           "ignoring memory.swap")
            swap = 0
        swap_first = False
        if limit != 0 and swap != 0:
            current = int(cgfs.read(d, "memory.limit_in_bytes"))
            swap_first = swap == -1 or current < swap
        if swap_first:
            cgfs.write(d, MEMSW, str(swap))
        if limit != 0:
            cgfs.write(d, "memory.limit_in_bytes", str(limit))
        if swap != 0 and not swap_first:
            cgfs.write(d, MEMSW, str(swap))
        cgfs.warn_kernel_memory(mem)
        if mem.get("reservation"):
            cgfs.write(d, "memory.soft_limit_in_bytes", str(mem["reservation"]))
        if mem.get("disableOOMKiller"):
            cgfs.write(d, "memory.oom_control", "1")
        if mem.get("swappiness", -1) not in (-1, None):
            cgfs.write(d, "memory.swappiness", convert.swappiness(mem["swappiness"]))

    def _set_cpu(self, cpu: CPU) -> None:
        """runc fs ``CpuGroup.Set``. sched-bwc.rst: a period the kernel rejects (EINVAL:
        old quota / new period would exceed the parent's bandwidth) is retried after the
        quota; the realtime pair follows the same rule."""
        if not any(cpu.get(k) for k in _CPU_KEYS) and cpu.get("idle") is None:
            return
        d = self._dir("cpu")
        shares = cpu.get("shares", 0) or 0
        if shares:
            cgfs.write(d, "cpu.shares", str(shares))
            got = int(cgfs.read(d, "cpu.shares"))
            if got != shares:
                bound = "maximum" if shares > got else "minimum"
                raise InvalidArgument(f"cgroup: cpu.shares {shares}: the {bound} allowed "
                                      f"is {got}")
        _write_pair(d, "cpu.cfs_period_us", cpu.get("period", 0) or 0,
                    "cpu.cfs_quota_us", cpu.get("quota", 0) or 0)
        if cpu.get("idle") is not None:
            cgfs.write(d, "cpu.idle", str(cpu["idle"]))
        _write_pair(d, "cpu.rt_period_us", cpu.get("realtimePeriod", 0) or 0,
                    "cpu.rt_runtime_us", cpu.get("realtimeRuntime", 0) or 0)

    def _set_blkio(self, b: BlockIO) -> None:
        """runc fs ``BlkioGroup.Set``: blkio.weight (CFQ) or blkio.bfq.weight (BFQ),
        whichever exists; throttle lines are ``MAJOR:MINOR RATE``."""
        d = self._dir("blkio")
        prefix = "blkio." if cgfs.exists(d, "blkio.weight") else "blkio.bfq."
        wants_weight = b.get("weight") or any(w.get("weight") for w in b.get("weightDevice", []))
        if wants_weight and not cgfs.exists(d, prefix + "weight"):
            raise Unsupported("cgroup: blockIO weight needs the CFQ or BFQ I/O scheduler "
                              f"(no blkio.weight or blkio.bfq.weight in {d})")
        if b.get("weight"):
            cgfs.write(d, prefix + "weight", str(b["weight"]))
        if b.get("leafWeight"):
            cgfs.write(d, "blkio.leaf_weight", str(b["leafWeight"]))
        for wd in b.get("weightDevice", []):
            if wd.get("weight"):
                cgfs.write(d, prefix + "weight_device", convert.weight_device(wd))
            if wd.get("leafWeight"):
                cgfs.write(d, "blkio.leaf_weight_device",
                           convert.weight_device(wd, "leafWeight"))
        for devs, name in ((b.get("throttleReadBpsDevice", []), "read_bps_device"),
                           (b.get("throttleWriteBpsDevice", []), "write_bps_device"),
                           (b.get("throttleReadIOPSDevice", []), "read_iops_device"),
                           (b.get("throttleWriteIOPSDevice", []), "write_iops_device")):
            for td in devs:
                cgfs.write(d, "blkio.throttle." + name, convert.throttle_v1(td))

    # -- freezer ----------------------------------------------------------------------------
    def freeze(self) -> None:
        """cgroup-v1 freezer-subsystem.rst: write FROZEN, read freezer.state until it says
        FROZEN (FREEZING means "in progress"). As runc, rewrite FROZEN while FREEZING, with
        an occasional thaw and 10 ms pause; after 1000 tries thaw and give up."""
        d = self._dir("freezer")
        try:
            for i in range(1000):
                if i % 50 == 49:
                    cgfs.write(d, "freezer.state", "THAWED")
                    time.sleep(0.01)
                cgfs.write(d, "freezer.state", "FROZEN")
                if i % 25 == 24:
                    time.sleep(0.00001)
                state = cgfs.read(d, "freezer.state")
                if state == "FROZEN":
                    return
                if state != "FREEZING":
                    raise Unavailable(f"cgroup: unexpected freezer.state {state} in {d}")
            raise Unavailable(f"cgroup: could not freeze {d}: still FREEZING")
        except BaseException:
            try:
                cgfs.write(d, "freezer.state", "THAWED")
            except cgfs.CgroupError:
                pass
            raise

    def thaw(self) -> None:
        cgfs.write(self._dir("freezer"), "freezer.state", "THAWED")

    def kill_all(self, sig: int) -> None:
        if "freezer" in self._dirs:
            cgfs.kill_all(self, sig)
        else:
            cgfs.signal_all(self.pids(), sig)

    # -- accounting ---------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        files = (("memory", "memory.usage_in_bytes", "memory_usage"),
                 ("memory", "memory.limit_in_bytes", "memory_limit"),
                 ("memory", "memory.max_usage_in_bytes", "memory_max_usage"),
                 ("cpuacct", "cpuacct.usage", "cpu_usage_ns"),
                 ("pids", "pids.current", "pids_current"),
                 ("pids", "pids.max", "pids_limit"))
        for ctrl, name, key in files:
            if ctrl in self._dirs:
                text = cgfs.read_opt(self._dirs[ctrl], name)
                if text:
                    out[key] = cgfs.parse_limit(text)
        if "blkio" in self._dirs:
            out.update(_blkio_bytes(self._dirs["blkio"]))
        return out

    def oom_kill_count(self) -> int:
        """cgroup-v1 memory.rst: memory.oom_control shows ``oom_kill`` (kernel >= 4.13)."""
        return cgfs.flat_keyed(cgfs.read(self._dir("memory"), "memory.oom_control")).get(
            "oom_kill", 0)


def _write_pair(d: str, period_file: str, period: int, value_file: str, value: int) -> None:
    """Write a period and the runtime/quota it bounds: a period rejected with EINVAL is
    retried once the value is in (runc ``CpuGroup.Set`` / ``SetRtSched``)."""
    pending = ""
    if period:
        try:
            cgfs.write(d, period_file, str(period))
        except cgfs.CgroupError as e:
            if e.errno != errno.EINVAL or not value:
                raise
            pending = str(period)
    if value:
        cgfs.write(d, value_file, str(value))
        if pending:
            cgfs.write(d, period_file, pending)


def _cpuset_ensure(d: str) -> None:
    """cgroup-v1 cpusets.rst: a task cannot join a cpuset whose cpuset.cpus or cpuset.mems
    is empty, and a new cpuset starts empty. Copy both from the parent, filling empty
    ancestors first (runc ``cpusetEnsureParent`` / ``cpusetCopyIfNeeded``)."""
    parent = os.path.dirname(d)
    for name in ("cpuset.cpus", "cpuset.mems"):
        if cgfs.read_opt(d, name) != "":
            continue
        if cgfs.read_opt(parent, name) == "":
            _cpuset_ensure(parent)
        value = cgfs.read_opt(parent, name)
        if value:
            cgfs.write(d, name, value)


def _blkio_bytes(d: str) -> dict[str, int]:
    """Sum the per-device ``MAJ:MIN Read|Write BYTES`` lines of io_service_bytes."""
    for name in ("blkio.throttle.io_service_bytes_recursive", "blkio.io_service_bytes_recursive",
                 "blkio.throttle.io_service_bytes"):
        text = cgfs.read_opt(d, name)
        if text is not None:
            break
    else:
        return {}
    read = write = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("Read", "Write") and parts[2].isdigit():
            if parts[1] == "Read":
                read += int(parts[2])
            else:
                write += int(parts[2])
    return {"blkio_read_bytes": read, "blkio_write_bytes": write}
