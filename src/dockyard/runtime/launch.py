"""Starting a process inside a container's namespaces, and sealing the interpreter first.

The parent forks **stage 1**, which joins the namespaces given by path, creates a user
namespace if asked (the parent writes its maps), unshares the other new namespaces, and
forks the **init**, the first process in the new pid namespace. The init re-executes
the Python interpreter from a read-only bind mount in its private mount namespace before
it does anything else: a container that makes its process exec ``/proc/self/exe`` (the
attack of CVE-2019-5736) then reaches an interpreter it cannot write. After the re-exec
the init runs :mod:`dockyard.runtime.init` with the plan the parent wrote to a memfd.

The parent becomes a child subreaper so the init, orphaned when stage 1 exits, is
re-parented to it while it runs (``run`` and ``exec`` wait for it).
"""

from __future__ import annotations

import marshal
import os
import sys

from dockyard.errors import DockyardError
from dockyard.linux import mount as mnt
from dockyard.linux import namespaces as ns
from dockyard.linux import process as proc
from dockyard.runtime import protocol as msg

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dockyard.oci.runtime_types import IDMapping, Process
    from dockyard.runtime.cgroups.protocol import CgroupManager


class InitFailed(DockyardError):
    """The container's init (or stage 1) reported a failure."""


#: The order namespaces are joined in: the user namespace first (it grants the
#: capabilities to join the others), the mount namespace last (paths change after it).
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def _bootstrap_argv(sync_fd: int, plan_fd: int) -> list[str]:
    import dockyard

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__)))
    code = (f"import sys;sys.path.insert(0,{pkg_parent!r});"
            "from dockyard.runtime.init import main;main()")
    return ["dockyard-init", "-I", "-S", "-c", code, str(sync_fd), str(plan_fd)]


def interpreter() -> str:
    """The real interpreter binary (not a venv symlink), so the re-exec finds its stdlib."""
    return os.path.realpath(os.readlink("/proc/self/exe"))


def seal_interpreter(exe: str) -> None:
    """Bind-mount the interpreter read-only over itself (this mount namespace only)."""
    mnt.mount(exe, exe, None, mnt.MS_BIND)
    mnt.mount(None, exe, None, mnt.MS_BIND | mnt.MS_REMOUNT | mnt.MS_RDONLY | mnt.MS_NODEV)


def _write_plan(plan: dict[str, Any]) -> int:
    fd = os.memfd_create("dockyard-plan", os.MFD_CLOEXEC)
    os.write(fd, marshal.dumps(plan))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _stage1(sock: int, plan_fd: int, join: list[tuple[str, str]], new_flags: int) -> None:
    """Runs in the forked child; never returns."""
    try:
        tag, _ = msg.recv(sock)
        if tag != msg.GO:
            os._exit(1)
        fds = [(kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC), path)
               for kind, path in sorted(join, key=lambda j: JOIN_ORDER.index(j[0]))]
        for kind, fd, path in fds:
            ns.setns(fd, ns.NAMESPACES[kind][0], path=path)
            os.close(fd)
        if new_flags & ns.CLONE_NEWUSER:
            ns.unshare(ns.CLONE_NEWUSER)
            msg.send(sock, msg.MAPS)
            tag, _ = msg.recv(sock)
            if tag != msg.OK:
                os._exit(1)
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        # The cgroup namespace is unshared later, by the init, once the parent has put it
        # in its cgroup: the namespace's root is the cgroup current at unshare time.
        ns.unshare(new_flags & ~(ns.CLONE_NEWUSER | ns.CLONE_NEWCGROUP))
        pid = os.fork()
        if pid == 0:
            _exec_init(sock, plan_fd, new_flags)
        msg.send(sock, msg.PID, str(pid).encode())
        os._exit(0)
    except BaseException as e:  # report, never unwind into the parent's code
        try:
            msg.send(sock, msg.ERROR, str(e).encode())
        finally:
            os._exit(1)


def _exec_init(sock: int, plan_fd: int, new_flags: int) -> None:
    exe = interpreter()
    if new_flags & ns.CLONE_NEWNS:
        # Slave to the host's mounts, so the sealing mount never propagates back; the init
        # applies the spec's rootfsPropagation after the re-exec.
        mnt.mount(None, "/", None, mnt.MS_REC | mnt.MS_SLAVE)
        seal_interpreter(exe)
    os.set_inheritable(sock, True)
    os.set_inheritable(plan_fd, True)
    os.execv(exe, _bootstrap_argv(sock, plan_fd))


def cap_masks(process: Process) -> dict[str, int] | None:
    """The five capability sets as masks, computed here so that warnings about caps this
    kernel lacks reach the runtime's stderr, not the container's."""
    caps = process.get("capabilities")
    if caps is None:
        return None
    from dockyard.runtime.capabilities import caps_to_mask

    return {"bounding": caps_to_mask(caps.get("bounding", [])),
            "effective": caps_to_mask(caps.get("effective", [])),
            "permitted": caps_to_mask(caps.get("permitted", [])),
            "inheritable": caps_to_mask(caps.get("inheritable", [])),
            "ambient": caps_to_mask(caps.get("ambient", []))}


class Launched:
    """The parent's handle on a started init: its pid and the sync socket."""

    def __init__(self, pid: int, sock: int) -> None:
        self.pid = pid
        self.sock = sock
        #: messages the init sent before stage 1 reported its pid (rare, but legal)
        self.pending: list[tuple[bytes, bytes]] = []

    def recv(self) -> tuple[bytes, bytes]:
        return self.pending.pop(0) if self.pending else msg.recv(self.sock)

    def close(self) -> None:
        if self.sock >= 0:
            os.close(self.sock)
            self.sock = -1


def join_cgroup(launched: Launched, cgroup: CgroupManager) -> None:
    """Move the init into the container's cgroup, then let it go on.

    The first migration into a v1 cgroup waits out an RCU grace period (~10 ms here,
    for runc too); the init's interpreter starts meanwhile, and waits for CGROUP_DONE
    before it forks, execs or unshares its cgroup namespace.
    """
    cgroup.add(launched.pid)
    msg.send(launched.sock, msg.CGROUP_DONE)


def write_id_maps(pid: int, uid_maps: list[IDMapping], gid_maps: list[IDMapping]) -> None:
    """/proc/PID/{uid,gid}_map, one "inside outside count" line per mapping."""
    for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
        text = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(text)


def launch(plan: dict[str, Any], *, join: list[tuple[str, str]], new_flags: int,
           uid_maps: list[IDMapping] | None = None, gid_maps: list[IDMapping] | None = None,
           before_go: Callable[[int], None] | None = None) -> Launched:
    """Fork stage 1, let it build the namespaces, and return the init's pid.

    ``before_go(stage1_pid)`` runs while stage 1 waits: the parent sets its rlimits and
    OOM score there, so everything it forks inherits them. The caller then puts the init
    in its cgroup and sends CGROUP_DONE (see :func:`join_cgroup`).
    """
    import socket

    proc.prctl(proc.PR_SET_CHILD_SUBREAPER, 1)
    plan["debug"] = bool(os.environ.get("DOCKYARD_RUNTIME_DEBUG"))
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    plan_fd = _write_plan(plan)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        parent_sock.close()
        _stage1(child_sock.detach(), plan_fd, join, new_flags)
    child_sock.close()
    os.close(plan_fd)
    sock = parent_sock.detach()
    launched = Launched(-1, sock)
    try:
        if before_go is not None:
            before_go(pid)
        msg.send(sock, msg.GO)
        while launched.pid < 0:
            tag, payload = msg.recv(sock)
            if tag == msg.MAPS:
                write_id_maps(pid, uid_maps or [], gid_maps or [])
                msg.send(sock, msg.OK)
            elif tag == msg.PID:
                launched.pid = int(payload)
            elif tag == msg.ERROR:
                raise InitFailed(payload.decode(errors="replace"))
            elif tag:
                launched.pending.append((tag, payload))
            else:
                raise InitFailed("container init exited before it started")
    except BaseException:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        launched.close()
        raise
    os.waitpid(pid, 0)
    return launched
