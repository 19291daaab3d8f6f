"""libseccomp (``libseccomp.so.2``) through ctypes, loaded on first use.

The library is dlopen'ed lazily so importing this module costs nothing; a container init
must call :func:`load_library` (or build a :class:`Context`) while host paths still exist,
i.e. before pivot_root. Every libseccomp call that fails returns a negative errno, which is
turned into a :class:`SyscallError` here, once (STYLE rule 1).

Lifecycle of a filter (seccomp.h): ``seccomp_init`` -> ``seccomp_arch_add`` /
``seccomp_attr_set`` / ``seccomp_rule_add_array`` ... -> ``seccomp_load`` ->
(``seccomp_notify_fd``) -> ``seccomp_release``. :class:`Context` follows that order.
"""

from __future__ import annotations

import ctypes
import os

from dockyard.linux._libc import libc
from dockyard.linux.errors import SyscallError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRAP",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
    "SCMP_FLTATR_CTL_LOG",
    "SCMP_FLTATR_CTL_NNP",
    "SCMP_FLTATR_CTL_OPTIMIZE",
    "SCMP_FLTATR_CTL_SSB",
    "SCMP_FLTATR_CTL_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
    "Context",
    "ScmpArgCmp",
    "act_errno",
    "act_trace",
    "arch_native",
    "arch_resolve_name",
    "load_library",
    "set_mode_filter",
    "syscall_resolve_name",
    "syscall_resolve_name_arch",
]

# Actions (seccomp.h):
#   #define SCMP_ACT_KILL_PROCESS   0x80000000U
#   #define SCMP_ACT_KILL_THREAD    0x00000000U
#   #define SCMP_ACT_KILL           SCMP_ACT_KILL_THREAD
#   #define SCMP_ACT_TRAP           0x00030000U
#   #define SCMP_ACT_NOTIFY         0x7fc00000U
#   #define SCMP_ACT_ERRNO(x)       (0x00050000U | ((x) & 0x0000ffffU))
#   #define SCMP_ACT_TRACE(x)       (0x7ff00000U | ((x) & 0x0000ffffU))
#   #define SCMP_ACT_LOG            0x7ffc0000U
#   #define SCMP_ACT_ALLOW          0x7fff0000U
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_NOTIFY = 0x7FC00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000


def act_errno(err: int) -> int:
    """``SCMP_ACT_ERRNO(x)``: ``0x00050000U | ((x) & 0x0000ffffU)``."""
    return 0x00050000 | (err & 0xFFFF)


def act_trace(msg: int) -> int:
    """``SCMP_ACT_TRACE(x)``: ``0x7ff00000U | ((x) & 0x0000ffffU)``."""
    return 0x7FF00000 | (msg & 0xFFFF)


# enum scmp_compare { _SCMP_CMP_MIN = 0, SCMP_CMP_NE = 1, SCMP_CMP_LT = 2, SCMP_CMP_LE = 3,
#                     SCMP_CMP_EQ = 4, SCMP_CMP_GE = 5, SCMP_CMP_GT = 6,
#                     SCMP_CMP_MASKED_EQ = 7, _SCMP_CMP_MAX };
SCMP_CMP_NE = 1
SCMP_CMP_LT = 2
SCMP_CMP_LE = 3
SCMP_CMP_EQ = 4
SCMP_CMP_GE = 5
SCMP_CMP_GT = 6
SCMP_CMP_MASKED_EQ = 7

# enum scmp_filter_attr { SCMP_FLTATR_ACT_DEFAULT = 1, SCMP_FLTATR_ACT_BADARCH = 2,
#   SCMP_FLTATR_CTL_NNP = 3, SCMP_FLTATR_CTL_TSYNC = 4, SCMP_FLTATR_API_TSKIP = 5,
#   SCMP_FLTATR_CTL_LOG = 6, SCMP_FLTATR_CTL_SSB = 7, SCMP_FLTATR_CTL_OPTIMIZE = 8,
#   SCMP_FLTATR_API_SYSRAWRC = 9 };
SCMP_FLTATR_CTL_NNP = 3
SCMP_FLTATR_CTL_TSYNC = 4
SCMP_FLTATR_CTL_LOG = 6
SCMP_FLTATR_CTL_SSB = 7
SCMP_FLTATR_CTL_OPTIMIZE = 8

# seccomp-syscalls.h: #define __NR_SCMP_ERROR -1
_NR_SCMP_ERROR = -1

# linux/seccomp.h
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1 << 0
SECCOMP_FILTER_FLAG_LOG = 1 << 1
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4


class ScmpArgCmp(ctypes.Structure):
    """One argument comparison (seccomp.h)::

        typedef uint64_t scmp_datum_t;
        struct scmp_arg_cmp {
            unsigned int arg;       /* argument number, starting at 0 */
            enum scmp_compare op;   /* the comparison op, e.g. SCMP_CMP_* */
            scmp_datum_t datum_a;
            scmp_datum_t datum_b;
        };

    For ``SCMP_CMP_MASKED_EQ``, ``datum_a`` is the mask and ``datum_b`` the value.
    """

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


_lib: ctypes.CDLL | None = None


def _bind(lib: ctypes.CDLL) -> None:
    ctx = ctypes.c_void_p
    u32 = ctypes.c_uint32
    cint = ctypes.c_int
    sigs: dict[str, tuple[object, list[object]]] = {
        # scmp_filter_ctx seccomp_init(uint32_t def_action);
        "seccomp_init": (ctx, [u32]),
        # void seccomp_release(scmp_filter_ctx ctx);
        "seccomp_release": (None, [ctx]),
        # int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token); and _remove
        "seccomp_arch_add": (cint, [ctx, u32]),
        "seccomp_arch_remove": (cint, [ctx, u32]),
        # uint32_t seccomp_arch_native(void);
        "seccomp_arch_native": (u32, []),
        # uint32_t seccomp_arch_resolve_name(const char *arch_name);
        "seccomp_arch_resolve_name": (u32, [ctypes.c_char_p]),
        # int seccomp_syscall_resolve_name(const char *name);
        "seccomp_syscall_resolve_name": (cint, [ctypes.c_char_p]),
        # int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
        "seccomp_syscall_resolve_name_arch": (cint, [u32, ctypes.c_char_p]),
        # int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
        #                            unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
        "seccomp_rule_add_array": (cint, [ctx, u32, cint, ctypes.c_uint,
                                          ctypes.POINTER(ScmpArgCmp)]),
        # int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value);
        "seccomp_attr_set": (cint, [ctx, cint, u32]),
        # int seccomp_load(const scmp_filter_ctx ctx);
        "seccomp_load": (cint, [ctx]),
        # int seccomp_notify_fd(const scmp_filter_ctx ctx);
        "seccomp_notify_fd": (cint, [ctx]),
        # int seccomp_export_pfc(const scmp_filter_ctx ctx, int fd); and _bpf
        "seccomp_export_pfc": (cint, [ctx, cint]),
        "seccomp_export_bpf": (cint, [ctx, cint]),
        # const struct scmp_version *seccomp_version(void);
        "seccomp_version": (ctypes.POINTER(ctypes.c_uint * 3), []),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def load_library() -> ctypes.CDLL:
    """dlopen libseccomp.so.2 once and bind its prototypes; later calls are free."""
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError as e:
            raise SyscallError(2, "dlopen", "libseccomp.so.2") from e
        _bind(lib)
        _lib = lib
    return _lib


def version() -> tuple[int, int, int]:
    """libseccomp's (major, minor, micro)."""
    major, minor, micro = load_library().seccomp_version().contents
    return major, minor, micro


def _check(ret: int, call: str, what: str | None = None) -> int:
    """libseccomp returns ``-errno`` on failure."""
    if ret < 0:
        raise SyscallError(-ret, call, what)
    return ret


def arch_native() -> int:
    """The arch token (``AUDIT_ARCH_*``) of the running kernel's native ABI."""
    return int(load_library().seccomp_arch_native())


def arch_resolve_name(name: str) -> int | None:
    """The arch token of a libseccomp arch name (``"x86_64"``, ``"aarch64"``), or None."""
    token = int(load_library().seccomp_arch_resolve_name(name.encode()))
    return token or None


def syscall_resolve_name(name: str) -> int | None:
    """The native syscall number (or a negative pseudo number) of ``name``, or None."""
    nr = int(load_library().seccomp_syscall_resolve_name(name.encode()))
    return None if nr == _NR_SCMP_ERROR else nr


def syscall_resolve_name_arch(arch: int, name: str) -> int | None:
    """The syscall number of ``name`` on arch token ``arch``, or None."""
    nr = int(load_library().seccomp_syscall_resolve_name_arch(arch, name.encode()))
    return None if nr == _NR_SCMP_ERROR else nr


class Context:
    """One ``scmp_filter_ctx``: build it, then :meth:`load` it, then :meth:`release` it.

    Releasing is idempotent; a released context refuses every other call with EBADF.
    """

    def __init__(self, default_action: int) -> None:
        self._ctx: int | None = None
        self._lib = load_library()
        ptr = self._lib.seccomp_init(default_action)
        if not ptr:
            raise SyscallError(22, "seccomp_init", f"default action {default_action:#x}")
        self._ctx = ptr

    def _ptr(self, call: str) -> int:
        if self._ctx is None:
            raise SyscallError(9, call, "(released filter context)")
        return self._ctx

    def arch_add(self, arch: int) -> bool:
        """Add arch token ``arch``; False if it was already there (-EEXIST)."""
        ret = self._lib.seccomp_arch_add(self._ptr("seccomp_arch_add"), arch)
        if ret == -17:  # EEXIST
            return False
        _check(ret, "seccomp_arch_add", f"{arch:#x}")
        return True

    def arch_remove(self, arch: int) -> None:
        _check(self._lib.seccomp_arch_remove(self._ptr("seccomp_arch_remove"), arch),
               "seccomp_arch_remove", f"{arch:#x}")

    def attr_set(self, attr: int, value: int) -> None:
        """Set filter attribute ``attr`` (``SCMP_FLTATR_*``)."""
        _check(self._lib.seccomp_attr_set(self._ptr("seccomp_attr_set"), attr, value),
               "seccomp_attr_set", str(attr))

    def rule_add(self, action: int, syscall: int,
                 args: Iterable[tuple[int, int, int, int]] = (),
                 name: str | None = None) -> None:
        """Add a rule: ``action`` when ``syscall`` is made and all ``args`` comparisons hold.

        Each comparison is ``(arg index, SCMP_CMP_* op, datum_a, datum_b)``. ``name`` only
        labels the error (``seccomp_rule_add mkdir: Invalid argument``).
        """
        cmps = [ScmpArgCmp(i, op, a & 0xFFFFFFFFFFFFFFFF, b & 0xFFFFFFFFFFFFFFFF)
                for i, op, a, b in args]
        array = (ScmpArgCmp * len(cmps))(*cmps)
        ret = self._lib.seccomp_rule_add_array(self._ptr("seccomp_rule_add"), action, syscall,
                                               len(cmps), array)
        _check(ret, "seccomp_rule_add", name if name is not None else str(syscall))

    def load(self) -> None:
        """seccomp_load(3): install the filter on the calling thread (or all, with TSYNC)."""
        _check(self._lib.seccomp_load(self._ptr("seccomp_load")), "seccomp_load")

    def notify_fd(self) -> int:
        """The listener fd of a loaded filter that uses ``SCMP_ACT_NOTIFY``."""
        return _check(self._lib.seccomp_notify_fd(self._ptr("seccomp_notify_fd")),
                      "seccomp_notify_fd")

    def export_pfc(self) -> str:
        """The filter as libseccomp's Pseudo Filter Code text (for tests and debugging)."""
        return self._export("seccomp_export_pfc").decode()

    def export_bpf(self) -> bytes:
        """The filter as the array of ``struct sock_filter`` the kernel runs (host endian)."""
        return self._export("seccomp_export_bpf")

    def _export(self, call: str) -> bytes:
        fd = os.memfd_create(call, os.MFD_CLOEXEC)
        try:
            _check(getattr(self._lib, call)(self._ptr(call), fd), call)
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def release(self) -> None:
        """seccomp_release(3): free the context; a loaded filter stays in the kernel."""
        if self._ctx is not None:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None

    def __del__(self) -> None:
        self.release()


class _SockFprog(ctypes.Structure):
    """linux/filter.h::

        struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; };
        struct sock_fprog { unsigned short len; struct sock_filter *filter; };
    """

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def set_mode_filter(program: bytes, flags: int = 0) -> int:
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): install a raw cBPF ``program``.

    ``program`` is packed ``struct sock_filter``s (8 bytes each). Returns the listener fd
    with ``SECCOMP_FILTER_FLAG_NEW_LISTENER``, else 0. Without NO_NEW_PRIVS the caller needs
    CAP_SYS_ADMIN. With ``TSYNC`` (and no ``TSYNC_ESRCH``) the kernel returns the id of a
    thread it could not synchronise: that is an ESRCH error here.
    """
    if not program or len(program) % 8:
        raise SyscallError(22, "seccomp", f"(program of {len(program)} bytes)")
    nr = syscall_resolve_name("seccomp")
    if nr is None:
        raise SyscallError(38, "seccomp")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_char_p))
    ret = int(libc.syscall(ctypes.c_long(nr), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                           ctypes.c_long(flags), ctypes.byref(prog)))
    if ret == -1:
        raise SyscallError(ctypes.get_errno(), "seccomp")
    if ret > 0 and flags & SECCOMP_FILTER_FLAG_TSYNC and \
            not flags & (SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH):
        raise SyscallError(3, "seccomp", f"(thread {ret} could not be synchronised)")
    return ret if flags & SECCOMP_FILTER_FLAG_NEW_LISTENER else 0
