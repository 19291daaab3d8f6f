"""Pins the public surface of the seccomp and capabilities modules (STYLE rule 8)."""

from __future__ import annotations

import importlib

import pytest

SURFACE = {
    "dockyard.linux.seccomp": [
        "SCMP_ACT_ALLOW", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY", "SCMP_ACT_TRAP", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
        "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
        "SCMP_FLTATR_CTL_LOG", "SCMP_FLTATR_CTL_NNP", "SCMP_FLTATR_CTL_OPTIMIZE",
        "SCMP_FLTATR_CTL_SSB", "SCMP_FLTATR_CTL_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_NEW_LISTENER", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_TSYNC_ESRCH", "Context", "ScmpArgCmp",
        "act_errno",
        "act_trace", "arch_native", "arch_resolve_name", "load_library",
        "set_mode_filter", "syscall_resolve_name", "syscall_resolve_name_arch",
    ],
    "dockyard.runtime.seccomp": [
        "SECCOMP_FD_NAME", "SeccompFilter", "forward_notify_fd", "prepare_filter",
        "send_to_listener",
    ],
    "dockyard.runtime.capabilities": [
        "CAPABILITIES", "CapSets", "apply_process_caps", "caps_to_mask", "drop_bounding",
        "mask_to_names",
    ],
    "dockyard.runtime.seccomp_enosys": ["enosys_stub", "last_syscalls", "needs_stub"],
    "dockyard.engine.profiles": ["CAP_SYSCALLS", "default_seccomp_profile",
                                 "seccomp_profile_for"],
    "dockyard.runtime": [],
    "dockyard.engine": [],
}


@pytest.mark.parametrize("module", sorted(SURFACE))
def test_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(SURFACE[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name
