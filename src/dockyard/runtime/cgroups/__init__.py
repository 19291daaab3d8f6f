"""The runtime's cgroup manager: one interface (``protocol.CgroupManager``), a driver
chosen once per process from the host's cgroup mode (STYLE rule 6; runc ``manager/new.go``).

``open_manager(cgroups_path, container_id)`` gives the manager of a container's cgroup;
``cgroup_mode()`` says "v1", "hybrid" (v1 controllers plus a controller-less cgroup2 mount,
which runc also joins) or "v2".

What is not applied, by design (each warns once on stderr, or raises where noted):

* v2 ``linux.resources.devices``: device control on v2 is an eBPF program attached to the
  cgroup (BPF_PROG_TYPE_CGROUP_DEVICE), not built yet; warned and skipped.
* v2 ``memory.swappiness`` and ``memory.disableOOMKiller``: no v2 file; warned, skipped.
* v2 per-device ``blockIO.weightDevice`` without BFQ (runc writes them only to
  io.bfq.weight); warned, skipped.
* v2 realtime CPU fields: ``Unsupported``. v1/hybrid ``unified``: ``Unsupported``.
* v1 ``memory.swap`` when ``memory.memsw.limit_in_bytes`` is missing (swap accounting
  off): warned, skipped. ``memory.kernel``/``kernelTCP``: ignored as runc does.
* The device rules written are exactly the OCI list given: the runtime adds the default
  allowed devices (/dev/null, zero, full, tty, random, urandom, ptmx, pts) before ``set``.
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.linux.errors import SyscallError
from dockyard.runtime.cgroups.fs import CgroupError
from dockyard.runtime.cgroups.paths import (
    Hierarchies,
    cgroup_dir,
    clean_path,
    detect,
    parse_proc_cgroup,
    v1_dirs,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.cgroups.protocol import CgroupManager

__all__ = ["CgroupError", "cgroup_mode", "open_manager", "prime_migration"]

_hierarchies: Hierarchies | None = None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as e:
        raise SyscallError(e.errno or errno.EIO, "read", path) from e


def _host() -> Hierarchies:
    """The host's hierarchies, parsed from /proc/self/mountinfo on first use only."""
    global _hierarchies
    if _hierarchies is None:
        _hierarchies = detect(_read("/proc/self/mountinfo"))
    return _hierarchies


def cgroup_mode() -> str:
    """ "v1", "hybrid" or "v2" for this host (decided once per process)."""
    return _host().mode


def prime_migration() -> None:
    """Start, in a thread, the wait the kernel would make at our first cgroup move.

    Moving a process between cgroups takes ``cgroup_threadgroup_rwsem`` for writing;
    the first writer after a quiet spell waits out an RCU grace period (12-15 ms on this
    kind of host; runc pays it on every container start too). A no-op move of this
    process into its own cgroup, started as the command begins, lets that wait run while
    the command imports its code and reads the bundle; the container's own move then
    finds the fast path. Best effort: any failure just leaves the wait where it was.
    """
    try:
        host = _host()
        mount = host.unified or next(iter(host.v1.values()), None)
        if mount is None:
            return
        own = parse_proc_cgroup(_read("/proc/self/cgroup"))
        key = "" if mount is host.unified else mount.controllers[0]
        procs = os.path.join(cgroup_dir(mount, own.get(key), "."), "cgroup.procs")
    except (DockyardError, OSError):
        return
    import _thread

    _thread.start_new_thread(_write_quietly, (procs, str(os.getpid())))


def _write_quietly(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


def open_manager(cgroups_path: str, container_id: str, *,
                 paths: dict[str, str] | None = None) -> CgroupManager:
    """The manager of ``linux.cgroupsPath`` (empty: ``/dockyard/<container_id>``).

    An absolute path lies under each hierarchy's root, a relative one under the caller's
    own cgroup (/proc/self/cgroup). The same arguments rebuild the same manager; a process
    whose own cgroup differs (``delete`` run elsewhere) passes the stored ``paths()``.
    """
    host = _host()
    if paths:
        return manager_from_paths(host, paths)
    path = clean_path(cgroups_path, container_id)
    own = {} if path.startswith("/") else parse_proc_cgroup(_read("/proc/self/cgroup"))
    return build_manager(host, own, path)


def build_manager(host: Hierarchies, own: dict[str, str], path: str) -> CgroupManager:
    """The driver for ``host`` with the cgroup at ``path`` (a :func:`clean_path` result);
    ``own`` is the caller's parsed /proc/self/cgroup (only read for relative paths)."""
    unified = cgroup_dir(host.unified, own.get(""), path) if host.unified else None
    if host.mode == "v2" and host.unified is not None and unified is not None:
        from dockyard.runtime.cgroups.v2 import V2Manager  # only the driver in use loads

        return V2Manager(unified, host.unified.mountpoint)
    from dockyard.runtime.cgroups.v1 import V1Manager

    return V1Manager(v1_dirs(host, own, path), unified)


def manager_from_paths(host: Hierarchies, paths: dict[str, str]) -> CgroupManager:
    """Rebuild a manager from a stored ``paths()``; each directory must lie inside the
    hierarchy it names, so a tampered state.json cannot point ``destroy`` elsewhere."""
    checked: dict[str, str] = {}
    for ctrl, d in paths.items():
        mount = host.unified if ctrl == "unified" else host.v1.get(ctrl)
        root = mount.mountpoint.rstrip("/") if mount else None
        if root is None or not d.startswith(root + "/") or "/../" in d + "/":
            raise InvalidArgument(f"cgroup: stored path {ctrl}={d} is not inside a "
                                  "mounted hierarchy")
        checked[ctrl] = d
    unified = checked.pop("unified", None)
    if host.mode == "v2" and host.unified is not None and unified is not None:
        from dockyard.runtime.cgroups.v2 import V2Manager

        return V2Manager(unified, host.unified.mountpoint)
    from dockyard.runtime.cgroups.v1 import V1Manager

    return V1Manager(checked, unified if host.mode == "hybrid" else None)
