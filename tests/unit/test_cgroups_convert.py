"""OCI -> cgroup value conversions (runc's formulas)."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.cgroups import convert


@pytest.mark.parametrize(("shares", "weight"), [
    (0, 0), (2, 1), (1024, 39), (262144, 10000), (1, 1), (10**9, 10000),
])
def test_shares_to_weight(shares: int, weight: int) -> None:
    assert convert.shares_to_weight(shares) == weight


@pytest.mark.parametrize(("w", "io"), [(0, 0), (10, 1), (500, 4950), (1000, 10000)])
def test_blkio_to_io_weight(w: int, io: int) -> None:
    assert convert.blkio_to_io_weight(w) == io


@pytest.mark.parametrize(("quota", "period", "out"), [
    (50000, 100000, "50000 100000"), (50000, 0, "50000 100000"), (-1, 0, "max 100000"),
    (0, 20000, "max 20000"),
])
def test_cpu_max(quota: int, period: int, out: str) -> None:
    assert convert.cpu_max(quota, period) == out


@pytest.mark.parametrize(("swap", "limit", "out"), [
    (0, -1, -1), (-1, 100, -1), (0, 100, 0), (300, 100, 200), (100, 100, 0),
])
def test_swap_v2(swap: int, limit: int, out: int) -> None:
    assert convert.swap_v2(swap, limit) == out


@pytest.mark.parametrize(("swap", "limit"), [(100, 0), (100, -1), (50, 100), (10, -5)])
def test_swap_v2_invalid(swap: int, limit: int) -> None:
    with pytest.raises(InvalidArgument):
        convert.swap_v2(swap, limit)


def test_num_to_str_and_pids() -> None:
    assert [convert.num_to_str(v) for v in (0, -1, 5)] == ["", "max", "5"]
    assert [convert.pids_max(v) for v in (0, -1, 16)] == ["max", "max", "16"]


def test_swappiness_range() -> None:
    assert convert.swappiness(0) == "0"
    with pytest.raises(InvalidArgument, match="swappiness"):
        convert.swappiness(101)


def test_device_rules() -> None:
    assert convert.device_rule({"allow": False, "access": "rwm"}) == ("devices.deny", "a")
    assert convert.device_rule({"allow": True, "type": "c", "major": 1, "minor": 3,
                                "access": "rw"}) == ("devices.allow", "c 1:3 rw")
    assert convert.device_rule({"allow": True, "type": "b", "major": 8}) == (
        "devices.allow", "b 8:* rwm")
    with pytest.raises(InvalidArgument):
        convert.device_rule({"allow": True, "type": "x"})
    with pytest.raises(InvalidArgument):
        convert.device_rule({"allow": True, "type": "c", "access": "rwx"})


def test_block_device_lines() -> None:
    assert convert.weight_device({"major": 8, "minor": 0, "weight": 300}) == "8:0 300"
    assert convert.throttle_v1({"major": 8, "minor": 0, "rate": 1000}) == "8:0 1000"
    assert convert.throttle_v2({"major": 8, "minor": 0, "rate": 1000}, "rbps") == "8:0 rbps=1000"
    assert convert.throttle_v2({"major": 8, "minor": 0, "rate": 0}, "wiops") == "8:0 wiops=max"
