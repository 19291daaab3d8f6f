"""Starting a process inside a container's namespaces, from a sealed interpreter.

The parent forks a child that first makes itself a private mount namespace, bind-mounts
the Python interpreter read-only over itself there, and re-executes it: every process
the runtime later puts in a container runs from an interpreter the container cannot
write, so a container that makes it exec ``/proc/self/exe`` (CVE-2019-5736) reaches a
read-only file. The re-executed **stage 1** (:func:`dockyard.runtime.init.main`) loads
everything it will need while the host's files are still in reach, joins the namespaces
given by path, creates a user namespace if asked (the parent writes its maps), unshares
the other new namespaces and forks the **init** (or, for ``exec``, the new process).

Meanwhile the parent sets stage 1's rlimits and OOM score and moves it into the
container's cgroup (the first migration into a v1 cgroup waits out an RCU grace period,
~10 ms, which overlaps the interpreter's start-up); everything stage 1 forks inherits
them. The parent is a child subreaper, so the init, orphaned when stage 1 exits, is
re-parented to it while it runs (``run`` and ``exec`` wait for it).
"""

from __future__ import annotations

import marshal
import os
import sys

from dockyard.errors import DockyardError
from dockyard.runtime import protocol as msg

# The syscall modules (ctypes: milliseconds) are imported where they are used: the
# runtime's command forks stage 1 before it loads anything heavy (see spawn), and the
# child imports them while the parent goes on.

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dockyard.oci.runtime_types import IDMapping, Process


class InitFailed(DockyardError):
    """The container's init (or stage 1) reported a failure."""


#: The order namespaces are joined in: the user namespace first (it grants the
#: capabilities to join the others), the mount namespace last (paths change after it).
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def _bootstrap_argv(sync_fd: int, plan_fd: int, host_mnt_fd: int) -> list[str]:
    import dockyard

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__)))
    code = (f"import sys;sys.path.insert(0,{pkg_parent!r});"
            "from dockyard.runtime.init import main;main()")
    return ["dockyard-init", "-I", "-S", "-c", code, str(sync_fd), str(plan_fd),
            str(host_mnt_fd)]


def interpreter() -> str:
    """The real interpreter binary (not a venv symlink), so the re-exec finds its stdlib."""
    return os.path.realpath(os.readlink("/proc/self/exe"))


def seal_interpreter(exe: str) -> None:
    """Bind-mount the interpreter read-only over itself (this mount namespace only).

    The remount repeats the flags the original mount has: the kernel refuses a remount
    that would clear a flag locked by the mount's owner.
    """
    from dockyard.linux import mount as mnt
    from dockyard.runtime.mountopts import locked_flags

    mnt.mount(exe, exe, None, mnt.MS_BIND)
    mnt.mount(None, exe, None, mnt.MS_BIND | mnt.MS_REMOUNT | mnt.MS_RDONLY
              | locked_flags(os.statvfs(exe).f_flag))


def _seal_and_exec(sock: int, plan_fd: int) -> None:
    """In the forked child: private mounts, sealed interpreter, re-exec. Never returns."""
    try:
        from dockyard.linux import mount as mnt
        from dockyard.linux import namespaces as ns

        exe = interpreter()
        host_mnt = os.open("/proc/self/ns/mnt", os.O_RDONLY)
        # Our fds must not sit on 0-2 (the parent's stdio may be closed): stage 1 puts the
        # parent's stdio there at GO.
        sock, plan_fd, host_mnt = (above_stdio(fd) for fd in (sock, plan_fd, host_mnt))
        ns.unshare(ns.CLONE_NEWNS)
        # Slave to the host's mounts, so the sealing mount never propagates back.
        mnt.mount(None, "/", None, mnt.MS_REC | mnt.MS_SLAVE)
        seal_interpreter(exe)
        for fd in (sock, plan_fd, host_mnt):
            os.set_inheritable(fd, True)
        os.execv(exe, _bootstrap_argv(sock, plan_fd, host_mnt))
    except BaseException as e:  # report, never unwind into the parent's code
        try:
            msg.send(sock, msg.ERROR, f"sealing the runtime: {e}".encode())
        finally:
            os._exit(1)


def above_stdio(fd: int) -> int:
    """``fd``, or (if it is 0-2) a close-on-exec copy of it at 3 or above, ``fd`` closed."""
    if fd > 2:
        return fd
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return moved


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

    def send(self, tag: bytes, payload: bytes = b"") -> None:
        """Send to the init; if it is gone, raise the reason it left behind."""
        try:
            msg.send(self.sock, tag, payload)
        except (BrokenPipeError, ConnectionResetError):
            while True:
                got, text = self.recv()
                if got == msg.ERROR:
                    raise InitFailed(text.decode(errors="replace")) from None
                if not got:
                    raise InitFailed("container init exited unexpectedly") from None

    def close(self) -> None:
        if self.sock >= 0:
            os.close(self.sock)
            self.sock = -1


def write_id_maps(pid: int, uid_maps: list[IDMapping], gid_maps: list[IDMapping]) -> None:
    """/proc/PID/{uid,gid}_map, one "inside outside count" line per mapping."""
    for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
        text = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(text)


def await_init_pid(launched: Launched, write_maps: Callable[[], None]) -> None:
    """Serve stage 1 until it reports the init's pid. The init may speak first (stage 1
    can be descheduled right after its fork): such messages wait in ``pending``."""
    while launched.pid < 0:
        tag, payload = msg.recv(launched.sock)  # not .recv(): that would replay pending
        if tag == msg.MAPS:
            write_maps()
            launched.send(msg.OK)
        elif tag == msg.PID:
            launched.pid = int(payload)
        elif tag == msg.ERROR:
            raise InitFailed(payload.decode(errors="replace"))
        elif tag:
            launched.pending.append((tag, payload))
        else:
            raise InitFailed("container init exited before it started")


class Spawned:
    """Stage 1, forked early: it seals and starts its interpreter while the parent
    prepares the cgroup and the plan (the two take about as long; they overlap)."""

    def __init__(self, pid: int, sock: int, plan_fd: int) -> None:
        self.pid = pid
        self.sock = sock
        self.plan_fd = plan_fd

    def abort(self) -> None:
        """Kill and reap stage 1 (and close our ends) when the create fails before GO;
        nothing once :func:`launch` has used it or it was aborted already."""
        if self.pid > 0:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = -1
        for fd in (self.sock, self.plan_fd):
            if fd >= 0:
                os.close(fd)
        self.sock = self.plan_fd = -1


def spawn() -> Spawned:
    """Fork stage 1 now. It inherits every fd marked inheritable at this point (the
    ``--preserve-fds`` range); stdio and the fds the plan names travel with GO instead,
    so stage 1 may be forked long before the parent has them (see :func:`launch`)."""
    import _socket

    parent_sock, child_sock = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    plan_fd = os.memfd_create("dockyard-plan", os.MFD_CLOEXEC)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: the fd was closed when Python started
            stream.flush()
    pid = os.fork()
    if pid == 0:
        parent_sock.close()
        _seal_and_exec(child_sock.detach(), plan_fd)
    child_sock.close()
    return Spawned(pid, parent_sock.detach(), plan_fd)


#: The stdio fds GO carries: stage 1 puts them on 0-2, where the init inherits them.
STDIO = ("stdin", "stdout", "stderr")


def _send_go(sock: int, fds: list[int]) -> None:
    """GO, with ``fds`` attached (SCM_RIGHTS)."""
    import _socket

    s = _socket.socket(fileno=sock)
    try:
        s.sendmsg([msg.GO], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                              b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds))])
    finally:
        s.detach()


def launch(spawned: Spawned, plan: dict[str, Any], *, uid_maps: list[IDMapping] | None = None,
           gid_maps: list[IDMapping] | None = None,
           before_go: Callable[[int], None] | None = None,
           fds: dict[str, int] | None = None) -> Launched:
    """Hand ``plan`` to stage 1 and return once it reports the init's pid.

    ``plan["join"]`` lists (kind, path) namespaces to join; ``plan["new_flags"]`` the
    CLONE_NEW* namespaces to create. ``before_go(stage1_pid)`` runs first: the parent sets
    rlimits, OOM score and cgroup there, inherited by everything stage 1 forks. ``fds``
    (name -> fd, -1 for none) reach stage 1 with GO, as ``plan[name]``; so do this
    process's fds 0-2, which stage 1 puts on its own 0-2 for the init.
    """
    from dockyard.linux import process as proc

    proc.prctl(proc.PR_SET_CHILD_SUBREAPER, 1)  # the init is re-parented to us
    plan["debug"] = bool(os.environ.get("DOCKYARD_RUNTIME_DEBUG"))
    # fds 0-2 that are closed here are closed in stage 1 too: they are left out
    attached = [*((name, n) for n, name in enumerate(STDIO) if _is_open(n)),
                *((name, fd) for name, fd in (fds or {}).items() if fd >= 0)]
    plan["go_fds"] = [name for name, _ in attached]
    os.write(spawned.plan_fd, marshal.dumps(plan))  # stage 1 reads it from offset 0
    launched = Launched(-1, spawned.sock)
    try:
        if before_go is not None:
            before_go(spawned.pid)
        try:
            _send_go(spawned.sock, [fd for _, fd in attached])
        except (BrokenPipeError, ConnectionResetError):
            launched.send(msg.GO)  # raises the reason stage 1 left behind
            raise
        await_init_pid(launched, lambda: write_id_maps(spawned.pid, uid_maps or [],
                                                       gid_maps or []))
    except BaseException:
        spawned.abort()
        launched.sock = -1
        raise
    os.close(spawned.plan_fd)
    os.waitpid(spawned.pid, 0)
    spawned.pid = spawned.sock = spawned.plan_fd = -1  # used up: the sock is launched's
    return launched


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
