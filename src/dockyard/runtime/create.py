"""``create``: build the container and leave its init waiting for ``start``.

Runs in the runtime's process: validates the bundle, claims the container's state dir,
prepares the cgroup, launches the init (see :mod:`launch`), runs the prestart and
createRuntime hooks when the init asks, and records state.json once the init is ready.
Any failure tears down everything this call made: process, cgroup, state dir.
"""

from __future__ import annotations

import os
import sys

from dockyard.errors import Conflict, InvalidArgument
from dockyard.linux import namespaces as ns
from dockyard.linux import process as proc
from dockyard.oci import jsontext
from dockyard.oci.runtime_spec import load_spec
from dockyard.runtime import protocol as msg
from dockyard.runtime.devices import cgroup_rules
from dockyard.runtime.launch import InitFailed, Launched, Spawned, cap_masks, launch, spawn
from dockyard.runtime.rlimits import apply_rlimits
from dockyard.runtime.state import (
    OCI_VERSION,
    SECCOMP_CACHE,
    START_SOCKET,
    Container,
    utc_now,
    validate_id,
)
from dockyard.runtime.sysctl import check_sysctls

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Spec
    from dockyard.runtime.cgroups.protocol import CgroupManager


class CreateOptions:
    def __init__(self, *, pid_file: str | None = None, console_socket: str | None = None,
                 console_fd: int = -1, no_pivot: bool = False, no_new_keyring: bool = False,
                 preserve_fds: int = 0, spawned: Spawned | None = None) -> None:
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.console_fd = console_fd
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        #: stage 1, forked early by the caller (see :func:`launch.spawn`): its interpreter
        #: starts while the caller imports and loads the bundle. The caller aborts it if a
        #: failure comes before its launch (:meth:`Spawned.abort` does nothing after).
        self.spawned = spawned


def create(root: str, container_id: str, bundle: str, opts: CreateOptions) -> Container:
    validate_id(container_id)
    bundle = os.path.abspath(bundle)
    spec = load_spec(bundle)
    if "process" not in spec:
        raise InvalidArgument("config.json: process is required to create a container")
    terminal = bool(spec["process"].get("terminal"))
    if terminal and opts.console_socket is None and opts.console_fd < 0:
        raise InvalidArgument("cannot allocate tty if runc will detach without setting "
                              "console socket")
    if not terminal and opts.console_socket is not None:
        raise InvalidArgument("cannot use console socket if runc will not detach or "
                              "allocate tty")
    os.makedirs(root, mode=0o711, exist_ok=True)
    cdir = Container.dir_of(root, container_id)
    try:
        os.mkdir(cdir, 0o711)
    except FileExistsError:
        raise Conflict(f"container with id exists: {container_id}") from None
    cleanup = _Cleanup(cdir)
    try:
        return _create(root, container_id, bundle, spec, opts, cleanup)
    except BaseException:
        cleanup.run()
        raise


class _Cleanup:
    """What a failed create must undo, in reverse order of making."""

    def __init__(self, cdir: str) -> None:
        self.cdir = cdir
        self.pid = -1
        self.cgroup: CgroupManager | None = None
        self.spawned: Spawned | None = None

    def run(self) -> None:
        if self.spawned is not None:
            self.spawned.abort()
        if self.pid > 0:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.cgroup is not None:
            try:
                self.cgroup.kill_all(9)
                self.cgroup.destroy()
            except OSError:
                pass
        import shutil

        shutil.rmtree(self.cdir, ignore_errors=True)


def _listen_start_socket(cdir: str) -> int:
    """The socket ``start`` connects to. Bound through /proc/self/fd so a long state root
    never hits the 108-byte limit of a unix socket path."""
    import _socket  # the C module: ``socket`` costs a millisecond more to import

    dfd = os.open(cdir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        s.bind(f"/proc/self/fd/{dfd}/{START_SOCKET}")
        s.listen(1)
    finally:
        os.close(dfd)
    return s.detach()


def _connect_console(path: str) -> int:
    import _socket

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise InvalidArgument(f"console socket {path}: {e.strerror}") from None
    return s.detach()


def namespace_plan(spec: Spec) -> tuple[list[tuple[str, str]], int, list[str]]:
    """(namespaces to join by path, CLONE_NEW* flags to create, kinds created)."""
    join: list[tuple[str, str]] = []
    flags = 0
    new: list[str] = []
    for n in spec.get("linux", {}).get("namespaces", []):
        if n.get("path"):
            join.append((n["type"], n["path"]))
        else:
            flags |= ns.NAMESPACES[n["type"]][0]
            new.append(n["type"])
    return join, flags, new


def _create(root: str, container_id: str, bundle: str, spec: Spec, opts: CreateOptions,
            cleanup: _Cleanup) -> Container:
    from dockyard.runtime.cgroups import open_manager, prime_migration

    linux = spec.get("linux", {})
    join, flags, new = namespace_plan(spec)
    for kind, path in join:
        if not os.path.exists(path):
            raise InvalidArgument(f"{kind} namespace path {path} does not exist")
    in_userns = "user" in new or any(k == "user" for k, _ in join)
    check_sysctls(linux.get("sysctl", {}), {*new, *(k for k, _ in join)})

    start_fd = _listen_start_socket(cleanup.cdir)
    console_fd = opts.console_fd
    if opts.console_socket is not None:
        console_fd = _connect_console(opts.console_socket)
    # The kernel's wait at the first cgroup move (see prime_migration) overlaps stage 1's
    # start; a wait primed earlier, as the runtime's command does, may have lapsed (an
    # engine calling us as a library does much work before this point).
    prime_migration()
    # a new stage 1 unless the caller forked one: it starts while we prepare the cgroup
    spawned = opts.spawned or spawn()
    cleanup.spawned = spawned
    cgroup = open_manager(linux.get("cgroupsPath", ""), container_id)
    cgroup.create()
    cleanup.cgroup = cgroup
    resources = dict(linux.get("resources", {}))
    resources["devices"] = cgroup_rules(linux.get("resources", {}), linux.get("devices", []))
    cgroup.set(resources)  # type: ignore[arg-type]
    # Recorded before anything runs: if this process is killed mid-create, ``state`` says
    # "creating" and ``delete --force`` finds the cgroup (and so every process) to remove.
    Container(root, container_id, {
        "id": container_id, "bundle": bundle, "rootfs": spec["root"]["path"],
        "creating": True, "created": utc_now(), "config": spec,
        "cgroup_paths": cgroup.paths()}).save()
    plan: dict[str, Any] = {
        "mode": "create", "id": container_id, "bundle": bundle, "spec": spec,
        "new_ns": new, "userns": in_userns, "join": join, "new_flags": flags,
        "start_fd": -1, "console_fd": -1,  # they come with GO
        "no_pivot": opts.no_pivot, "no_new_keyring": opts.no_new_keyring,
        "preserve_fds": opts.preserve_fds, "unshare_cgroupns": "cgroup" in new,
        "caps": cap_masks(spec["process"]),
        "seccomp_cache": os.path.join(root, SECCOMP_CACHE),
    }
    process = spec["process"]

    def before_go(stage1: int) -> None:
        cgroup.add(stage1)
        apply_rlimits(stage1, process.get("rlimits", []))
        if "oomScoreAdj" in process:
            with open(f"/proc/{stage1}/oom_score_adj", "w") as f:
                f.write(str(process["oomScoreAdj"]))

    launched = launch(spawned, plan, uid_maps=linux.get("uidMappings"),
                      gid_maps=linux.get("gidMappings"), before_go=before_go,
                      fds={"start_fd": start_fd, "console_fd": console_fd})
    cleanup.spawned = None
    cleanup.pid = launched.pid
    os.close(start_fd)
    if console_fd >= 0 and opts.console_socket is not None:
        os.close(console_fd)
    state = {"ociVersion": OCI_VERSION, "id": container_id, "status": "creating",
             "pid": launched.pid, "bundle": bundle,
             "annotations": spec.get("annotations", {})}
    _converse(launched, spec, state)
    launched.close()
    container = Container(root, container_id, {
        "id": container_id, "bundle": bundle, "rootfs": spec["root"]["path"],
        "pid": launched.pid, "pid_start": proc.start_time(launched.pid),
        "created": utc_now(), "config": spec, "annotations": spec.get("annotations", {}),
        "cgroup_paths": cgroup.paths(),
    })
    container.save()
    if opts.pid_file:
        write_pid_file(opts.pid_file, launched.pid)
    cleanup.pid = -1
    return container


def _converse(launched: Launched, spec: Spec, state: dict[str, Any]) -> None:
    """Answer the init until it is ready (or failed)."""
    from dockyard.runtime.hooks import run_hooks

    hooks = spec.get("hooks", {})
    while True:
        tag, payload = launched.recv()
        if tag == msg.READY:
            return
        if tag == msg.HOOKS:
            run_hooks("prestart", hooks.get("prestart", []), state)
            run_hooks("createRuntime", hooks.get("createRuntime", []), state)
            launched.send(msg.OK, jsontext.dumps(state).encode())
        elif tag == msg.SECCOMP:
            from dockyard.runtime.seccomp import forward_notify_fd

            section = spec["linux"]["seccomp"]
            forward_notify_fd(launched.sock, section, state)  # type: ignore[arg-type]
            launched.send(msg.OK)
        elif tag == msg.WARN:
            sys.stderr.write(f"warning: {payload.decode(errors='replace')}\n")
        elif tag == msg.ERROR:
            raise InitFailed(payload.decode(errors="replace"))
        else:
            raise InitFailed("container init exited before it was ready")


def write_pid_file(path: str, pid: int) -> None:
    """Atomically, as runc: write a temp file beside it, then rename."""
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.replace(tmp, path)
