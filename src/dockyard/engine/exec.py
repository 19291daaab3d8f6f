"""``docker exec``: another process in a running container, through the runtime's exec.

The process spec starts from the container's own (its config.json: env, user, cwd,
capabilities, rlimits...), as dockerd does, and the exec's flags override it: ``-e`` and
``--env-file`` replace or extend the env (``TERM=xterm`` with ``-t``), ``-u`` is resolved in
the container's /etc/passwd and /etc/group, ``-w`` sets the cwd, ``--privileged`` grants
every capability of the engine's bounding set.
"""

from __future__ import annotations

import os

from dockyard.engine.containers import Status
from dockyard.errors import Conflict, DockyardError, InvalidArgument
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.oci.runtime_types import Process

__all__ = ["ExecOptions", "ExecStartFailed", "exec_process_spec", "reap", "run_exec",
           "start_exec"]

#: What ``docker exec`` exits with when the process could not be started (dockerd sets the
#: exec's exit code to 126 for any start failure, a missing command included).
EXEC_START_FAILED = 126


class ExecStartFailed(DockyardError):
    """The process could not be started: Docker's ``OCI runtime exec failed`` (126)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"OCI runtime exec failed: exec failed: unable to start container "
                         f"process: {text}: unknown")
        self.status = EXEC_START_FAILED


@record
class ExecOptions:
    cmd: list[str]
    env: list[str] = field(default_factory=list)
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False
    #: the client's window (rows, cols): the pty is made that size before the exec
    console_size: tuple[int, int] | None = None


def running_container(engine: Engine, ref: str) -> ContainerRecord:
    """The record of a running container; Docker's errors otherwise."""
    record = engine.refresh(engine.containers.get(ref))
    if record.status is Status.PAUSED:
        raise Conflict(f"Container {record.id} is paused, unpause the container before exec")
    if record.status is Status.RESTARTING:
        raise Conflict(f"Container {record.id} is restarting, wait until the container is "
                       "running")
    if record.status is not Status.RUNNING:
        raise Conflict(f"Container {record.id} is not running")
    return record


def exec_process_spec(record: ContainerRecord, base: Process, opts: ExecOptions) -> Process:
    """The exec's process: the container's, with the exec's flags over it."""
    from dockyard.engine.spec import _replace_or_append
    from dockyard.engine.users import resolve_user
    from dockyard.runtime.exec import merge_process

    if not opts.cmd:
        raise InvalidArgument("No exec command specified")
    for entry in opts.env:
        if entry.startswith("="):
            raise InvalidArgument(f"invalid environment variable: {entry}")
    container_keys = {e.partition("=")[0] for e in record.config.get("Env") or []}
    env = [e for e in base.get("env", [])
           if not e.startswith("TERM=") or "TERM" in container_keys]
    if opts.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    process = merge_process(base, args=list(opts.cmd), cwd=opts.workdir or None,
                            tty=opts.tty)
    process["env"] = _replace_or_append(env, opts.env)
    if opts.tty and opts.console_size is not None:
        process["consoleSize"] = {"height": opts.console_size[0],
                                  "width": opts.console_size[1]}
    if opts.user is not None:
        rootfs = os.path.join(record.bundle_dir, "rootfs")
        process["user"] = resolve_user(opts.user, rootfs)
    if opts.privileged:
        caps = _bounding_set()
        process["capabilities"] = {"bounding": list(caps), "effective": list(caps),
                                   "permitted": list(caps)}
    return process


def _bounding_set() -> list[str]:
    from dockyard.runtime.capabilities import mask_to_names

    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return mask_to_names(int(line.split()[1], 16))
    return []


def _prepare(engine: Engine, ref: str, opts: ExecOptions) -> tuple[ContainerRecord, Process]:
    from dockyard.engine import events
    from dockyard.oci.runtime_spec import load_spec

    record = running_container(engine, ref)
    spec = load_spec(record.bundle_dir)
    process = exec_process_spec(record, spec["process"], opts)
    cmd = " ".join(process.get("args") or [])
    exec_id = os.urandom(32).hex()
    events.container(engine.root, record, f"exec_create: {cmd}", execID=exec_id)
    events.container(engine.root, record, f"exec_start: {cmd}", execID=exec_id)
    return record, process


def run_exec(engine: Engine, ref: str, opts: ExecOptions) -> int:
    """An exec without a terminal, on our own stdio (stdin only with ``-i``): its exit
    code, or 0 at once with ``detach``."""
    from dockyard.runtime.exec import ExecFailed, exec_process

    record, process = _prepare(engine, ref, opts)
    saved = -1
    if not opts.interactive or opts.detach:
        saved = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
    try:
        _, code = exec_process(engine.runtime_root, record.id, process, detach=opts.detach)
    except ExecFailed as e:
        raise ExecStartFailed(str(e)) from None
    finally:
        if saved >= 0:
            os.dup2(saved, 0)
            os.close(saved)
    return code


def start_exec(engine: Engine, ref: str, opts: ExecOptions) -> tuple[int, int]:
    """An exec with a terminal (``-t``): (the pty master, the process's pid); the caller
    proxies the master and reaps the pid."""
    import socket

    from dockyard.runtime.exec import ExecFailed, exec_process

    record, process = _prepare(engine, ref, opts)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            pid, _ = exec_process(engine.runtime_root, record.id, process, detach=True,
                                  console_fd=theirs.fileno())
        except ExecFailed as e:
            raise ExecStartFailed(str(e)) from None
        finally:
            theirs.close()
        _, fds, _, _ = socket.recv_fds(ours, 1024, 1)
    finally:
        ours.close()
    if not fds:
        raise ExecStartFailed("no terminal received from the container")
    return fds[0], pid


def reap(pid: int) -> int:
    """Wait for the process :func:`start_exec` started; its exit code (128+N for a
    signal)."""
    from dockyard.runtime.exec import reap as reap_child

    return reap_child(pid)


def hold_detached(master: int) -> None:
    """``exec -it`` detached with the detach keys: the process runs on, so its terminal
    must stay open. A process of its own (a new session, away from the CLI's terminal)
    keeps the pty master and drains what the process writes until it exits, as Docker's
    daemon keeps a detached exec's stdio; the caller closes its own copy."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked children
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                if null > 2:
                    os.close(null)
                os.closerange(3, master)  # the CLI's database, sockets...: not ours
                os.closerange(master + 1, 1 << 16)
                while True:
                    try:
                        if not os.read(master, 65536):
                            break
                    except OSError:  # EIO: the process and every slave are gone
                        break
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
