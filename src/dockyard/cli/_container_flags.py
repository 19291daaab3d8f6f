"""The flags ``run`` and ``create`` share, and their translation into ``RunOptions``.

Bad values are reported as Docker's CLI does (``invalid argument "x" for "--memory"
flag: ...``); the verbs exit 125 on them.
"""

from __future__ import annotations

import os

from dockyard.cli._mount_flags import add_mount_flags, apply_mount_flags
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from dockyard.cli._image import Parser
    from dockyard.engine.run_options import RunOptions

__all__ = ["add_container_flags", "client_env", "container_parser", "options_from"]

_SYSCTL_PREFIXES = ("kernel.msg", "kernel.shm", "fs.mqueue.", "net.")
_SYSCTL_NAMES = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                 "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def container_parser(verb: str, usage: str, description: str) -> Parser:
    from dockyard.cli._image import parser

    p = parser(verb, usage, description=description, short_h=False)
    add_container_flags(p)
    p.add_argument("image")
    p.add_argument("command", nargs="...")
    return p


def add_container_flags(p: argparse.ArgumentParser) -> None:
    a = p.add_argument
    a("--name", default="")
    a("--rm", action="store_true")
    for flag, short in (("env", "-e"), ("label", "-l")):
        a(short, f"--{flag}", action="append", default=[])
    for flag in ("env-file", "label-file", "cap-add", "cap-drop", "ulimit", "sysctl",
                 "log-opt", "security-opt", "group-add"):
        a(f"--{flag}", action="append", default=[])
    a("-w", "--workdir")
    a("-u", "--user")
    a("--entrypoint")
    a("-h", "--hostname")
    a("-m", "--memory")
    for flag in ("memory-swap", "memory-reservation", "cpus", "cpu-shares", "cpuset-cpus",
                 "cpuset-mems", "pids-limit", "restart", "stop-signal", "stop-timeout",
                 "health-cmd", "health-interval", "health-retries", "health-timeout",
                 "health-start-period", "shm-size", "platform", "log-driver"):
        a(f"--{flag}")
    for flag in ("privileged", "read-only", "init", "no-healthcheck"):
        a(f"--{flag}", action="store_true")
    a("-i", "--interactive", action="store_true")
    a("-t", "--tty", action="store_true")
    a("-a", "--attach", action="append", default=[])
    a("--pull", default="missing")
    from dockyard.cli._netflags import add_network_flags

    add_network_flags(p)  # --network, -p, --dns, ...
    add_mount_flags(p)  # -v, --mount, --tmpfs, --volumes-from (cli/_mount_flags.py)


def _int(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value, 10)
    except ValueError:
        from dockyard.engine.run_options import flag_error

        raise flag_error(value, flag, f'strconv.ParseInt: parsing "{value}": invalid '
                         "syntax") from None


def _read(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower() if e.strerror else e}") \
            from None


def _labels(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    lines: list[str] = []
    for path in args.label_file:
        lines += [ln.strip() for ln in _read(path, "--label-file").splitlines()]
    lines += list(args.label)
    for line in lines:
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if not key.strip():
            raise InvalidArgument(f"invalid label '{line}': empty name")
        out[key] = value
    return out


def _sysctls(values: list[str]) -> dict[str, str]:
    from dockyard.engine.run_options import flag_error

    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not (key in _SYSCTL_NAMES or key.startswith(_SYSCTL_PREFIXES)):
            raise flag_error(v, "--sysctl", f"sysctl '{v}' is not whitelisted")
        out[key] = value
    return out


def _healthcheck(args: argparse.Namespace) -> dict[str, Any] | None:
    from dockyard.engine.run_options import parse_duration

    given = any(x is not None for x in (args.health_cmd, args.health_interval,
                                         args.health_timeout, args.health_start_period,
                                         args.health_retries))
    if args.no_healthcheck:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    check: dict[str, Any] = {}
    if args.health_cmd is not None:
        check["Test"] = ["CMD-SHELL", args.health_cmd]
    for key, value, flag in (("Interval", args.health_interval, "--health-interval"),
                             ("Timeout", args.health_timeout, "--health-timeout"),
                             ("StartPeriod", args.health_start_period,
                              "--health-start-period")):
        if value is None:
            continue
        ns = parse_duration(value, flag)
        if ns < 0:
            raise InvalidArgument(f"{flag} cannot be negative")
        if ns:
            check[key] = ns
    retries = _int(args.health_retries, "--health-retries")
    if retries is not None:
        if retries < 0:
            raise InvalidArgument("--health-retries cannot be negative")
        if retries:
            check["Retries"] = retries
    return check


def _log_opts(args: argparse.Namespace) -> dict[str, str]:
    if args.log_driver not in (None, "json-file"):
        raise InvalidArgument(f'logger: no log driver named \'{args.log_driver}\' is '
                              "registered")
    out: dict[str, str] = {}
    for v in args.log_opt:
        key, sep, value = v.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid key value pair format in driver options: {v}")
        out[key] = value
    return out


def options_from(args: argparse.Namespace) -> RunOptions:
    """The ``RunOptions`` of parsed ``run``/``create`` flags (values checked here or by
    the engine)."""
    from dockyard.cli._netflags import net_options
    from dockyard.engine.run_options import RunOptions
    from dockyard.runtime.signals import parse_signal

    if args.stop_signal is not None:
        parse_signal(args.stop_signal)
    if args.platform is not None and not args.platform.strip("/"):
        raise InvalidArgument(f'invalid platform "{args.platform}"')
    opts = RunOptions(
        cmd=list(args.command), entrypoint=args.entrypoint, env=list(args.env),
        env_file=[_read(p, "--env-file") for p in args.env_file],
        workdir=args.workdir, user=args.user, hostname=args.hostname,
        labels=_labels(args), memory=args.memory, memory_swap=args.memory_swap,
        memory_reservation=args.memory_reservation, cpus=args.cpus,
        cpu_shares=_int(args.cpu_shares, "--cpu-shares"), cpuset_cpus=args.cpuset_cpus,
        cpuset_mems=args.cpuset_mems, pids_limit=_int(args.pids_limit, "--pids-limit"),
        cap_add=list(args.cap_add), cap_drop=list(args.cap_drop),
        privileged=args.privileged, read_only=args.read_only, ulimits=list(args.ulimit),
        sysctls=_sysctls(args.sysctl), shm_size=args.shm_size, init=args.init,
        stop_signal=args.stop_signal, security_opt=list(args.security_opt),
        group_add=list(args.group_add),
        network_mode=args.network, net=net_options(args),
        restart=args.restart, auto_remove=args.rm,
        stop_timeout=_int(args.stop_timeout, "--stop-timeout"),
        healthcheck=_healthcheck(args), log_opts=_log_opts(args),
        tty=args.tty, interactive=args.interactive)
    apply_mount_flags(args, opts)
    return opts


def client_env() -> dict[str, str]:
    """Where a bare ``-e NAME`` takes its value: the CLI's environment."""
    return dict(os.environ)
