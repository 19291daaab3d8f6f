"""runc's -ENOSYS stub: syscalls newer than every syscall a profile names fail with ENOSYS.

A deny-by-default profile written before a syscall existed answers it with the default errno
(EPERM for Docker's). But a libc probes a new syscall and falls back to an older one only on
ENOSYS (glibc: ``clone3``, ``faccessat2``, ``fchmodat2``...), so EPERM breaks it. runc
(``libcontainer/seccomp/patchbpf/enosys_linux.go``) therefore puts a small cBPF program in
front of libseccomp's: for each architecture of the filter, a syscall number above the
largest one the profile names returns ``SECCOMP_RET_ERRNO | ENOSYS``; everything else falls
through to the libseccomp filter. Like runc, no stub is added when the default action lets
syscalls through (ALLOW, LOG, TRACE) or already returns ENOSYS.
"""

from __future__ import annotations

import errno
import struct

from dockyard.linux import seccomp as scmp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Seccomp

    # An instruction before jump resolution: (code, jt, jf, k); jt/jf are a relative
    # count, or "E" (the ENOSYS return) or "F" (the first instruction of libseccomp's filter).
    _Insn = tuple[int, int | str, int | str, int]

__all__ = ["enosys_stub", "last_syscalls", "needs_stub"]

# linux/bpf_common.h: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JA, BPF_JMP|BPF_JEQ|BPF_K,
# BPF_JMP|BPF_JGT|BPF_K, BPF_JMP|BPF_JSET|BPF_K, BPF_RET|BPF_K.
LD_W_ABS = 0x20
JA = 0x05
JEQ_K = 0x15
JGT_K = 0x25
JSET_K = 0x45
RET_K = 0x06

# linux/seccomp.h: struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer;
#                                        __u64 args[6]; };
_OFF_NR = 0
_OFF_ARCH = 4
RET_ENOSYS = scmp.act_errno(errno.ENOSYS)  # SECCOMP_RET_ERRNO | ENOSYS: same encoding

# linux/audit.h: AUDIT_ARCH_X86_64 = EM_X86_64|__AUDIT_ARCH_64BIT|__AUDIT_ARCH_LE. seccomp.h:
# SCMP_ARCH_X32 = (EM_X86_64|__AUDIT_ARCH_LE), a libseccomp-only token: the kernel reports
# x32 as AUDIT_ARCH_X86_64 with __X32_SYSCALL_BIT (0x40000000) set in the syscall number.
AUDIT_ARCH_X86_64 = 0xC000003E
SCMP_ARCH_X32 = 0x4000003E
X32_SYSCALL_BIT = 0x40000000
# AUDIT_ARCH_S390, AUDIT_ARCH_S390X: an unknown "large" syscall reaches the filter as
# setup(2), number 0, which must get ENOSYS too.
_S390 = (0x00000016, 0x80000016)

_LOOSE_DEFAULTS = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")


def needs_stub(section: Seccomp) -> bool:
    """runc ``generatePatch``: a stub unless the default already allows or returns ENOSYS."""
    if section.get("defaultErrnoRet") == errno.ENOSYS:
        return False
    return section["defaultAction"] not in _LOOSE_DEFAULTS


def last_syscalls(section: Seccomp, arches: list[int]) -> dict[int, dict[int, int]]:
    """Kernel arch -> {libseccomp arch token -> largest syscall number ``section`` names}.

    ``arches`` are the libseccomp tokens of the filter (native included). x86_64 and x32
    share a kernel arch, so that one may hold two entries. Unknown names and libseccomp's
    negative pseudo numbers are ignored; an arch with no known syscall gets no entry.
    """
    names = {n for rule in section.get("syscalls", []) for n in rule["names"]}
    out: dict[int, dict[int, int]] = {}
    for arch in arches:
        numbers = (scmp.syscall_resolve_name_arch(arch, n) for n in names)
        largest = max((nr for nr in numbers if nr is not None and nr > 0), default=0)
        if largest:
            kernel_arch = AUDIT_ARCH_X86_64 if arch == SCMP_ARCH_X32 else arch
            out.setdefault(kernel_arch, {})[arch] = largest
    return out


def _arch_body(kernel_arch: int, largest: dict[int, int]) -> list[_Insn]:
    body: list[_Insn] = [(LD_W_ABS, 0, 0, _OFF_NR)]
    if kernel_arch in _S390:
        body.append((JEQ_K, "E", 0, 0))
    if kernel_arch == AUDIT_ARCH_X86_64:
        native, x32 = largest.get(AUDIT_ARCH_X86_64), largest.get(SCMP_ARCH_X32)
        if native and x32:
            body += [(JSET_K, 1, 0, X32_SYSCALL_BIT),
                     (JGT_K, "E", "F", native),
                     (JGT_K, "E", "F", x32)]
        elif native:  # x32 calls go to libseccomp, which rejects them as a bad arch
            body += [(JSET_K, "F", 0, X32_SYSCALL_BIT), (JGT_K, "E", "F", native)]
        elif x32:
            body += [(JSET_K, 0, "F", X32_SYSCALL_BIT), (JGT_K, "E", "F", x32)]
        return body
    (nr,) = largest.values()
    body.append((JGT_K, "E", "F", nr))
    return body


def enosys_stub(last: dict[int, dict[int, int]]) -> bytes:
    """The stub program, packed ``struct sock_filter``s to put before libseccomp's::

        for each kernel arch:  ld [arch]; jeq ARCH, 0, <next arch>
                               ld [nr];   jgt LARGEST, ENOSYS, FILTER   (x86_64: per ABI)
        ja FILTER
        ENOSYS: ret SECCOMP_RET_ERRNO|ENOSYS
        FILTER: (libseccomp's program, which loads what it needs itself)
    """
    insns: list[_Insn] = []
    for kernel_arch in sorted(last):
        body = _arch_body(kernel_arch, last[kernel_arch])
        insns += [(LD_W_ABS, 0, 0, _OFF_ARCH), (JEQ_K, 0, len(body), kernel_arch)]
        insns += body
    insns += [(JA, 0, 0, 1), (RET_K, 0, 0, RET_ENOSYS)]
    targets = {"E": len(insns) - 1, "F": len(insns)}
    out = []
    for i, (code, jt, jf, k) in enumerate(insns):
        rel_t = targets[jt] - i - 1 if isinstance(jt, str) else jt
        rel_f = targets[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= rel_t <= 255 and 0 <= rel_f <= 255):  # a stub stays tiny
            raise ValueError(f"enosys stub jump out of range at {i}")
        out.append(struct.pack("=HBBI", code, rel_t, rel_f, k))
    return b"".join(out)
