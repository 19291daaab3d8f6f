"""dockyard.runtime.capabilities: name table and masks (nothing applied here)."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.capabilities import CAPABILITIES, CapSets, caps_to_mask, mask_to_names


def test_table_matches_capability_h() -> None:
    assert CAPABILITIES["CAP_CHOWN"] == 0
    assert CAPABILITIES["CAP_SETPCAP"] == 8
    assert CAPABILITIES["CAP_SYS_ADMIN"] == 21
    assert CAPABILITIES["CAP_SETFCAP"] == 31
    assert CAPABILITIES["CAP_MAC_OVERRIDE"] == 32
    assert CAPABILITIES["CAP_CHECKPOINT_RESTORE"] == 40
    assert sorted(CAPABILITIES.values()) == list(range(41))


def test_docker_defaults_mask() -> None:
    names = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
             "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
             "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    mask = caps_to_mask(names, last=40)
    assert mask == 0xA80425FB  # CapBnd of a `docker run` container
    assert sorted(mask_to_names(mask)) == sorted(names)


def test_round_trip_all() -> None:
    mask = caps_to_mask(CAPABILITIES, last=40)
    assert mask == (1 << 41) - 1
    assert mask_to_names(mask) == list(CAPABILITIES)


def test_empty() -> None:
    assert caps_to_mask([], last=40) == 0
    assert mask_to_names(0) == []


def test_unnamed_bit() -> None:
    assert mask_to_names(1 << 45 | 1) == ["CAP_CHOWN", "CAP_45"]


def test_unknown_name() -> None:
    with pytest.raises(InvalidArgument) as e:
        caps_to_mask(["CAP_CHOWN", "CAP_FOO"], last=40)
    assert str(e.value) == 'unknown capability "CAP_FOO"'


def test_cap_beyond_kernel_is_skipped_with_warning(capfd: pytest.CaptureFixture[str]) -> None:
    mask = caps_to_mask(["CAP_CHOWN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"], last=38)
    assert mask == 1
    err = capfd.readouterr().err
    assert err == ("dockyard: warning: ignoring capabilities this kernel lacks: "
                   "CAP_BPF, CAP_CHECKPOINT_RESTORE\n")


def test_running_kernel_last_cap() -> None:
    assert caps_to_mask(["CAP_CHOWN", "CAP_SYS_ADMIN"]) == 1 << 21 | 1


def test_cap_sets_from_spec() -> None:
    sets = CapSets.from_spec({"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"],
                              "ambient": ["CAP_KILL"]}, last=40)
    assert sets == CapSets(bounding=0x21, effective=0x20, ambient=0x20)
    assert sets.permitted == 0
    assert sets.inheritable == 0
    assert repr(CapSets(bounding=1)) == ("CapSets(ambient=0x0, bounding=0x1, effective=0x0, "
                                         "inheritable=0x0, permitted=0x0)")


def test_cap_sets_from_spec_unknown() -> None:
    with pytest.raises(InvalidArgument):
        CapSets.from_spec({"permitted": ["CAP_NOPE"]})
