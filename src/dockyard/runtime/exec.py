"""``exec``: run another process inside a created or running container."""

from __future__ import annotations

import os

from dockyard.errors import Conflict
from dockyard.linux import namespaces as ns
from dockyard.runtime import protocol as msg
from dockyard.runtime.create import write_pid_file
from dockyard.runtime.launch import InitFailed, cap_masks, launch, spawn
from dockyard.runtime.rlimits import apply_rlimits
from dockyard.runtime.state import PAUSED, SECCOMP_CACHE, STOPPED, Container

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Process


class ExecFailed(InitFailed):
    """The process could not be executed (not found, not executable...)."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.code = code


def exec_process(root: str, container_id: str, process: Process, *, detach: bool = False,
                 pid_file: str | None = None, console_fd: int = -1,
                 preserve_fds: int = 0) -> tuple[int, int]:
    """Start ``process`` in the container. Returns (pid, exit code); with ``detach`` the
    exit code is 0 and the process is left running."""
    c = Container.load(root, container_id)
    status = c.status().value
    if status == STOPPED:
        raise Conflict("cannot exec in a stopped container")
    if status == PAUSED:
        raise Conflict("cannot exec in a paused container")
    spec = c.spec
    linux = spec.get("linux", {})
    join = [(n["type"], ns.ns_path(c.pid, n["type"])) for n in linux.get("namespaces", [])]
    plan: dict[str, Any] = {"mode": "exec", "id": container_id, "process": process,
                            "join": join, "new_flags": 0,
                            "userns": any(k == "user" for k, _ in join),
                            "seccomp": linux.get("seccomp"),
                            "seccomp_cache": os.path.join(root, SECCOMP_CACHE),
                            "console_fd": -1, "preserve_fds": preserve_fds,
                            "caps": cap_masks(process)}
    cgroup = c.cgroup()

    def before_go(stage1: int) -> None:
        cgroup.add(stage1)
        apply_rlimits(stage1, process.get("rlimits", []))

    spawned = spawn()
    launched = launch(spawned, plan, before_go=before_go, fds={"console_fd": console_fd})
    pid = launched.pid
    try:
        while True:  # EOF: the process exec'd (the socket is close-on-exec)
            tag, payload = launched.recv()
            if tag == msg.ERROR:
                raise ExecFailed(payload.decode(errors="replace"), reap(pid))
            if tag == msg.SECCOMP:
                _forward_notify_fd(c, launched.sock, status, pid)
                launched.send(msg.OK)
            if not tag:
                break
    finally:
        launched.close()
    if pid_file:
        write_pid_file(pid_file, pid)
    if detach:
        return pid, 0
    return pid, reap(pid)


def _forward_notify_fd(c: Container, sock: int, status: str, pid: int) -> None:
    """The process's seccomp notify fd to the agent, as runc: the container's state, and
    the exec'd process's pid in the message."""
    from dockyard.runtime.seccomp import forward_notify_fd
    from dockyard.runtime.state import OCI_VERSION

    state = {"ociVersion": OCI_VERSION, "id": c.id, "status": status, "pid": c.pid,
             "bundle": c.bundle, "annotations": c.spec.get("annotations", {})}
    forward_notify_fd(sock, c.spec["linux"]["seccomp"], state, pid)  # type: ignore[arg-type]


def reap(pid: int) -> int:
    """Wait for our (adopted) child; its exit code as a shell reports it."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        return exit_code(status)


def exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def merge_process(base: Process, *, args: list[str] | None = None,
                  env: list[str] | None = None, cwd: str | None = None,
                  uid: int | None = None, gid: int | None = None,
                  additional_gids: list[int] | None = None, tty: bool | None = None,
                  caps: list[str] | None = None, no_new_privs: bool = False) -> Process:
    """runc exec's rule: the container's process spec, overridden by the flags given."""
    import copy

    p: Process = copy.deepcopy(base)
    if args:
        p["args"] = args
    if env:
        p["env"] = [*p.get("env", []), *env]
    if cwd:
        p["cwd"] = cwd
    if uid is not None:
        p["user"] = {"uid": uid, "gid": gid if gid is not None else 0}
    if additional_gids:
        p["user"]["additionalGids"] = additional_gids
    if tty is not None:
        p["terminal"] = tty
    if caps:
        sets = p.setdefault("capabilities", {})
        sets["bounding"] = [*sets.get("bounding", []), *caps]
        sets["effective"] = [*sets.get("effective", []), *caps]
        sets["permitted"] = [*sets.get("permitted", []), *caps]
        sets["ambient"] = [*sets.get("ambient", []), *caps]
    if no_new_privs:
        p["noNewPrivileges"] = True
    return p
