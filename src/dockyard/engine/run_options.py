"""The parsed flags of a ``docker run`` request, and the small parsers for their values.

Values keep the form the user typed (``"64m"``, ``"nofile=1024:2048"``, ``"0.5"``) so that a bad
one is reported the way Docker's CLI reports it:
``invalid argument "x" for "--memory" flag: invalid size: 'x'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from dockyard.engine.network_options import NetOptions
from dockyard.errors import InvalidArgument
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Rlimit

__all__ = [
    "BindMount",
    "RunOptions",
    "flag_error",
    "parse_cpus",
    "parse_duration",
    "parse_env_file",
    "parse_memory_swap",
    "parse_size",
    "parse_ulimit",
    "size_flag",
]

Size = int | str | None


@record
class BindMount:
    """One ``-v``/``--mount`` bind: ``source`` (host path, a volume's directory) -> ``destination``.

    ``propagation`` is what Docker puts after ``rbind``: ``rprivate`` for a host-path bind, ``""``
    (nothing) for a named volume, as in the reference config.json.
    """

    source: str
    destination: str
    readonly: bool = False
    propagation: str = "rprivate"
    recursive: bool = True


@record
class RunOptions:
    """The flags of ``docker run`` that shape the runtime spec.

    ``None`` means "not given" wherever Docker distinguishes it from an empty value
    (``entrypoint=""`` clears the image's entrypoint; ``entrypoint=None`` keeps it).
    """

    cmd: list[str] = field(default_factory=list)
    entrypoint: str | None = None
    env: list[str] = field(default_factory=list)
    #: Contents of each ``--env-file``, already read, in the order given.
    env_file: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    group_add: list[str] = field(default_factory=list)
    hostname: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    memory: Size = None
    memory_swap: Size = None
    memory_reservation: Size = None
    memory_swappiness: int | None = None
    oom_kill_disable: bool = False
    cpus: float | str | None = None
    cpu_shares: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None
    blkio_weight: int = 0
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    read_only: bool = False
    ulimits: list[str] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)
    #: ``-v``, ``--mount`` and ``--volumes-from`` values as typed (engine/mount_specs.py).
    volumes: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    volumes_from: list[str] = field(default_factory=list)
    shm_size: Size = None
    init: bool = False
    stop_signal: str | None = None
    tty: bool = False
    interactive: bool = False
    oom_score_adj: int = 0
    security_opt: list[str] = field(default_factory=list)
    #: "bridge" (default), "none", "host", or "container:<netns path>".
    network_mode: str = "bridge"
    #: "host" or "private"; ``None``: Docker's default (private on cgroup v2, host on v1).
    cgroupns: str | None = None
    #: ``--pid``: None (a new namespace), "host", or "container:<pid ns path>".
    pid_mode: str | None = None
    #: ``--ipc``: None/"private", "none" (no /dev/shm), "host", or "container:<ipc ns path>".
    ipc_mode: str | None = None
    #: ``--uts``: None (a new namespace) or "host" (no namespace, no hostname).
    uts_mode: str | None = None
    # --- the container's life: restarts, health, stop, logging (engine/monitor.py) ---
    #: ``--restart`` as typed (``"on-failure:3"``); ``None``: ``no``.
    restart: str | None = None
    #: ``--rm``: the container is removed once it exits.
    auto_remove: bool = False
    stop_timeout: int | None = None
    #: Docker's ``Config.Healthcheck`` (``Test``, ``Interval``... in ns), from the flags.
    healthcheck: dict[str, Any] | None = None
    #: ``--log-opt KEY=VALUE`` for the json-file driver.
    log_opts: dict[str, str] = field(default_factory=dict)
    #: ``--network``, ``-p``, ``--dns``...: what the network package wires at start.
    net: NetOptions = field(default_factory=NetOptions)


def flag_error(value: object, flag: str, why: str) -> InvalidArgument:
    """The CLI's message for a bad flag value (cobra/pflag's wording)."""
    return InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: {why}')


#: compiled on first use (by ``re``'s cache), as _DURATION_RE: most runs give no size
_SIZE_RE = r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$"
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(value: str) -> int:
    """Bytes from a size as Docker accepts it (go-units ``RAMInBytes``): binary units.

    ``"512"`` -> 512, ``"512k"`` -> 524288, ``"64m"``/``"64MB"``/``"64MiB"`` -> 67108864,
    ``"1.5g"``. Raises ``ValueError("invalid size: 'x'")`` otherwise.
    """
    m = re.match(_SIZE_RE, value)
    if m is None:
        raise ValueError(f"invalid size: '{value}'")
    try:
        number = float(m.group(1))
    except ValueError:
        raise ValueError(f"invalid size: '{value}'") from None
    unit = m.group(2)
    return int(number * _UNITS[unit.lower()]) if unit else int(number)


def size_flag(value: Size, flag: str) -> int | None:
    """A size flag's value in bytes, ``None`` when not given; errors name the flag."""
    if value is None or isinstance(value, int):
        return value
    try:
        return parse_size(value)
    except ValueError as e:
        raise flag_error(value, flag, str(e)) from None


def parse_memory_swap(value: Size) -> int | None:
    """``--memory-swap``: a size, or ``-1`` for unlimited (go-units ``MemSwapBytes``)."""
    if value == "-1":
        return -1
    return size_flag(value, "--memory-swap")


def parse_cpus(value: float | str) -> int:
    """``--cpus`` as nano-CPUs (``0.5`` -> 500000000), exact like the CLI's ``NanoCPUs.Set``
    (a ``big.Rat``: ``"1/2"`` is accepted too; more than 9 decimals is "too precise")."""
    try:
        from fractions import Fraction  # lazily: ~2 ms, only for --cpus

        number = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise flag_error(value, "--cpus", f"failed to parse {value} as a rational number") \
            from None
    nano = number * 10**9
    if nano.denominator != 1:
        raise flag_error(value, "--cpus", "value is too precise")
    return int(nano)


#: ``--ulimit`` names (go-units ``ulimitNameMapping``).
ULIMIT_NAMES = frozenset({"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                          "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"})


def parse_ulimit(value: str) -> Rlimit:
    """``name=soft[:hard]`` -> an OCI rlimit (go-units ``ParseUlimit``); -1 is unlimited."""

    def bad(why: str) -> InvalidArgument:
        return flag_error(value, "--ulimit", why)

    name, sep, limits = value.partition("=")
    if not sep:
        raise bad(f"invalid ulimit argument: {value}")
    if name not in ULIMIT_NAMES:
        raise bad(f"invalid ulimit type: {name}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise bad(f"too many limit value arguments - {limits}, can only have up to two, "
                  "`soft[:hard]`")
    try:
        nums = [int(p, 10) for p in parts]
    except ValueError as e:
        raise bad(f'strconv.ParseInt: parsing "{limits}": invalid syntax') from e
    soft, hard = nums[0], nums[-1]
    if hard != -1 and soft > hard:
        raise bad(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    # Docker converts with uint64(): -1 becomes RLIM_INFINITY.
    return {"type": "RLIMIT_" + name.upper(), "soft": soft % (1 << 64), "hard": hard % (1 << 64)}


def parse_env_file(text: str, lookup: Callable[[str], str | None] | Mapping[str, str]
                   = lambda _k: None) -> list[str]:
    """The ``K=V`` lines of an ``--env-file`` (the CLI's ``ParseEnvFile``).

    Blank lines and ``#`` comments are skipped; ``K`` alone takes its value from ``lookup``
    (the client's environment) and is dropped when unset; names may not contain whitespace.
    """
    get = lookup.get if isinstance(lookup, Mapping) else lookup
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, val = stripped.partition("=")
        if not name:
            raise InvalidArgument(f"no variable name on line '{line}'")
        if sep and any(c.isspace() for c in name):
            raise InvalidArgument(f"variable '{name}' contains whitespaces")
        if sep:
            out.append(f"{name}={val}")
        else:
            key = stripped.strip()
            if any(c.isspace() for c in key):
                raise InvalidArgument(f"variable '{key}' contains whitespaces")
            found = get(key)
            if found is not None:
                out.append(f"{key}={found}")
    return out


_DURATION_RE = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                   "h": 3600 * 10**9}


def parse_duration(value: str, flag: str) -> int:
    """Nanoseconds from a Go duration (``"30s"``, ``"1m30s"``, ``"500ms"``, ``"0"``)."""
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for m in re.finditer(_DURATION_RE, text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise flag_error(value, flag, f'time: invalid duration "{value}"')
    return sign * int(total)
