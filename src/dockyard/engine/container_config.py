"""Docker's ``Config`` and ``HostConfig`` objects of a container, from a ``run``/``create``.

They are what ``docker inspect`` shows (keys and order as Docker 20.10's), stored in the
container record at create: ``Config`` is the user's request merged with the image's config
as the daemon's ``merge`` does it (image Env the user did not set, image Cmd unless an
entrypoint was given, image Entrypoint, User, WorkingDir, Labels, StopSignal, Healthcheck);
``HostConfig`` holds the resources and policies, with the defaults the daemon fills in
(``MemorySwap`` twice ``Memory``, ``ShmSize`` 64 MiB, the json-file ``LogConfig``).
"""

from __future__ import annotations

from dockyard.engine.restart import RestartPolicy
from dockyard.engine.run_options import (
    RunOptions,
    parse_cpus,
    parse_env_file,
    parse_memory_swap,
    parse_ulimit,
    size_flag,
)
from dockyard.engine.spec_mounts import DEFAULT_SHM_SIZE
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["DEFAULT_STOP_TIMEOUT", "docker_config", "host_config", "stop_settings"]

DEFAULT_STOP_TIMEOUT = 10

_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
           "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
           "/sys/firmware"]
_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def _user_env(opts: RunOptions, client_env: Mapping[str, str] | None) -> list[str]:
    env: list[str] = []
    for text in opts.env_file:
        env.extend(parse_env_file(text, client_env or {}))
    for entry in opts.env:
        if "=" not in entry:
            if client_env and entry in client_env:
                env.append(f"{entry}={client_env[entry]}")
            continue
        env.append(entry)
    return env


def _healthcheck(user: dict[str, Any] | None, image: Any) -> dict[str, Any] | None:
    """The daemon's merge: the image's check, with the user's non-zero fields over it."""
    if not isinstance(image, dict):
        return user
    if user is None:
        return dict(image)
    out = dict(user)
    if not out.get("Test"):
        out["Test"] = image.get("Test")
    for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
        if not out.get(key) and image.get(key):
            out[key] = image[key]
    return out


def docker_config(opts: RunOptions, image: str, image_config: Mapping[str, Any],
                  container_id: str, *, detach: bool = True,
                  client_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``Config``, merged with the image's config like the daemon does at create."""
    env = _user_env(opts, client_env)
    keys = {e.partition("=")[0] for e in env}
    env += [e for e in image_config.get("Env") or [] if e.partition("=")[0] not in keys]
    if opts.entrypoint is None:
        entrypoint = image_config.get("Entrypoint") or None
        cmd = list(opts.cmd) or image_config.get("Cmd") or None
    else:
        entrypoint = [opts.entrypoint] if opts.entrypoint else None
        cmd = list(opts.cmd) or None
    labels = {**(image_config.get("Labels") or {}), **opts.labels}
    out: dict[str, Any] = {
        "Hostname": opts.hostname or container_id[:12],
        "Domainname": "",
        "User": opts.user if opts.user is not None else image_config.get("User") or "",
        "AttachStdin": opts.interactive and not detach,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
    }
    from dockyard.engine.network_options import exposed_fields

    exposed = {**(image_config.get("ExposedPorts") or {}), **exposed_fields(opts.net)}
    if exposed:
        out["ExposedPorts"] = dict(exposed)
    out.update({"Tty": opts.tty, "OpenStdin": opts.interactive,
                "StdinOnce": opts.interactive and not detach, "Env": env, "Cmd": cmd})
    health = _healthcheck(opts.healthcheck, image_config.get("Healthcheck"))
    if health is not None:
        out["Healthcheck"] = health
    out.update({
        "Image": image,
        "Volumes": image_config.get("Volumes") or None,
        "WorkingDir": opts.workdir or image_config.get("WorkingDir") or "",
        "Entrypoint": entrypoint,
        "OnBuild": image_config.get("OnBuild") or None,
        "Labels": labels,
    })
    stop_signal = opts.stop_signal or image_config.get("StopSignal")
    if stop_signal:
        out["StopSignal"] = stop_signal
    if opts.stop_timeout is not None:
        out["StopTimeout"] = opts.stop_timeout
    return out


def parse_cpuset(value: str) -> set[int]:
    """``0-2,4`` -> {0, 1, 2, 4}; the daemon's message otherwise."""
    out: set[int] = set()
    try:
        for part in value.split(","):
            lo, sep, hi = part.partition("-")
            first, last = int(lo), int(hi) if sep else int(lo)
            if first < 0 or last < first:
                raise ValueError(part)
            out.update(range(first, last + 1))
    except ValueError:
        raise InvalidArgument(f"Invalid value {value} for cpuset cpus") from None
    return out


def _check_cpuset(value: str) -> None:
    wanted = parse_cpuset(value)
    try:
        with open("/sys/devices/system/cpu/online") as f:
            online = f.read().strip()
    except OSError:
        return
    if not wanted <= parse_cpuset(online):
        raise InvalidArgument(f"Requested CPUs are not available - requested {value}, "
                              f"available: {online}")


def host_config(opts: RunOptions) -> dict[str, Any]:
    """``HostConfig`` with the daemon's defaults (a validated request: see ``build_spec``)."""
    if opts.cpuset_cpus:
        _check_cpuset(opts.cpuset_cpus)
    policy = RestartPolicy.parse(opts.restart)
    if opts.auto_remove and not policy.is_none:
        raise InvalidArgument("Conflicting options: --restart and --rm")
    memory = size_flag(opts.memory, "--memory") or 0
    swap = parse_memory_swap(opts.memory_swap) or 0
    if memory > 0 and swap == 0:
        swap = 2 * memory
    shm = size_flag(opts.shm_size, "--shm-size") or DEFAULT_SHM_SIZE
    ulimits = []
    for u in opts.ulimits:
        rl = parse_ulimit(u)
        soft, hard = rl["soft"], rl["hard"]
        ulimits.append({"Name": u.partition("=")[0],
                        "Hard": hard - (1 << 64) if hard >= 1 << 63 else hard,
                        "Soft": soft - (1 << 64) if soft >= 1 << 63 else soft})
    out: dict[str, Any] = {
        "Binds": None,
        "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": dict(opts.log_opts)},
        "NetworkMode": "default" if opts.network_mode == "bridge" else opts.network_mode,
        "PortBindings": {},
        "RestartPolicy": policy.to_json(),
        "AutoRemove": opts.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": None,
        "CapAdd": list(opts.cap_add) or None,
        "CapDrop": list(opts.cap_drop) or None,
        "CgroupnsMode": opts.cgroupns or "host",
        "Dns": [], "DnsOptions": [], "DnsSearch": [],
        "ExtraHosts": None,
        "GroupAdd": list(opts.group_add) or None,
        "IpcMode": opts.ipc_mode or "private",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": opts.oom_score_adj,
        "PidMode": opts.pid_mode or "",
        "Privileged": opts.privileged,
        "PublishAllPorts": False,
        "ReadonlyRootfs": opts.read_only,
        "SecurityOpt": list(opts.security_opt) or None,
    }
    from dockyard.engine.network_options import host_config_fields

    out.update(host_config_fields(opts.net))  # -p, -P, --dns*, --add-host
    if opts.tmpfs:
        out["Tmpfs"] = dict(opts.tmpfs)
    out.update({
        "UTSMode": opts.uts_mode or "",
        "UsernsMode": "",
        "ShmSize": shm,
    })
    if opts.sysctls:
        out["Sysctls"] = dict(opts.sysctls)
    out.update({
        "Runtime": "runc",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CpuShares": opts.cpu_shares or 0,
        "Memory": memory,
        "NanoCpus": parse_cpus(opts.cpus) if opts.cpus is not None else 0,
        "CgroupParent": "",
        "BlkioWeight": opts.blkio_weight,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
        "CpuPeriod": opts.cpu_period or 0,
        "CpuQuota": opts.cpu_quota or 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": opts.cpuset_cpus or "",
        "CpusetMems": opts.cpuset_mems or "",
        "Devices": [],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "KernelMemory": 0, "KernelMemoryTCP": 0,
        "MemoryReservation": size_flag(opts.memory_reservation, "--memory-reservation") or 0,
        "MemorySwap": swap,
        "MemorySwappiness": opts.memory_swappiness,
        "OomKillDisable": opts.oom_kill_disable,
        "PidsLimit": opts.pids_limit,
        "Ulimits": ulimits,
        "CpuCount": 0, "CpuPercent": 0,
        "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        "MaskedPaths": None if opts.privileged else list(_MASKED),
        "ReadonlyPaths": None if opts.privileged else list(_READONLY),
    })
    if opts.init:
        out["Init"] = True
    return out


def stop_settings(config: Mapping[str, Any]) -> tuple[str, int]:
    """(stop signal, stop timeout in seconds) of a stored ``Config``."""
    timeout = config.get("StopTimeout")
    return (str(config.get("StopSignal") or "SIGTERM"),
            DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout))
