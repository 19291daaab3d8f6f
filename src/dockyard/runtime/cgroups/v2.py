"""cgroup v2 driver (runc's ``fs2``): one directory in the unified hierarchy.

Device rules are not applied: on v2 the device controller is an eBPF program
(BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup, which dockyard does not build yet.
``set`` warns once and skips ``linux.resources.devices``; the container still sees only the
device nodes the runtime creates in its /dev.
"""

from __future__ import annotations

import errno
import os
import time

from dockyard.errors import Unavailable, Unsupported
from dockyard.runtime.cgroups import convert
from dockyard.runtime.cgroups import fs as cgfs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import CPU, BlockIO, Memory, Resources

FREEZE_TIMEOUT = 5.0
SIGKILL = 9  # <asm/signal.h>; a literal keeps ``signal`` (and ``enum``) out of start-up


class V2Manager:
    """A container's cgroup at ``path`` in the cgroup2 hierarchy mounted at ``mountpoint``."""

    mode = "v2"

    def __init__(self, path: str, mountpoint: str) -> None:
        self._path = path
        self._mountpoint = mountpoint.rstrip("/") or "/"
        self._created: list[str] = []

    def __repr__(self) -> str:
        return f"V2Manager({self._path!r}, mountpoint={self._mountpoint!r})"

    def paths(self) -> dict[str, str]:
        return {"unified": self._path}

    def create(self) -> None:
        """``mkdir -p``, then enable in each ancestor's cgroup.subtree_control every
        controller the root offers (runc ``CreateCgroupPath``). cgroup-v2.rst: "Resources
        are distributed top-down and a cgroup can further distribute a resource only if the
        resource has been distributed to it from the parent"; controllers that cannot be
        enabled (delegation, internal processes) are skipped, and setting them fails later
        naming the file."""
        self._created.extend(c for c in cgfs.mkdir_p(self._path) if c not in self._created)
        ctrls = (cgfs.read_opt(self._mountpoint, "cgroup.controllers") or "").split()
        if not ctrls:
            return
        cur = self._mountpoint
        for part in os.path.relpath(self._path, self._mountpoint).split("/"):
            if part in ("", ".", ".."):
                break
            self._enable(cur, ctrls)
            cur = os.path.join(cur, part)

    @staticmethod
    def _enable(d: str, ctrls: list[str]) -> None:
        try:
            cgfs.write(d, "cgroup.subtree_control", " ".join("+" + c for c in ctrls))
        except cgfs.CgroupError:
            for c in ctrls:
                try:
                    cgfs.write(d, "cgroup.subtree_control", "+" + c)
                except cgfs.CgroupError:
                    pass

    def add(self, pid: int) -> None:
        cgfs.write(self._path, "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        return cgfs.read_procs(self._path)

    def destroy(self) -> None:
        cgfs.destroy_dirs([self._path], self._created)
        self._created = []

    # -- resources --------------------------------------------------------------------------
    def set(self, resources: Resources) -> None:
        """Write resources in runc fs2's order (pids, memory, io, cpu, cpuset, unified);
        everything is validated before the first write."""
        mem = resources.get("memory") or {}
        cpu = resources.get("cpu") or {}
        if cpu.get("realtimeRuntime") or cpu.get("realtimePeriod"):
            raise Unsupported("cgroup: cgroup v2 has no realtime CPU bandwidth "
                              "(cpu.realtimeRuntime/realtimePeriod)")
        unified = resources.get("unified") or {}
        for key in unified:
            if "/" in key or key in ("", ".", ".."):
                raise Unsupported(f"cgroup: unified resource {key!r} must be a file name")
        swap = convert.swap_v2(mem.get("swap", 0) or 0, mem.get("limit", 0) or 0)
        if "devices" in resources:
            cgfs.warn_once("v2-devices", "cgroup v2 device rules need an eBPF program, "
                           "not implemented: ignoring linux.resources.devices")
        pids = resources.get("pids")
        if pids is not None:
            cgfs.write(self._path, "pids.max", convert.pids_max(pids.get("limit", 0)))
        if mem:
            self._set_memory(mem, swap)
        blkio = resources.get("blockIO")
        if blkio:
            self._set_io(blkio)
        if cpu:
            self._set_cpu(cpu)
        if cpu.get("cpus"):
            cgfs.write(self._path, "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            cgfs.write(self._path, "cpuset.mems", cpu["mems"])
        for key, value in unified.items():
            self._write_unified(key, value)

    def _set_memory(self, mem: Memory, swap: int) -> None:
        """runc fs2 ``setMemory``: memory.swap.max (swap alone, see convert.swap_v2), then
        memory.max, then memory.low. The v2 files are independent, so no ordering can fail.
        A host without swap has no memory.swap.max: "max" or "0" there is silently fine."""
        swap_str = convert.num_to_str(swap)
        if not swap_str and swap == 0 and (mem.get("swap", 0) or 0) > 0:
            swap_str = "0"  # swap == limit: no swap at all
        if swap_str:
            try:
                cgfs.write(self._path, "memory.swap.max", swap_str)
            except cgfs.CgroupError as e:
                if e.errno != errno.ENOENT or swap_str not in ("max", "0"):
                    raise
        limit = convert.num_to_str(mem.get("limit", 0) or 0)
        if limit:
            cgfs.write(self._path, "memory.max", limit)
        cgfs.warn_kernel_memory(mem)
        low = convert.num_to_str(mem.get("reservation", 0) or 0)
        if low:
            cgfs.write(self._path, "memory.low", low)
        if mem.get("swappiness", -1) not in (-1, None):
            cgfs.warn_once("v2-swappiness", "cgroup v2 has no memory.swappiness: ignoring it")
        if mem.get("disableOOMKiller"):
            cgfs.warn_once("v2-oom", "cgroup v2 cannot disable the OOM killer: "
                           "ignoring memory.disableOOMKiller")

    def _set_cpu(self, cpu: CPU) -> None:
        """cgroup-v2.rst: cpu.weight "[1, 10000]" (from shares, convert.shares_to_weight),
        cpu.max "$MAX $PERIOD" (convert.cpu_max), cpu.idle 0/1."""
        weight = convert.shares_to_weight(cpu.get("shares", 0) or 0)
        if weight:
            cgfs.write(self._path, "cpu.weight", str(weight))
        if cpu.get("idle") is not None:
            cgfs.write(self._path, "cpu.idle", str(cpu["idle"]))
        quota, period = cpu.get("quota", 0) or 0, cpu.get("period", 0) or 0
        if quota or period:
            cgfs.write(self._path, "cpu.max", convert.cpu_max(quota, period))

    def _set_io(self, b: BlockIO) -> None:
        """runc fs2 ``setIo``: with BFQ, io.bfq.weight takes the blkio weight as is (and
        ``MAJ:MIN WEIGHT`` per device); otherwise io.weight gets the converted weight and
        per-device weights are skipped. io.max gets one ``MAJ:MIN key=rate`` per write."""
        bfq = cgfs.exists(self._path, "io.bfq.weight")
        weight = b.get("weight", 0) or 0
        if weight and bfq:
            cgfs.write(self._path, "io.bfq.weight", str(weight))
        elif weight:
            cgfs.write(self._path, "io.weight", str(convert.blkio_to_io_weight(weight)))
        for wd in b.get("weightDevice", []):
            if not wd.get("weight"):
                continue
            if bfq:
                cgfs.write(self._path, "io.bfq.weight", convert.weight_device(wd))
            else:
                cgfs.warn_once("v2-weight-device", "per-device blockIO weights need the BFQ "
                               "I/O scheduler: ignoring blockIO.weightDevice")
        for devs, key in ((b.get("throttleReadBpsDevice", []), "rbps"),
                          (b.get("throttleWriteBpsDevice", []), "wbps"),
                          (b.get("throttleReadIOPSDevice", []), "riops"),
                          (b.get("throttleWriteIOPSDevice", []), "wiops")):
            for td in devs:
                cgfs.write(self._path, "io.max", convert.throttle_v2(td, key))

    def _write_unified(self, key: str, value: str) -> None:
        """OCI ``linux.resources.unified``: key is a file in the cgroup, value written as is."""
        try:
            cgfs.write(self._path, key, value)
        except cgfs.CgroupError as e:
            if e.errno != errno.ENOENT:
                raise
            ctrl = key.partition(".")[0]
            have = (cgfs.read_opt(self._path, "cgroup.controllers") or "").split()
            if ctrl not in have and ctrl != "cgroup":
                raise Unsupported(f"cgroup: unified resource {key!r} can't be set: "
                                  f"controller {ctrl!r} not available") from e
            raise

    # -- freezer ----------------------------------------------------------------------------
    def _freeze(self, on: bool) -> None:
        """cgroup-v2.rst: writing 1/0 to cgroup.freeze (re)starts freezing; "the frozen
        field of cgroup.events" becomes 1 "when the cgroup is completely frozen"."""
        if not cgfs.exists(self._path, "cgroup.freeze"):
            raise Unsupported("cgroup: cgroup.freeze is missing (kernel < 5.2)")
        cgfs.write(self._path, "cgroup.freeze", "1" if on else "0")
        want = 1 if on else 0
        deadline, delay = time.monotonic() + FREEZE_TIMEOUT, 0.001
        while True:
            events = cgfs.flat_keyed(cgfs.read(self._path, "cgroup.events"))
            if events.get("frozen", want) == want:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        if on:
            cgfs.write(self._path, "cgroup.freeze", "0")
        raise Unavailable(f"cgroup: {self._path} did not {'freeze' if on else 'thaw'} "
                          f"within {FREEZE_TIMEOUT:g}s")

    def freeze(self) -> None:
        self._freeze(True)

    def thaw(self) -> None:
        self._freeze(False)

    def kill_all(self, sig: int) -> None:
        """SIGKILL goes through cgroup.kill (kernel >= 5.14): "Writing "1" to the file
        causes the cgroup and all descendant cgroups to be killed"; other signals freeze,
        signal, thaw."""
        if sig == SIGKILL and cgfs.exists(self._path, "cgroup.kill"):
            cgfs.write(self._path, "cgroup.kill", "1")
        elif cgfs.exists(self._path, "cgroup.freeze"):
            cgfs.kill_all(self, sig)
        else:
            cgfs.signal_all(self.pids(), sig)

    # -- accounting ---------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, key in (("memory.current", "memory_usage"), ("memory.max", "memory_limit"),
                          ("memory.peak", "memory_max_usage"), ("pids.current", "pids_current"),
                          ("pids.max", "pids_limit")):
            text = cgfs.read_opt(self._path, name)
            if text:
                out[key] = cgfs.parse_limit(text)
        cpu = cgfs.read_opt(self._path, "cpu.stat")
        if cpu:
            usage = cgfs.flat_keyed(cpu).get("usage_usec")
            if usage is not None:
                out["cpu_usage_ns"] = usage * 1000
        io = cgfs.read_opt(self._path, "io.stat")
        if io is not None:
            rd = wr = 0
            for line in io.splitlines():
                for field in line.split()[1:]:
                    k, _, v = field.partition("=")
                    if k == "rbytes" and v.isdigit():
                        rd += int(v)
                    elif k == "wbytes" and v.isdigit():
                        wr += int(v)
            out["blkio_read_bytes"], out["blkio_write_bytes"] = rd, wr
        return out

    def oom_kill_count(self) -> int:
        """cgroup-v2.rst memory.events: "oom_kill The number of processes belonging to this
        cgroup killed by any kind of OOM killer"."""
        return cgfs.flat_keyed(cgfs.read(self._path, "memory.events")).get("oom_kill", 0)
