"""dockyard.runtime.seccomp: OCI seccomp sections -> filters, checked as PFC text (not loaded)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.engine.profiles import default_seccomp_profile
from dockyard.errors import InvalidArgument, Unsupported
from dockyard.runtime.seccomp import prepare_cached, prepare_filter

if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Seccomp


def pfc(section: Seccomp) -> str:
    f = prepare_filter(section)
    try:
        return f.export_pfc()
    finally:
        f.release()


def test_plain_rule_and_default() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "rmdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert 'filter for syscall "mkdir" (83)' in text
    assert 'filter for syscall "rmdir" (84)' in text
    assert text.count("action ERRNO(1);") == 2  # errnoRet defaults to EPERM
    assert "# default action\n  action ALLOW;" in text


def test_default_errno_ret_and_rule_errno_ret() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                             {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                             {"names": ["rmdir"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}]})
    assert "action ERRNO(38);" in text
    assert "action ERRNO(13);" in text
    assert "action TRACE(7);" in text


@pytest.mark.parametrize(("name", "pfc_action"), [
    ("SCMP_ACT_KILL", "KILL;"), ("SCMP_ACT_KILL_THREAD", "KILL;"),
    ("SCMP_ACT_KILL_PROCESS", "KILL_PROCESS;"), ("SCMP_ACT_TRAP", "TRAP;"),
    ("SCMP_ACT_LOG", "LOG;"), ("SCMP_ACT_TRACE", "TRACE(1);"),
    ("SCMP_ACT_NOTIFY", "0x7fc00000;"),  # libseccomp 2.5 prints NOTIFY as its number
])
def test_actions(name: str, pfc_action: str) -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                "syscalls": [{"names": ["mkdir"], "action": name}]})
    assert f'filter for syscall "mkdir" (83) [priority: 65535]\n  if ($syscall == 83)\n' \
           f"    action {pfc_action}" in text


def test_rule_equal_to_default_is_skipped() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                             {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2}]})
    assert '"mkdir"' not in text
    assert '"rmdir"' in text


def test_unknown_syscall_is_skipped() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["no_such_call", "mkdir"], "action": "SCMP_ACT_LOG"}]})
    assert '"mkdir"' in text
    assert "no_such_call" not in text


def test_args_on_distinct_indexes_are_one_rule() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
        "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}]})
    # nested: a0 == 2 AND a1 == 1
    assert ("      if ($a0.lo32 == 2)\n        if ($a1.hi32 == 0)\n"
            "          if ($a1.lo32 == 1)\n            action ERRNO(13);") in text


def test_args_on_the_same_index_are_one_rule_each() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                 {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": 3, "op": "SCMP_CMP_GT"}]}]})
    # siblings (OR), not nested; the a1 comparison is a rule of its own too
    assert "      if ($a0.lo32 == 8)\n        action ERRNO(1);\n" \
           "      if ($a0.lo32 == 0)\n        action ERRNO(1);" in text
    assert "if ($a1.lo32 > 3)\n          action ERRNO(1);" in text


def test_masked_eq_uses_value_as_mask_and_value_two() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["clone"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ",
                  "valueTwo": 0x10000000}]}]})
    assert "if ($a0.lo32 & 0x7e020000 == 268435456)" in text


# PFC writes "a1 < 5" as "if a1 >= 5 (nothing) else action", so NE/LT/LE show as an else.
@pytest.mark.parametrize(("op", "shown"), [
    ("SCMP_CMP_NE", "if ($a1.lo32 == 5)\n      else\n        action ERRNO(1);"),
    ("SCMP_CMP_LT", "if ($a1.lo32 >= 5)\n        else\n          action ERRNO(1);"),
    ("SCMP_CMP_LE", "if ($a1.lo32 > 5)\n        else\n          action ERRNO(1);"),
    ("SCMP_CMP_GE", "if ($a1.lo32 >= 5)\n          action ERRNO(1);"),
    ("SCMP_CMP_GT", "if ($a1.lo32 > 5)\n          action ERRNO(1);"),
])
def test_compare_ops(op: str, shown: str) -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 1, "value": 5, "op": op}]}]})
    assert shown in text


def test_architectures_are_added() -> None:
    text = pfc({"defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert "# filter for arch x86_64 " in text
    assert "# filter for arch x86 " in text
    assert "# filter for arch x32 " in text


def test_flags_accepted() -> None:
    pfc({"defaultAction": "SCMP_ACT_ALLOW",
         "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})


def test_notify_is_reported() -> None:
    f = prepare_filter({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    assert f.uses_notify
    f.release()
    f = prepare_filter({"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]})
    assert not f.uses_notify
    f.release()


@pytest.mark.parametrize(("section", "message"), [
    ({"defaultAction": "SCMP_ACT_FOO"},
     "seccomp: unknown action 'SCMP_ACT_FOO' in defaultAction"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]},
     "seccomp: unknown action 'SCMP_ACT_NOPE' in syscalls ['mkdir']"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]},
     "seccomp: unknown architecture 'SCMP_ARCH_Z80'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]},
     "seccomp: unknown architecture 'x86_64'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]},
     "seccomp: unknown flag 'SECCOMP_FILTER_FLAG_FAST'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]},
     "seccomp: unknown operator 'SCMP_CMP_ABOUT' for 'mkdir'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "seccomp: argument index 6 of 'mkdir' is not 0-5"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"},
     "seccomp: SCMP_ACT_NOTIFY cannot be the default action"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]},
     "seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"},
     "seccomp: listenerMetadata is set without listenerPath"),
])
def test_invalid_sections(section: Seccomp, message: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        prepare_filter(section)
    assert str(e.value) == message


def test_unsupported_flag() -> None:
    with pytest.raises(Unsupported):
        prepare_filter({"defaultAction": "SCMP_ACT_ALLOW",
                        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})


def test_docker_default_profile_builds() -> None:
    profile = default_seccomp_profile()
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    text = pfc(profile)
    assert "# filter for arch x86 " in text
    assert 'filter for syscall "clone3"' in text
    assert "action ERRNO(38);" in text
    assert '"unshare"' not in text  # not allowed: falls to the default EPERM


def test_default_profile_is_a_fresh_copy() -> None:
    a = default_seccomp_profile()
    a["defaultAction"] = "SCMP_ACT_ALLOW"
    assert default_seccomp_profile()["defaultAction"] == "SCMP_ACT_ERRNO"


def test_runtime_seccomp_imports_no_typing() -> None:
    import subprocess
    import sys
    code = ("import sys, dockyard.runtime.seccomp, dockyard.runtime.capabilities;"
            "bad = {'typing', 'json', 're', 'enum', 'dataclasses'} & set(sys.modules);"
            "print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "[]\n"


def test_a_released_filter_cannot_be_loaded() -> None:
    f = prepare_filter({"defaultAction": "SCMP_ACT_ALLOW"})
    f.release()
    with pytest.raises(OSError) as e:
        f.load()
    assert str(e.value) == "seccomp (filter already loaded or released): Bad file descriptor"


def test_the_cache_gives_the_program_it_compiled(tmp_path: Path) -> None:
    """prepare_cached: the first call compiles and stores; later calls of the same section
    read the same program, flags and NOTIFY use back (no libseccomp context); another
    section is another entry; a damaged entry is compiled again."""
    section: Seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    first = prepare_cached(section, str(tmp_path))
    compiled = prepare_filter(section)
    assert first.program == compiled.program and first.flags == compiled.flags
    compiled.release()
    first.release()
    entries = list(tmp_path.iterdir())
    assert len(entries) == 1
    again = prepare_cached(section, str(tmp_path))
    assert (again.program, again.flags, again.uses_notify) == (first.program, first.flags,
                                                              False)
    with pytest.raises(InvalidArgument):
        again.export_pfc()  # read from the cache: nothing to print
    again.release()
    other = prepare_cached({**section, "defaultAction": "SCMP_ACT_LOG"}, str(tmp_path))
    assert other.program != first.program
    other.release()
    assert len(list(tmp_path.iterdir())) == 2
    entries[0].write_bytes(b"garbage")
    rebuilt = prepare_cached(section, str(tmp_path))
    assert rebuilt.program == first.program
    rebuilt.export_pfc()  # compiled: it has its context
    rebuilt.release()


def test_the_cache_dir_is_not_a_container(tmp_path: Path) -> None:
    from dockyard.runtime.state import SECCOMP_CACHE, list_ids

    (tmp_path / "c1").mkdir()
    (tmp_path / SECCOMP_CACHE).mkdir()
    assert list_ids(str(tmp_path)) == ["c1"]
