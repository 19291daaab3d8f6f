"""dockyard.linux.seccomp: constants, name resolution and context building (nothing loaded)."""

from __future__ import annotations

import errno
import struct

import pytest

from dockyard.linux import seccomp as scmp
from dockyard.linux.errors import SyscallError


def test_action_constants_match_seccomp_h() -> None:
    assert scmp.act_errno(1) == 0x00050001
    assert scmp.act_errno(0x1_0001) == 0x00050001  # masked to 16 bits
    assert scmp.act_trace(38) == 0x7FF00026
    assert scmp.SCMP_ACT_KILL_PROCESS == 0x80000000
    assert scmp.SCMP_ACT_ALLOW == 0x7FFF0000


def test_resolve_names() -> None:
    assert scmp.arch_resolve_name("x86_64") == 0xC000003E
    assert scmp.arch_resolve_name("no-such-arch") is None
    assert scmp.syscall_resolve_name("no_such_syscall") is None
    x86_64 = scmp.arch_resolve_name("x86_64")
    assert x86_64 is not None
    assert scmp.syscall_resolve_name_arch(x86_64, "mkdir") == 83
    assert scmp.syscall_resolve_name_arch(x86_64, "read") == 0


def test_rule_to_pfc() -> None:
    ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
    try:
        ctx.rule_add(scmp.act_errno(errno.EPERM), 83, name="mkdir")
        ctx.rule_add(scmp.act_errno(errno.EACCES), 41, [(0, scmp.SCMP_CMP_EQ, 2, 0)],
                     name="socket")
        pfc = ctx.export_pfc()
    finally:
        ctx.release()
    assert 'filter for syscall "mkdir" (83)' in pfc
    assert "action ERRNO(1);" in pfc
    assert "if ($a0.lo32 == 2)" in pfc
    assert "action ERRNO(13);" in pfc


def test_rule_equal_to_default_is_rejected_with_context() -> None:
    ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
    with pytest.raises(SyscallError) as e:
        ctx.rule_add(scmp.SCMP_ACT_ALLOW, 83, name="mkdir")
    ctx.release()
    assert e.value.errno == errno.EACCES
    assert str(e.value) == "seccomp_rule_add mkdir: Permission denied"


def test_released_context_refuses_calls() -> None:
    ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
    ctx.release()
    ctx.release()
    with pytest.raises(SyscallError) as e:
        ctx.load()
    assert e.value.errno == errno.EBADF


def test_arch_add_existing_is_false() -> None:
    ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
    try:
        assert ctx.arch_add(scmp.arch_native()) is False
        x86 = scmp.arch_resolve_name("x86")
        assert x86 is not None
        assert ctx.arch_add(x86) is True
        assert "filter for arch x86 " in ctx.export_pfc()
    finally:
        ctx.release()


def test_invalid_default_action() -> None:
    with pytest.raises(SyscallError):
        scmp.Context(0x12345678)


def test_set_mode_filter_rejects_a_malformed_program() -> None:
    for program in (b"", b"\x06\x00\x00\x00\x00\x00\xff"):
        with pytest.raises(SyscallError) as e:
            scmp.set_mode_filter(program)
        assert e.value.errno == errno.EINVAL


def test_export_bpf_is_sock_filters() -> None:
    ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
    try:
        bpf = ctx.export_bpf()
    finally:
        ctx.release()
    assert len(bpf) % 8 == 0
    assert bpf[:8] == struct.pack("=HBBI", 0x20, 0, 0, 4)  # ld [4]: seccomp_data.arch
    assert struct.pack("=HBBI", 0x06, 0, 0, scmp.SCMP_ACT_ALLOW) in bpf
    assert bpf[-8:] == struct.pack("=HBBI", 0x06, 0, 0, scmp.SCMP_ACT_KILL_THREAD)  # bad arch
