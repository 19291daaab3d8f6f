"""File operations on cgroupfs shared by the v1 and v2 drivers.

Every failure becomes a :class:`CgroupError` naming the control file, e.g.
``cgroup: write memory.limit_in_bytes=33554432: Device or resource busy``. Run-time imports
stay at os/errno/time: the runtime's start-up pays for nothing else.
"""

from __future__ import annotations

import errno
import os
import time

from dockyard.errors import InvalidArgument
from dockyard.linux.errors import SyscallError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Memory
    from dockyard.runtime.cgroups.protocol import CgroupManager

#: <asm/signal.h> _NSIG (64) + 1: valid signals are 1..64. Checked by hand so that the
#: runtime's start-up does not import ``signal`` (and ``enum`` with it).
NSIG = 65

_warned: set[str] = set()


class CgroupError(SyscallError):
    """A failed operation on a cgroup file or directory.

    ``str()`` is ``cgroup: <op> <file>[=<value>]: <strerror>``; ``path`` keeps the full path.
    """

    def __init__(self, err: int, op: str, path: str, value: str | None = None) -> None:
        super().__init__(err, f"cgroup: {op}", path)
        name = os.path.basename(path) if op in ("write", "read") else path
        self.what = name if value is None else f"{name}={value}"

    def __str__(self) -> str:
        return f"{self.call} {self.what}: {self.strerror}"


def warn_once(key: str, message: str) -> None:
    """Print ``dockyard: warning: <message>`` on stderr, once per process per ``key``."""
    if key in _warned:
        return
    _warned.add(key)
    try:
        os.write(2, f"dockyard: warning: {message}\n".encode())
    except OSError:
        pass


def warn_kernel_memory(mem: Memory) -> None:
    """OCI memory.kernel/kernelTCP: the kernel deprecated v1 kmem limits in Linux 5.16 and
    v2 never had them; runc ignores both fields, so does dockyard (with a warning)."""
    if mem.get("kernel") or mem.get("kernelTCP"):
        warn_once("kmem", "memory.kernel/kernelTCP are deprecated by the kernel and ignored")


def write(directory: str, name: str, value: str) -> None:
    """Write ``value`` to the control file ``directory/name`` in one write(2).

    cgroupfs parses each write(2) as one command, so the value goes out in a single call and
    the file is opened without O_CREAT (a missing file is ENOENT, never a new regular file).
    """
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise CgroupError(e.errno or errno.EIO, "write", path, value) from e


def read(directory: str, name: str) -> str:
    """The content of ``directory/name``, stripped."""
    path = os.path.join(directory, name)
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError as e:
        raise CgroupError(e.errno or errno.EIO, "read", path) from e


def read_opt(directory: str, name: str) -> str | None:
    """Like :func:`read`, but ``None`` when the file does not exist, or when its cgroup
    was removed while we read it (the kernel answers ENODEV then: a monitor deleting the
    cgroup of an exited container races a ``rm -f`` reading it)."""
    try:
        return read(directory, name)
    except CgroupError as e:
        if e.errno in (errno.ENOENT, errno.ENODEV):
            return None
        raise


def parse_limit(text: str) -> int:
    """A limit as an int: ``max`` (v2) and the v1 page-counter maximum
    (PAGE_COUNTER_MAX * PAGE_SIZE, 9223372036854771712 on 4K pages) both become -1."""
    if text == "max":
        return -1
    value = int(text)
    return -1 if value >= (1 << 63) - (1 << 16) else value


def flat_keyed(text: str) -> dict[str, int]:
    """Parse a flat-keyed file (``KEY VALUE`` per line: memory.events, cpu.stat,
    memory.oom_control); lines whose value is not an integer are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def exists(directory: str, name: str) -> bool:
    return os.path.exists(os.path.join(directory, name))


def mkdir_p(path: str, attempts: int = 3) -> list[str]:
    """``mkdir -p path``; returns the directories it created, outermost first.

    An ancestor that vanishes meanwhile (another container's ``destroy`` removing the
    shared, empty ``/dockyard`` parent) gives ENOENT: the walk is then started again.
    """
    created: list[str] = []
    for attempt in range(attempts):
        missing: list[str] = []
        cur = path
        while cur != "/" and not os.path.isdir(cur):
            missing.append(cur)
            cur = os.path.dirname(cur)
        try:
            for d in reversed(missing):
                try:
                    os.mkdir(d, 0o755)
                    if d not in created:
                        created.append(d)
                except FileExistsError:
                    pass
            return created
        except OSError as e:
            if e.errno != errno.ENOENT or attempt == attempts - 1:
                raise CgroupError(e.errno or errno.EIO, "mkdir", e.filename or path) from e
    return created


def walk_dirs(path: str) -> list[str]:
    """``path`` and every directory (child cgroup) below it, deepest first."""
    out: list[str] = []
    try:
        for root, dirs, _files in os.walk(path, topdown=False):
            out.extend(os.path.join(root, d) for d in dirs)
    except OSError:
        pass
    out.append(path)
    return out


def rmdir_retry(path: str, attempts: int = 6) -> None:
    """Remove the cgroup ``path`` and its child cgroups; absent is fine.

    rmdir(2) of a cgroup fails with EBUSY while a task is still exiting (its css is not
    released yet), so it is retried with a doubling delay (10, 20, ... 320 ms), as runc does.
    """
    delay = 0.01
    for attempt in range(attempts):
        try:
            for d in walk_dirs(path):
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
            return
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or attempt == attempts - 1:
                raise CgroupError(e.errno or errno.EIO, "rmdir", path) from e
            time.sleep(delay)
            delay *= 2


def rmdir_if_empty(path: str) -> None:
    """Remove an ancestor directory we created, unless something else lives in it now."""
    try:
        os.rmdir(path)
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
            raise CgroupError(e.errno or errno.EIO, "rmdir", path) from e


def read_procs(path: str) -> list[int]:
    """Every pid in ``cgroup.procs`` of ``path`` and of its child cgroups."""
    pids: list[int] = []
    for d in walk_dirs(path):
        text = read_opt(d, "cgroup.procs")
        if text:
            pids.extend(int(p) for p in text.split())
    return sorted(set(pids))


def check_signal(sig: int) -> None:
    if not 0 < sig < NSIG:
        raise InvalidArgument(f"cgroup: invalid signal {sig}")


def signal_all(pids: list[int], sig: int) -> None:
    """kill(2) each pid; ESRCH (already gone) is not an error."""
    check_signal(sig)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        except OSError as e:
            raise SyscallError(e.errno or errno.EIO, "kill", str(pid)) from e


def destroy_dirs(dirs: list[str], created: list[str]) -> None:
    """Remove every cgroup directory in ``dirs`` (each tried even if one fails), then the
    ancestors in ``created`` that are empty now, deepest first. The first error is raised."""
    first: CgroupError | None = None
    for d in dirs:
        try:
            rmdir_retry(d)
        except CgroupError as e:
            first = first or e
    for d in sorted(created, key=len, reverse=True):
        if d not in dirs:
            try:
                rmdir_if_empty(d)
            except CgroupError as e:
                first = first or e
    if first is not None:
        raise first


def kill_all(mgr: CgroupManager, sig: int) -> None:
    """Freeze, signal every process, thaw: a frozen cgroup cannot fork new processes
    between reading cgroup.procs and the kill(2) calls (runc ``signalAllProcesses``)."""
    check_signal(sig)
    mgr.freeze()
    try:
        signal_all(mgr.pids(), sig)
    finally:
        mgr.thaw()
