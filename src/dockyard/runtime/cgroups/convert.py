"""Pure conversions from OCI ``linux.resources`` values to cgroup file contents.

Each function quotes the rule it packs: the kernel's cgroup-v1/cgroup-v2 documentation or
the runc conversion (``libcontainer/cgroups/utils.go``) that dockyard matches.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import DeviceCgroup, ThrottleDevice, WeightDevice

#: cgroup-v2.rst: "cpu.max ... $MAX $PERIOD ... If only one number is written, $MAX is
#: updated." runc writes the documented default period when only a quota is given.
DEFAULT_CFS_PERIOD = 100000


def num_to_str(value: int) -> str:
    """runc ``numToStr``: 0 is "unset" (""), -1 is "max", else the decimal value."""
    if value == 0:
        return ""
    if value == -1:
        return "max"
    return str(value)


def shares_to_weight(shares: int) -> int:
    """cpu.shares (v1, [2, 262144]) -> cpu.weight (v2, [1, 10000]).

    runc ``ConvertCPUSharesToCgroupV2Value``: ``1 + ((shares-2)*9999)/262142``, 0 stays 0
    (unset). Shares are first clamped to the v1 range, as the v1 kernel does
    (MIN_SHARES=2, MAX_SHARES=262144), so 1 cannot underflow into a huge weight.
    """
    if shares == 0:
        return 0
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """blkio.weight (v1, [10, 1000]) -> io.weight (v2, [1, 10000]).

    runc ``ConvertBlkIOToIOWeightValue``: ``1 + (weight-10)*9999/990``; 0 stays 0 (unset).
    """
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def cpu_max(quota: int, period: int) -> str:
    """cgroup-v2.rst: cpu.max is "$MAX $PERIOD ... "max" for $MAX indicates no limit".

    runc fs2 ``setCPU``: a quota <= 0 is "max"; a missing period is 100000 (the default).
    """
    head = str(quota) if quota > 0 else "max"
    return f"{head} {period or DEFAULT_CFS_PERIOD}"


def swap_v2(swap: int, limit: int) -> int:
    """OCI ``memory.swap`` is memory+swap (the v1 memsw meaning); v2 memory.swap.max is
    swap alone. runc ``ConvertMemorySwapToCgroupV2Value``: unlimited memory without a swap
    value means unlimited swap; -1/0 stay "max"/unset; otherwise ``swap - limit``.
    """
    if limit == -1 and swap == 0:
        return -1
    if swap in (-1, 0):
        return swap
    if limit in (0, -1):
        raise InvalidArgument("cgroup: memory.swap needs a memory.limit as well")
    if limit < 0:
        raise InvalidArgument(f"cgroup: invalid memory.limit {limit}")
    if swap < limit:
        raise InvalidArgument(f"cgroup: memory.swap {swap} (memory+swap) is below "
                              f"memory.limit {limit}")
    return swap - limit


def pids_max(limit: int) -> str:
    """pids.max (both versions): "max" or a count; OCI ``pids.limit`` <= 0 means no limit."""
    return str(limit) if limit > 0 else "max"


def swappiness(value: int) -> str:
    """memory.swappiness accepts 0-100 (cgroup-v1 memory.rst 5.3); -1 is "unset" (runc)."""
    if not 0 <= value <= 100:
        raise InvalidArgument(f"cgroup: invalid memory.swappiness {value} "
                              "(valid range is 0-100)")
    return str(value)


def device_rule(rule: DeviceCgroup) -> tuple[str, str]:
    """An OCI device rule as (v1 file, line).

    cgroup-v1 devices.rst: "Each entry has 4 fields: type, major, minor, and access. type
    can be a (all), c (char), or b (block). ... major and minor are either integers or *
    for all. access is a composition of r (read), w (write), and m (mknod)." Missing OCI
    fields mean "all": type a, ``*`` numbers, access rwm.
    """
    kind = rule.get("type", "a") or "a"
    if kind not in ("a", "b", "c"):
        raise InvalidArgument(f"cgroup: invalid device rule type {kind!r}")
    access = rule.get("access", "rwm") or "rwm"
    if set(access) - set("rwm"):
        raise InvalidArgument(f"cgroup: invalid device rule access {access!r}")
    major, minor = rule.get("major", -1), rule.get("minor", -1)
    maj = "*" if major is None or major < 0 else str(major)
    mnr = "*" if minor is None or minor < 0 else str(minor)
    target = "devices.allow" if rule["allow"] else "devices.deny"
    if kind == "a":
        return target, "a"
    return target, f"{kind} {maj}:{mnr} {access}"


def weight_device(dev: WeightDevice, key: str = "weight") -> str:
    """blkio.weight_device / io.bfq.weight line: ``MAJOR:MINOR WEIGHT``."""
    return f"{dev['major']}:{dev['minor']} {dev.get(key, 0)}"


def throttle_v1(dev: ThrottleDevice) -> str:
    """blkio.throttle.*_device line (cgroup-v1 blkio-controller.rst): ``MAJOR:MINOR RATE``."""
    return f"{dev['major']}:{dev['minor']} {dev['rate']}"


def throttle_v2(dev: ThrottleDevice, key: str) -> str:
    """cgroup-v2.rst io.max line: ``$MAJ:$MIN rbps=... wbps=... riops=... wiops=...``, one
    key per write here; rate 0 is "max" (no limit)."""
    rate = dev["rate"]
    return f"{dev['major']}:{dev['minor']} {key}={rate if rate > 0 else 'max'}"
