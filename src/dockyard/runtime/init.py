"""The container's init, run in a freshly sealed interpreter (see :mod:`launch`).

``create`` mode builds the rootfs, pivots into it and waits for ``start`` on the start
socket; then it drops privileges and execs the user's process. ``exec`` mode joins a
running container's namespaces and execs a process there.

Start-up cost matters here (it is on every container start): this module imports only
builtins-backed modules (marshal, os, sys) and dockyard's syscall layer at load time;
everything the code needs after pivot_root must be imported before it, since the host's
stdlib is unreachable from inside the container.
"""

from __future__ import annotations

import marshal
import os
import sys

from dockyard.linux import namespaces as ns
from dockyard.linux import process as proc
from dockyard.runtime import protocol as msg

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Process, Spec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ExecError(Exception):
    """The user's process could not be executed; ``code`` is Docker's 126 or 127."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.code = code


def _read_plan(fd: int) -> dict[str, Any]:
    """The plan the parent wrote to the memfd after forking us (read from offset 0)."""
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    os.close(fd)
    plan: dict[str, Any] = marshal.loads(b"".join(chunks))
    return plan


#: At most this many fds come with GO: stdio, the start socket, the console socket.
MAX_GO_FDS = 8


def _recv_go(sync: int) -> list[int] | None:
    """Wait for GO; the fds it carries (close-on-exec), or None if the parent gave up."""
    import _socket

    sock = _socket.socket(fileno=sync)
    try:
        data, ancdata, _, _ = sock.recvmsg(16, _socket.CMSG_SPACE(4 * MAX_GO_FDS),
                                           _socket.MSG_CMSG_CLOEXEC)
    finally:
        sock.detach()
    fds: list[int] = []
    for level, kind, cdata in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(cdata[i:i + 4], sys.byteorder)
                    for i in range(0, len(cdata) - len(cdata) % 4, 4)]
    if data[:1] != msg.GO:
        for fd in fds:
            os.close(fd)
        return None
    return fds


def _place_fds(plan: dict[str, Any], received: list[int]) -> None:
    """The parent's stdio onto our 0-2 (for the init to inherit); its other fds into the
    plan under their names (``start_fd``, ``console_fd``)."""
    from dockyard.runtime.launch import STDIO, above_stdio

    # A number below 3 (our own stdio was closed) would be overwritten by the dup2s.
    received = [above_stdio(fd) for fd in received]
    stdio: dict[int, int] = {}
    for name, fd in zip(plan.get("go_fds", []), received, strict=True):
        if name in STDIO:
            stdio[STDIO.index(name)] = fd
        else:
            plan[name] = fd
    for n in range(3):
        if n in stdio:
            os.dup2(stdio[n], n)
            os.close(stdio[n])
        else:
            try:
                os.close(n)
            except OSError:
                pass


def main() -> None:
    """Stage 1 in the sealed interpreter: namespaces, then fork the init (or exec child)."""
    sync = int(sys.argv[1])
    plan_fd = int(sys.argv[2])
    host_mnt = int(sys.argv[3])
    for fd in (sync, plan_fd, host_mnt):
        os.set_inheritable(fd, False)
    global _DEBUG
    try:
        proc.prctl(proc.PR_SET_DUMPABLE, 0)
        _preload()  # while the parent prepares the cgroup and the plan
        received = _recv_go(sync)
        if received is None:
            os._exit(1)
        plan = _read_plan(plan_fd)
        _place_fds(plan, received)
        _DEBUG = bool(plan.get("debug"))
        create = plan["mode"] == "create"
        seccomp_section = (plan["spec"].get("linux", {}).get("seccomp") if create
                           else plan.get("seccomp"))
        seccomp_filter = _prepare_seccomp(seccomp_section, plan.get("seccomp_cache", ""))
        _enter_namespaces(plan, sync, host_mnt)
        # The child waits until its pid is reported, so the parent always hears P before
        # anything the child says (an exec failure must not look like a stage 1 one).
        reported_r, reported_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(reported_w)
            os.read(reported_r, 1)
            os.close(reported_r)
            if plan.get("unshare_cgroupns"):
                ns.unshare(ns.CLONE_NEWCGROUP)
            if create:
                _create(plan, sync, seccomp_filter)
            else:
                _exec(plan, sync, seccomp_filter)
        msg.send(sync, msg.PID, str(pid).encode())
        os.write(reported_w, b"P")
        os._exit(0)
    except BaseException as e:  # one line to the parent, never a traceback
        try:
            msg.send(sync, msg.ERROR, _describe(e).encode())
        finally:
            os._exit(1)


def _enter_namespaces(plan: dict[str, Any], sync: int, host_mnt: int) -> None:
    """Join the namespaces given by path (user first), create a user namespace (the
    parent writes its maps), then unshare the rest but the cgroup namespace, which the
    init unshares itself so that its root is the container's cgroup."""
    from dockyard.runtime.launch import JOIN_ORDER

    joins = sorted(plan["join"], key=lambda j: JOIN_ORDER.index(j[0]))
    fds = [(kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC), path) for kind, path in joins]
    flags: int = plan["new_flags"]
    # Leave the sealing namespace: a new mount namespace is a copy of the host's as it is
    # now, with the mounts made since stage 1 was forked (the engine forks it before it
    # mounts the rootfs; the host's mounts need not propagate). Our /proc/self/exe stays
    # the read-only sealing mount, which lives on with the process that uses it.
    ns.setns(host_mnt, ns.CLONE_NEWNS, path="/proc/self/ns/mnt")
    os.close(host_mnt)
    for kind, fd, path in fds:
        ns.setns(fd, ns.NAMESPACES[kind][0], path=path)
        os.close(fd)
    if flags & ns.CLONE_NEWUSER:
        ns.unshare(ns.CLONE_NEWUSER)
        msg.send(sync, msg.MAPS)
        tag, _ = msg.recv(sync)
        if tag != msg.OK:
            os._exit(1)
    if plan.get("userns"):
        # Everything from the host's interpreter is loaded: become the namespace's root.
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    ns.unshare(flags & ~(ns.CLONE_NEWUSER | ns.CLONE_NEWCGROUP))


_DEBUG = False


def _describe(e: BaseException) -> str:
    """One line for the user; with ``--debug``, where it happened too."""
    text = str(e) or type(e).__name__
    if _DEBUG and e.__traceback__ is not None:
        tb = e.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        text += f" (at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})"
    return text


def _warn(sync: int, text: str) -> None:
    msg.send(sync, msg.WARN, text.encode())


# --- create ------------------------------------------------------------------------

#: Everything the init may need after pivot_root (or after becoming a user namespace's
#: root), when the host's stdlib and dockyard's own files are out of reach.
PRELOAD = ("errno", "fcntl", "struct", "termios", "_socket", "dockyard.linux.mount",
           "dockyard.linux.sockets", "dockyard.oci.jsontext", "dockyard.runtime.capabilities",
           "dockyard.runtime.devices", "dockyard.runtime.hooks", "dockyard.runtime.launch",
           "dockyard.runtime.rootfs",
           "dockyard.runtime.seccomp")


def _preload() -> None:
    """Import :data:`PRELOAD` now, before the parent's GO, overlapping its own work
    (with ``__import__``: ``importlib`` itself is not loaded in this interpreter)."""
    for name in PRELOAD:
        __import__(name)


def _create(plan: dict[str, Any], sync: int, seccomp_filter: Any) -> None:
    from dockyard.runtime import devices, rootfs

    spec: Spec = plan["spec"]
    process: Process = spec["process"]
    linux = spec.get("linux", {})
    new_ns: list[str] = plan["new_ns"]
    in_userns: bool = plan["userns"]
    root = spec["root"]["path"]
    hooks = spec.get("hooks", {})
    if not plan.get("no_new_keyring"):
        _join_keyring(sync, plan["id"])

    caps: dict[str, int] | None = plan.get("caps")
    if "mount" in new_ns:
        rootfs.set_root_propagation(spec)
        rootfs.bind_rootfs(root)
        rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            mounts = spec.get("mounts", [])
            for m in mounts:
                rootfs.mount_one(rootfd, m, plan["bundle"], in_userns, "cgroup" in new_ns)
            dev_is_bind = any(m["destination"] == "/dev" and (
                m.get("type") == "bind" or "bind" in m.get("options", [])
                or "rbind" in m.get("options", [])) for m in mounts)
            if not dev_is_bind:
                has_devpts = any(m["destination"] == "/dev/pts" for m in mounts)
                devices.populate_dev(rootfd, linux.get("devices", []), in_userns, has_devpts)
        finally:
            os.close(rootfd)
    _sysctl(linux.get("sysctl", {}))
    if spec.get("hostname"):
        if "uts" not in new_ns:
            raise RuntimeError("unable to set hostname without a private UTS namespace")
        ns.sethostname(spec["hostname"])
    if spec.get("domainname"):
        ns.setdomainname(spec["domainname"])

    msg.send(sync, msg.HOOKS)
    tag, payload = msg.recv(sync)
    if tag != msg.OK:
        os._exit(1)
    state_json = payload
    if hooks.get("createContainer"):
        _run_hooks_in_container("createContainer", hooks["createContainer"], state_json)

    if "mount" in new_ns:
        from dockyard.runtime.rootfs import move_root, pivot

        (move_root if plan.get("no_pivot") else pivot)(root)
    console = plan.get("console_fd", -1)
    if process.get("terminal") and console >= 0:
        _setup_console(console, process, bind_console="mount" in new_ns)
    if "mount" in new_ns:
        for p in linux.get("readonlyPaths", []):
            rootfs.readonly_path(p)
        for p in linux.get("maskedPaths", []):
            rootfs.mask_path(p)
        if spec["root"].get("readonly"):
            rootfs.remount_readonly("/")
    env = process.get("env", [])
    path = _lookup(process["args"][0], env, process["cwd"])

    if seccomp_filter is not None and seccomp_filter.uses_notify:
        _send_notify_fd(sync, seccomp_filter)
        seccomp_filter = None  # loaded
    msg.send(sync, msg.READY)
    os.close(sync)
    start_fd = plan["start_fd"]
    conn = _wait_for_start(start_fd)
    try:
        if hooks.get("startContainer"):
            _run_hooks_in_container("startContainer", hooks["startContainer"], state_json)
        _finalize(process, caps, seccomp_filter, plan.get("preserve_fds", 0))
        _execve(path, process["args"], env, process)
    except ExecError as e:
        os.write(conn, f"E{e}".encode())
        os._exit(e.code)
    except BaseException as e:
        os.write(conn, f"E{_describe(e)}".encode())
        os._exit(1)


def _send_notify_fd(sync: int, seccomp_filter: Any) -> None:
    """A filter with SCMP_ACT_NOTIFY is loaded now, before the wait for ``start``, as
    runc does: its listener fd goes to the parent, which hands it to the agent at
    ``listenerPath`` while the container is "creating" (for ``exec``: just before the
    process's own set-up and execve). From here on the filter applies to
    the init's own remaining syscalls too."""
    from dockyard.linux.sockets import send_fd

    fd = seccomp_filter.load()
    try:
        msg.send(sync, msg.SECCOMP)
        send_fd(sync, fd, b"F")
    finally:
        os.close(fd)
    tag, _ = msg.recv(sync)
    if tag != msg.OK:
        os._exit(1)


def _join_keyring(sync: int, container_id: str) -> None:
    try:
        proc.join_session_keyring(f"_ses.{container_id}")
    except OSError as e:
        import errno

        if e.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM):
            raise
        _warn(sync, f"could not create session key: {e}")


def _wait_for_start(listen_fd: int) -> int:
    """Block until ``start`` connects to the start socket; return the connection.

    ``start`` then reads the connection to EOF: EOF alone means execve succeeded (the
    connection is close-on-exec); ``E<reason>`` means it failed.
    """
    from dockyard.linux.sockets import accept

    conn = accept(listen_fd)
    os.read(conn, 1)
    os.close(listen_fd)
    return conn


def _run_hooks_in_container(kind: str, hooks: list[Any], state_json: bytes) -> None:
    from dockyard.oci import jsontext
    from dockyard.runtime.hooks import run_hooks

    run_hooks(kind, hooks, jsontext.loads(state_json))


def _sysctl(values: dict[str, str]) -> None:
    for key, value in values.items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as e:
            raise RuntimeError(f"sysctl {key}={value}: {e.strerror}") from e


def _setup_console(sock_fd: int, process: Process, bind_console: bool) -> None:
    """Make a pty in the container's devpts, send its master over the console socket
    (SCM_RIGHTS, as runc), and make the slave our controlling terminal and stdio."""
    import _socket
    import struct
    import termios

    from dockyard.linux import mount as mnt

    master, slave = os.openpty()
    name = os.ttyname(slave)
    size = process.get("consoleSize")
    if size:
        termios.tcsetwinsize(slave, (size["height"], size["width"]))
    if bind_console:
        if not os.path.exists("/dev/console"):
            os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY, 0o600))
        mnt.mount(name, "/dev/console", None, mnt.MS_BIND)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, 0, sock_fd)
    sock.sendmsg([name.encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                    struct.pack("i", master))])
    sock.close()
    os.close(master)
    _make_controlling_tty(slave)


def _make_controlling_tty(slave: int) -> None:
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


# --- privileges and exec -------------------------------------------------------------

def _prepare_seccomp(section: Any, cache_dir: str) -> Any:
    if not section:
        return None
    from dockyard.runtime.seccomp import prepare_cached, prepare_filter

    return prepare_cached(section, cache_dir) if cache_dir else prepare_filter(section)


def _finalize(process: Process, caps: dict[str, int] | None, seccomp_filter: Any,
              preserve_fds: int) -> None:
    """runc's finalizeNamespace order: fds, bounding set, user (keeping caps), the
    capability sets, cwd; no_new_privs and a late seccomp filter last."""
    proc.close_range(3 + preserve_fds, 0xFFFFFFFF, proc.CLOSE_RANGE_CLOEXEC)
    nnp = bool(process.get("noNewPrivileges"))
    if seccomp_filter is not None and not nnp:
        seccomp_filter.load()  # without NNP, loading needs CAP_SYS_ADMIN: before dropping
    if caps is not None:
        from dockyard.runtime.capabilities import apply_process_caps, drop_bounding

        drop_bounding(caps["bounding"])
    user = process["user"]
    proc.prctl(proc.PR_SET_KEEPCAPS, 1)
    gids = user.get("additionalGids")
    if gids is not None:
        os.setgroups(gids)
    elif user["uid"] != 0 or user["gid"] != 0:
        os.setgroups([])
    os.setresgid(user["gid"], user["gid"], user["gid"])
    os.setresuid(user["uid"], user["uid"], user["uid"])
    proc.prctl(proc.PR_SET_KEEPCAPS, 0)
    if caps is not None:
        apply_process_caps(caps["effective"], caps["permitted"], caps["inheritable"],
                           caps["ambient"])
    os.umask(user.get("umask", 0o022))
    os.chdir(process["cwd"])
    if os.getcwd().startswith("(unreachable)"):  # CVE-2024-21626: never a host cwd
        raise RuntimeError(f"cwd {process['cwd']} is outside the container")
    if nnp:
        proc.prctl(proc.PR_SET_NO_NEW_PRIVS, 1)
        if seccomp_filter is not None:
            seccomp_filter.load()


def _env_get(env: list[str], key: str) -> str | None:
    prefix = key + "="
    for e in reversed(env):
        if e.startswith(prefix):
            return e[len(prefix):]
    return None


def _lookup(arg0: str, env: list[str], cwd: str) -> str:
    """Resolve the executable the way Go's exec.LookPath does inside the container."""
    if "/" in arg0:
        path = arg0 if arg0.startswith("/") else os.path.join(cwd, arg0)
        try:
            os.stat(path)
        except OSError as e:
            reason = (e.strerror or str(e)).lower()
            raise ExecError(f'exec: "{arg0}": stat {arg0}: {reason}', 127) from None
        return path
    search = _env_get(env, "PATH")
    for d in (search if search is not None else DEFAULT_PATH).split(":"):
        cand = os.path.join(d or ".", arg0)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise ExecError(f'exec: "{arg0}": executable file not found in $PATH', 127)


def _with_home(env: list[str], uid: int) -> list[str]:
    if _env_get(env, "HOME") is not None:
        return env
    home = "/"
    try:
        with open("/etc/passwd") as f:
            for line in f:
                fields = line.split(":")
                if len(fields) > 5 and fields[2] == str(uid):
                    home = fields[5]
                    break
    except OSError:
        pass
    return [*env, f"HOME={home}"]


def _default_signals() -> None:
    """Give the container's process the dispositions and mask a fresh process has.

    CPython ignores SIGPIPE and SIGXFSZ at start-up, and ignored signals survive execve
    (signal(7)): left alone, every container process would start with them ignored
    (``SigIgn: 0x1001000``), where runc's and Docker's start with none. ``_signal`` is
    built into the interpreter, so importing it needs no file from the host."""
    import _signal  # type: ignore[import-not-found]  # built in; typeshed has no stub

    for sig in (_signal.SIGPIPE, _signal.SIGXFSZ):
        _signal.signal(sig, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, ())


def _execve(path: str, args: list[str], env: list[str], process: Process) -> None:
    env = _with_home(env, process["user"]["uid"])
    _default_signals()
    try:
        os.execve(path, args, dict(e.split("=", 1) for e in env if "=" in e))
    except OSError as e:
        import errno

        code = 127 if e.errno == errno.ENOENT else 126
        raise ExecError(f'exec: "{args[0]}": {e.strerror.lower() if e.strerror else e}',
                        code) from e


# --- exec ----------------------------------------------------------------------------

def _exec(plan: dict[str, Any], sync: int, seccomp_filter: Any) -> None:
    """In the container's namespaces (stage 1 joined them): exec the process."""
    process: Process = plan["process"]
    caps: dict[str, int] | None = plan.get("caps")
    console = plan.get("console_fd", -1)
    if process.get("terminal") and console >= 0:
        _setup_console(console, process, bind_console=False)
    env = process.get("env", [])
    try:
        path = _lookup(process["args"][0], env, process["cwd"])
        if seccomp_filter is not None and seccomp_filter.uses_notify:
            _send_notify_fd(sync, seccomp_filter)
            seccomp_filter = None  # loaded
        _finalize(process, caps, seccomp_filter, plan.get("preserve_fds", 0))
        _execve(path, process["args"], env, process)
    except ExecError as e:
        msg.send(sync, msg.ERROR, str(e).encode())
        os._exit(e.code)
