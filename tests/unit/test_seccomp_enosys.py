"""The -ENOSYS stub, run on a small cBPF interpreter (nothing is loaded into the kernel)."""

from __future__ import annotations

import errno
import struct

import pytest

from dockyard.engine.profiles import default_seccomp_profile
from dockyard.linux import seccomp as scmp
from dockyard.runtime import seccomp_enosys as en
from dockyard.runtime.seccomp import prepare_filter

X86_64 = en.AUDIT_ARCH_X86_64
I386 = 0x40000003
AARCH64 = 0xC00000B7
S390X = 0x80000016
ENOSYS = scmp.act_errno(errno.ENOSYS)
FILTER = 0x7FFF0000  # stands for "reached libseccomp's filter"


def run(program: bytes, arch: int, nr: int) -> int:
    """Run the cBPF subset the stub uses on seccomp_data {nr, arch}; return the verdict."""
    insns = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    data = {0: nr, 4: arch}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == en.LD_W_ABS:
            acc = data[k]
        elif code == en.RET_K:
            return int(k)
        elif code == en.JA:
            pc += k
        else:
            cond = {en.JEQ_K: acc == k, en.JGT_K: acc > k, en.JSET_K: bool(acc & k)}[code]
            pc += jt if cond else jf


def stub_then_filter(last: dict[int, dict[int, int]]) -> bytes:
    return en.enosys_stub(last) + struct.pack("=HBBI", en.RET_K, 0, 0, FILTER)


def test_single_arch() -> None:
    prog = stub_then_filter({AARCH64: {AARCH64: 449}})
    assert run(prog, AARCH64, 0) == FILTER
    assert run(prog, AARCH64, 449) == FILTER
    assert run(prog, AARCH64, 450) == ENOSYS
    assert run(prog, X86_64, 1000) == FILTER  # another arch: libseccomp decides


def test_x86_64_with_x32_and_i386() -> None:
    last = {X86_64: {X86_64: 449, en.SCMP_ARCH_X32: 0x40000223}, I386: {I386: 449}}
    prog = stub_then_filter(last)
    assert run(prog, X86_64, 449) == FILTER
    assert run(prog, X86_64, 452) == ENOSYS
    assert run(prog, X86_64, 0x40000223) == FILTER
    assert run(prog, X86_64, 0x40000224) == ENOSYS
    assert run(prog, I386, 100) == FILTER
    assert run(prog, I386, 460) == ENOSYS


def test_x86_64_without_x32() -> None:
    prog = stub_then_filter({X86_64: {X86_64: 449}})
    assert run(prog, X86_64, 452) == ENOSYS
    assert run(prog, X86_64, 0x40000001) == FILTER  # x32: libseccomp's bad-arch action


def test_x32_only() -> None:
    prog = stub_then_filter({X86_64: {en.SCMP_ARCH_X32: 0x40000100}})
    assert run(prog, X86_64, 0x40000101) == ENOSYS
    assert run(prog, X86_64, 0x40000100) == FILTER
    assert run(prog, X86_64, 500) == FILTER


def test_s390x_setup_is_enosys() -> None:
    prog = stub_then_filter({S390X: {S390X: 440}})
    assert run(prog, S390X, 0) == ENOSYS
    assert run(prog, S390X, 5) == FILTER
    assert run(prog, S390X, 441) == ENOSYS


def test_no_arch_is_a_plain_jump() -> None:
    prog = stub_then_filter({})
    assert run(prog, X86_64, 1000) == FILTER


@pytest.mark.parametrize(("default", "errno_ret", "stub"), [
    ("SCMP_ACT_ERRNO", None, True), ("SCMP_ACT_KILL_PROCESS", None, True),
    ("SCMP_ACT_ERRNO", errno.ENOSYS, False), ("SCMP_ACT_ALLOW", None, False),
    ("SCMP_ACT_LOG", None, False), ("SCMP_ACT_TRACE", None, False),
])
def test_needs_stub(default: str, errno_ret: int | None, stub: bool) -> None:
    section = {"defaultAction": default}
    if errno_ret is not None:
        section["defaultErrnoRet"] = errno_ret  # type: ignore[assignment]
    assert en.needs_stub(section) is stub  # type: ignore[arg-type]


def test_last_syscalls_of_docker_profile() -> None:
    x86, x32 = scmp.arch_resolve_name("x86"), scmp.arch_resolve_name("x32")
    assert x86 is not None and x32 is not None
    last = en.last_syscalls(default_seccomp_profile(), [X86_64, x86, x32])
    assert set(last) == {X86_64, I386}
    assert set(last[X86_64]) == {X86_64, en.SCMP_ARCH_X32}
    assert last[X86_64][X86_64] == 449  # futex_waitv
    assert last[X86_64][en.SCMP_ARCH_X32] & en.X32_SYSCALL_BIT


def test_filter_program_is_stub_then_libseccomp() -> None:
    profile = default_seccomp_profile()
    f = prepare_filter(profile)
    try:
        x86, x32 = scmp.arch_resolve_name("x86"), scmp.arch_resolve_name("x32")
        assert x86 is not None and x32 is not None
        stub = en.enosys_stub(en.last_syscalls(profile, [X86_64, x86, x32]))
        assert f.program.startswith(stub)
        assert run(f.program[:len(stub)] + struct.pack("=HBBI", en.RET_K, 0, 0, FILTER),
                   X86_64, 452) == ENOSYS
    finally:
        f.release()


def test_no_stub_for_allow_default() -> None:
    section = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    f = prepare_filter(section)  # type: ignore[arg-type]
    ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
    try:
        ctx.rule_add(scmp.act_errno(errno.EPERM), 83)
        assert f.program == ctx.export_bpf()
    finally:
        f.release()
        ctx.release()
