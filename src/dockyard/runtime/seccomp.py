"""The OCI ``linux.seccomp`` section -> a libseccomp filter, with runc's semantics.

Two steps, because the container init needs them at two different times:

1. :func:`prepare_filter` builds the whole filter (arches, flags, rules) with libseccomp and
   compiles it to cBPF, without loading it. The init calls it *before* pivot_root:
   libseccomp is dlopen'ed from host paths.
2. :meth:`SeccompFilter.load` installs the program with one seccomp(2) call. The init calls
   it last, just before execve, so that its own set-up syscalls are not filtered.

Semantics follow runc (``libcontainer/seccomp/seccomp_linux.go`` and ``specconv``): syscall
names libseccomp does not know are skipped silently; a rule whose action equals the default
action is skipped (libseccomp refuses it with EACCES); when two comparisons of one rule name
the same argument index, each comparison becomes a rule of its own, else one rule holds all
of them (an AND); ``SCMP_ACT_ERRNO``/``SCMP_ACT_TRACE`` return ``errnoRet`` (default EPERM);
NO_NEW_PRIVS is left to the runtime (``SCMP_FLTATR_CTL_NNP`` = 0). As runc's ``patchbpf``,
the program libseccomp generates gets a stub in front that answers syscalls newer than the
profile with ENOSYS (:mod:`dockyard.runtime.seccomp_enosys`), and is loaded by us.

With ``SCMP_ACT_NOTIFY``, :meth:`SeccompFilter.load` returns the listener fd, and
:func:`send_to_listener` hands it to the agent at ``listenerPath``, as runc does.
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import InvalidArgument, Unsupported
from dockyard.linux import seccomp as scmp
from dockyard.linux.errors import SyscallError
from dockyard.runtime.seccomp_enosys import enosys_stub, last_syscalls, needs_stub

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Seccomp, SeccompArg, SeccompSyscall, State

__all__ = ["SECCOMP_FD_NAME", "SeccompFilter", "forward_notify_fd", "prepare_filter",
           "send_to_listener"]

# runtime-spec config-linux.md: the name of the seccomp listener fd in the "fds" array.
SECCOMP_FD_NAME = "seccompFd"

# runtime-spec config-linux.md "seccomp": valid values of defaultAction and syscalls[].action.
_FIXED_ACTIONS = {
    "SCMP_ACT_KILL": scmp.SCMP_ACT_KILL_THREAD,
    "SCMP_ACT_KILL_THREAD": scmp.SCMP_ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": scmp.SCMP_ACT_KILL_PROCESS,
    "SCMP_ACT_TRAP": scmp.SCMP_ACT_TRAP,
    "SCMP_ACT_ALLOW": scmp.SCMP_ACT_ALLOW,
    "SCMP_ACT_LOG": scmp.SCMP_ACT_LOG,
    "SCMP_ACT_NOTIFY": scmp.SCMP_ACT_NOTIFY,
}

# Valid values of syscalls[].args[].op.
_OPS = {
    "SCMP_CMP_NE": scmp.SCMP_CMP_NE,
    "SCMP_CMP_LT": scmp.SCMP_CMP_LT,
    "SCMP_CMP_LE": scmp.SCMP_CMP_LE,
    "SCMP_CMP_EQ": scmp.SCMP_CMP_EQ,
    "SCMP_CMP_GE": scmp.SCMP_CMP_GE,
    "SCMP_CMP_GT": scmp.SCMP_CMP_GT,
    "SCMP_CMP_MASKED_EQ": scmp.SCMP_CMP_MASKED_EQ,
}

# Valid values of flags: the seccomp(2) flag, and the libseccomp filter attribute for it.
_FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": (scmp.SECCOMP_FILTER_FLAG_TSYNC, scmp.SCMP_FLTATR_CTL_TSYNC),
    "SECCOMP_FILTER_FLAG_LOG": (scmp.SECCOMP_FILTER_FLAG_LOG, scmp.SCMP_FLTATR_CTL_LOG),
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": (scmp.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                                       scmp.SCMP_FLTATR_CTL_SSB),
}
_MAX_INSNS = 4096  # linux/bpf_common.h: BPF_MAXINSNS
# Spec flags this libseccomp (2.5) cannot set.
_UNSUPPORTED_FLAGS = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}

# Above this many rules, ask libseccomp for a binary-tree filter, as runc does (libseccomp
# <= 2.5.4 misbehaves with the tree and no rules).
_OPTIMIZE_OVER = 32

_MAX_ARGS = 6  # syscalls take at most six arguments: index 0..5


def _action(name: str, errno_ret: int | None, where: str) -> int:
    """The libseccomp action of a spec action name.

    runc ``getAction``: ``SCMP_ACT_ERRNO`` and ``SCMP_ACT_TRACE`` carry ``errnoRet``,
    EPERM when it is absent; both are masked to 16 bits by ``SCMP_ACT_ERRNO(x)``.
    """
    if name == "SCMP_ACT_ERRNO":
        return scmp.act_errno(errno.EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRACE":
        return scmp.act_trace(errno.EPERM if errno_ret is None else errno_ret)
    try:
        return _FIXED_ACTIONS[name]
    except KeyError:
        raise InvalidArgument(f"seccomp: unknown action {name!r} in {where}") from None


def _arch(name: str) -> int:
    """``SCMP_ARCH_X86_64`` -> libseccomp's ``"x86_64"`` -> its arch token."""
    token = None
    if name.startswith("SCMP_ARCH_"):
        token = scmp.arch_resolve_name(name[len("SCMP_ARCH_"):].lower())
    if token is None:
        raise InvalidArgument(f"seccomp: unknown architecture {name!r}")
    return token


def _comparisons(args: list[SeccompArg], name: str) -> list[tuple[int, int, int, int]]:
    """Spec args -> ``(index, op, datum_a, datum_b)``; ``valueTwo`` is datum_b (MASKED_EQ's
    value, ``value`` being the mask), 0 when absent, as runc's ``MakeCondition``."""
    out = []
    for arg in args:
        index = arg["index"]
        if not 0 <= index < _MAX_ARGS:
            raise InvalidArgument(f"seccomp: argument index {index} of {name!r} is not 0-5")
        try:
            op = _OPS[arg["op"]]
        except KeyError:
            raise InvalidArgument(f"seccomp: unknown operator {arg['op']!r} for {name!r}") \
                from None
        out.append((index, op, arg["value"], arg.get("valueTwo", 0)))
    return out


def prepare_cached(section: Seccomp, cache_dir: str) -> SeccompFilter:
    """:func:`prepare_filter`, through a cache of compiled programs in ``cache_dir``.

    Compiling Docker's default profile takes libseccomp ~16 ms, on every container start
    (crun caches its filters too). A program depends only on the section, libseccomp's
    version and the architecture: the cache key hashes the three. Entries are written
    atomically; an unreadable one is compiled again.
    """
    import marshal

    key = _cache_key(section)
    path = os.path.join(cache_dir, key)
    try:
        with open(path, "rb") as f:
            program, flags, uses_notify = marshal.loads(f.read())
        if isinstance(program, bytes) and isinstance(flags, int):
            return SeccompFilter(None, program, flags, bool(uses_notify))
    except (OSError, ValueError, EOFError, TypeError):
        pass
    built = prepare_filter(section)
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(marshal.dumps((built.program, built.flags, built.uses_notify)))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written: compile next time too
    return built


def _cache_key(section: Seccomp) -> str:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # no hashlib: ms
    except ImportError:  # pragma: no cover - another Python's builtin hash modules
        from hashlib import sha256

    from dockyard.oci import jsontext

    text = jsontext.dumps([section, list(scmp.version()), scmp.arch_native()])
    digest: str = sha256(text.encode()).hexdigest()
    return digest


class SeccompFilter:
    """A built, not yet loaded, filter. Lifecycle: :func:`prepare_filter` -> :meth:`load`
    (once; the context is released) or :meth:`release` (to drop it unloaded).

    ``program`` is the cBPF the kernel will run (packed ``struct sock_filter``), ``flags``
    the ``SECCOMP_FILTER_FLAG_*`` it is loaded with.
    """

    def __init__(self, ctx: scmp.Context | None, program: bytes, flags: int,
                 uses_notify: bool) -> None:
        self._ctx = ctx
        self._spent = False
        self.program = program
        self.flags = flags
        self.uses_notify = uses_notify

    def export_pfc(self) -> str:
        """The filter as libseccomp Pseudo Filter Code (tests, ``--debug``); not for a
        program from the cache."""
        if self._ctx is None:
            raise InvalidArgument("seccomp: a cached filter has no libseccomp context")
        return self._ctx.export_pfc()

    def load(self) -> int | None:
        """Install the filter on this process; return the notify fd if it uses NOTIFY.

        The context is released whatever happens; the filter, once loaded, stays (and is
        inherited across fork and execve). The kernel accepts a filter only from a caller
        with NO_NEW_PRIVS set or CAP_SYS_ADMIN (else EACCES), so, as runc: with
        ``process.noNewPrivileges`` set PR_SET_NO_NEW_PRIVS and load last, just before
        execve; without it, load *before* dropping capabilities and switching user.
        """
        if self._spent:
            raise SyscallError(errno.EBADF, "seccomp", "(filter already loaded or released)")
        self.release()
        fd = scmp.set_mode_filter(self.program, self.flags)
        return fd if self.uses_notify else None

    def release(self) -> None:
        """Drop the filter without loading it."""
        self._spent = True
        if self._ctx is not None:
            self._ctx.release()


def _add_rules(ctx: scmp.Context, rule: SeccompSyscall, default: int) -> bool:
    """Add the rules of one ``syscalls[]`` entry; True if it asked for NOTIFY."""
    names = rule["names"]
    where = f"syscalls {names}"
    action = _action(rule["action"], rule.get("errnoRet"), where)
    if action == scmp.SCMP_ACT_NOTIFY and "write" in names:
        # The container would notify the agent about its own writes to the agent.
        raise InvalidArgument("seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall")
    if action == default:
        return False  # redundant: libseccomp refuses it
    for name in names:
        if not name:
            raise InvalidArgument("seccomp: empty syscall name")
        cmps = _comparisons(rule.get("args", []), name)
        nr = scmp.syscall_resolve_name(name)
        if nr is None:
            continue  # unknown to libseccomp (newer than it, or another arch's): skipped
        indexes = [c[0] for c in cmps]
        if len(set(indexes)) < len(indexes):
            for cmp in cmps:  # same index twice: one rule per comparison (an OR)
                ctx.rule_add(action, nr, [cmp], name=name)
        else:
            ctx.rule_add(action, nr, cmps, name=name)
    return action == scmp.SCMP_ACT_NOTIFY


def prepare_filter(section: Seccomp) -> SeccompFilter:
    """Build the filter ``section`` describes, without loading it.

    Raises :class:`InvalidArgument` for an unknown action, operator, architecture or flag,
    and :class:`SyscallError` if libseccomp refuses a rule.
    """
    default = _action(section["defaultAction"], section.get("defaultErrnoRet"),
                      "defaultAction")
    if default == scmp.SCMP_ACT_NOTIFY:
        raise InvalidArgument("seccomp: SCMP_ACT_NOTIFY cannot be the default action")
    listener = section.get("listenerPath", "")
    if listener and not listener.startswith("/"):
        raise InvalidArgument(f"seccomp: listenerPath {listener!r} is not an absolute path")
    if section.get("listenerMetadata") and not section.get("listenerPath"):
        # runtime-spec: listenerMetadata "MUST NOT be set if listenerPath is not set".
        raise InvalidArgument("seccomp: listenerMetadata is set without listenerPath")
    ctx = scmp.Context(default)
    try:
        arches = [scmp.arch_native()]  # there from seccomp_init
        for name in section.get("architectures", []):
            arch = _arch(name)
            if ctx.arch_add(arch):
                arches.append(arch)
        flags = 0
        for flag in section.get("flags", []):
            if flag in _UNSUPPORTED_FLAGS:
                raise Unsupported(f"seccomp: flag {flag} needs libseccomp >= 2.6")
            try:
                kernel_flag, attr = _FLAGS[flag]
            except KeyError:
                raise InvalidArgument(f"seccomp: unknown flag {flag!r}") from None
            ctx.attr_set(attr, 1)
            flags |= kernel_flag
        ctx.attr_set(scmp.SCMP_FLTATR_CTL_NNP, 0)
        rules = section.get("syscalls", [])
        if sum(len(r["names"]) for r in rules) > _OPTIMIZE_OVER:
            try:
                ctx.attr_set(scmp.SCMP_FLTATR_CTL_OPTIMIZE, 2)
            except OSError:
                pass  # an older libseccomp: a linear filter works too
        uses_notify = False
        for rule in rules:
            uses_notify |= _add_rules(ctx, rule, default)
        if uses_notify:
            if not section.get("listenerPath"):
                raise InvalidArgument(
                    "seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set")
            flags |= scmp.SECCOMP_FILTER_FLAG_NEW_LISTENER
            if flags & scmp.SECCOMP_FILTER_FLAG_TSYNC:
                # seccomp(2): TSYNC with NEW_LISTENER needs TSYNC_ESRCH (the return value
                # cannot be both a thread id and the fd).
                flags |= scmp.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
        stub = enosys_stub(last_syscalls(section, arches)) if needs_stub(section) else b""
        program = stub + ctx.export_bpf()
        if len(program) // 8 > _MAX_INSNS:
            raise InvalidArgument(f"seccomp: the profile compiles to {len(program) // 8} "
                                  f"BPF instructions, more than the kernel's {_MAX_INSNS}")
    except BaseException:
        ctx.release()
        raise
    return SeccompFilter(ctx, program, flags, uses_notify)


def forward_notify_fd(sock_fd: int, section: Seccomp, state: State,
                      pid: int | None = None) -> None:
    """The runtime's half: receive the notify fd the init sent over the sync socket
    ``sock_fd`` (SCM_RIGHTS) and send it with ``state`` to the agent, then close it."""
    from dockyard.linux.sockets import recv_fd

    _, fd = recv_fd(sock_fd)
    if fd < 0:
        raise SyscallError(errno.EBADMSG, "receive seccomp fd", "(none sent by the init)")
    try:
        send_to_listener(section.get("listenerPath", ""), state, fd,
                         section.get("listenerMetadata", ""), pid=pid)
    finally:
        os.close(fd)


def send_to_listener(listener_path: str, state: State, notify_fd: int,
                     metadata: str = "", *, pid: int | None = None) -> None:
    """Send the container process state and the seccomp listener fd to the agent.

    runtime-spec config-linux.md, ``listenerPath``: "This socket MUST use AF_UNIX domain and
    SOCK_STREAM type. The runtime MUST send exactly one container process state per
    connection. The connection MUST NOT be reused and it MUST be closed after sending a
    seccomp state. If sending to this socket fails, the runtime MUST generate an error."
    The message is the JSON ``ContainerProcessState`` (``ociVersion``, ``fds``: ["seccompFd"],
    ``pid``: ``pid`` or the state's, ``metadata`` if any, ``state``) with the fd attached as
    SCM_RIGHTS, as runc's ``sendContainerProcessState``. ``notify_fd`` stays open: the
    caller closes it.

    ``listenerPath`` is a host path: call this from the runtime (runc does it in the parent,
    which fetches the fd with pidfd_getfd), or connect before pivot_root.
    """
    import json  # only containers using SCMP_ACT_NOTIFY pay for these
    import socket

    message: dict[str, object] = {"ociVersion": state["ociVersion"], "fds": [SECCOMP_FD_NAME],
                                  "pid": state.get("pid", 0) if pid is None else pid}
    if metadata:
        message["metadata"] = metadata
    message["state"] = state
    data = json.dumps(message, separators=(",", ":")).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(listener_path)
            sent = socket.send_fds(sock, [data], [notify_fd])
            if sent < len(data):  # (sendall of nothing is a send(2): EPIPE if the agent
                sock.sendall(data[sent:])  # has read the whole state and gone)
    except OSError as e:
        raise SyscallError(e.errno or errno.EIO, "send seccomp fd to", listener_path) from e
