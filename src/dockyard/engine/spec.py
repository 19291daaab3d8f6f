"""A ``docker run`` request -> the OCI runtime spec dockerd (20.10) would generate.

Pure: reads only the image's ``/etc/passwd``/``/etc/group`` (and a ``seccomp=FILE`` profile);
mounts nothing, starts nothing. Each default below is what moby's ``oci/defaults.go`` and
``daemon/oci_linux.go`` put in config.json; ``tests/unit/data/docker-run-oci-config.json`` is
the captured proof, and ``tests/unit/test_engine_spec.py`` compares against it field by field.
"""

from __future__ import annotations

import json
import os

from dockyard.engine.profiles import seccomp_profile_for
from dockyard.engine.run_options import (
    RunOptions,
    parse_cpus,
    parse_env_file,
    parse_memory_swap,
    parse_ulimit,
    size_flag,
)
from dockyard.engine.seccomp import docker_profile_to_oci
from dockyard.engine.spec_mounts import (
    DEFAULT_SHM_SIZE,
    INIT_PATH,
    Bind,
    EtcFiles,
    container_mounts,
)
from dockyard.engine.users import resolve_user
from dockyard.errors import InvalidArgument
from dockyard.oci import jsontext
from dockyard.runtime.capabilities import CAPABILITIES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from dockyard.oci.runtime_types import (
        CPU,
        Capabilities,
        Device,
        DeviceCgroup,
        Linux,
        Memory,
        Namespace,
        Process,
        Resources,
        Seccomp,
        Spec,
    )

__all__ = [
    "ALL_CAPABILITIES",
    "DEFAULT_CAPABILITIES",
    "DEFAULT_PATH",
    "MASKED_PATHS",
    "READONLY_PATHS",
    "build_spec",
    "docker_env",
    "entrypoint_and_args",
    "tweak_capabilities",
]

OCI_VERSION = "1.0.2-dev"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: moby ``oci/caps/defaults.go``: the default set, in Docker's order.
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
#: Every capability the kernel knows, by number (``GetAllCapabilities``).
ALL_CAPABILITIES = tuple(sorted(CAPABILITIES, key=CAPABILITIES.__getitem__))

#: moby ``oci/defaults.go`` ``DefaultLinuxSpec``.
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

#: The device cgroup rules of ``DefaultLinuxSpec``: deny all, then null, zero, full... by number.
_DEFAULT_DEVICE_RULES: tuple[tuple[bool, int, int], ...] = (
    (True, 1, 5), (True, 1, 3), (True, 1, 9), (True, 1, 8), (True, 5, 0), (True, 5, 1),
    (False, 10, 229),
)

#: Namespaces of ``DefaultLinuxSpec``, in its order.
_NAMESPACES = ("mount", "network", "uts", "pid", "ipc")

def entrypoint_and_args(opts: RunOptions, image_config: Mapping[str, Any]) -> list[str]:
    """``process.args`` by Docker's rules (daemon ``merge`` + ``mergeAndVerifyConfig``).

    No ``--entrypoint``: the image's entrypoint, then the given command or else the image's
    Cmd. ``--entrypoint X``: ``[X]`` then the given command only (the image's Cmd is dropped).
    ``--entrypoint ""``: no entrypoint, and the given command only. Nothing left: an error.
    """
    image_ep = list(image_config.get("Entrypoint") or [])
    image_cmd = list(image_config.get("Cmd") or [])
    if opts.entrypoint is None:
        entrypoint, cmd = image_ep, list(opts.cmd) or image_cmd
    else:
        entrypoint = [opts.entrypoint] if opts.entrypoint else []
        cmd = list(opts.cmd)
    args = entrypoint + cmd
    if not args:
        raise InvalidArgument("No command specified")
    return args


def _replace_or_append(defaults: list[str], overrides: Iterable[str]) -> list[str]:
    """moby ``ReplaceOrAppendEnvValues``: ``K=V`` replaces ``K`` in place or is appended;
    a bare ``K`` removes a default ``K``."""
    env = list(defaults)
    index = {e.partition("=")[0]: i for i, e in enumerate(env)}
    removed: set[int] = set()
    for value in overrides:
        key, sep, _ = value.partition("=")
        if not sep:
            if key in index:
                removed.add(index[key])
            continue
        if key in index:
            env[index[key]] = value
        else:
            env.append(value)
    return [e for i, e in enumerate(env) if i not in removed]


def docker_env(opts: RunOptions, image_config: Mapping[str, Any], hostname: str,
               client_env: Mapping[str, str] | None = None) -> list[str]:
    """``process.env``: ``PATH``, ``HOSTNAME``, ``TERM`` (with ``-t``), then image and user env.

    The container's env is the user's (``--env-file`` lines, then ``-e``) followed by the image's
    entries the user did not set (daemon ``merge``); that then replaces or extends Docker's
    defaults (``CreateDaemonEnvironment``). ``HOME`` is not set here: like runc, the runtime adds
    it from the user's passwd entry when the env lacks it.
    """
    user_env: list[str] = []
    for text in opts.env_file:
        user_env.extend(parse_env_file(text, client_env or {}))
    for entry in opts.env:  # the CLI fills a bare -e NAME from its own environment
        if "=" not in entry and client_env and entry in client_env:
            entry = f"{entry}={client_env[entry]}"
        user_env.append(entry)
    for entry in user_env:
        if entry.startswith("="):
            raise InvalidArgument(f"invalid environment variable: {entry}")
    user_keys = {e.partition("=")[0] for e in user_env}
    merged = user_env + [e for e in (image_config.get("Env") or [])
                         if e.partition("=")[0] not in user_keys]
    defaults = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if opts.tty:
        defaults.append("TERM=xterm")
    return _replace_or_append(defaults, merged)


def _normalize_caps(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        cap = name.upper()
        if cap != "ALL" and not cap.startswith("CAP_"):
            cap = "CAP_" + cap
        if cap != "ALL" and cap not in CAPABILITIES:
            raise InvalidArgument(f'unknown capability: "{cap}"')
        out.append(cap)
    return out


def tweak_capabilities(add: Sequence[str], drop: Sequence[str], privileged: bool = False,
                       basics: Sequence[str] = DEFAULT_CAPABILITIES) -> list[str]:
    """moby ``caps.TweakCapabilities``: ``--cap-add``/``--cap-drop`` (``ALL`` included)."""
    if privileged:
        return list(ALL_CAPABILITIES)
    if not add and not drop:
        return list(basics)
    cap_drop, cap_add = _normalize_caps(drop), _normalize_caps(add)
    if "ALL" in cap_add:
        caps = [c for c in ALL_CAPABILITIES if c not in cap_drop]
    elif "ALL" in cap_drop:
        caps = cap_add
    else:
        caps = [c for c in basics if c not in cap_drop] + cap_add
    return list(dict.fromkeys(caps))


def _parse_security_opts(opts: RunOptions) -> tuple[bool, str | None]:
    """``--security-opt`` -> (no_new_privileges, seccomp: None default, "unconfined", or a
    profile: a path or inline JSON). Messages are the daemon's ``parseSecurityOpt`` ones."""
    nnp, seccomp = False, None
    for opt in opts.security_opt:
        if opt == "no-new-privileges":
            nnp = True
            continue
        if opt == "disable":
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise InvalidArgument(f'Invalid --security-opt 1: "{opt}"')
        key, _, value = opt.partition(sep)
        if key in ("label", "apparmor"):
            continue  # neither SELinux nor AppArmor is enabled on our hosts (docker info)
        if key == "seccomp":
            seccomp = value
        elif key == "no-new-privileges":
            if value.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
            nnp = value.lower() in ("1", "t", "true")
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return nnp, seccomp


def _seccomp(choice: str | None, caps: list[str]) -> Seccomp | None:
    if choice is None:
        return seccomp_profile_for(caps)
    if choice == "unconfined":
        return None
    text = choice
    if not choice.lstrip().startswith("{"):
        try:
            with open(choice, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise InvalidArgument(
                f"opening seccomp profile ({choice}) failed: {e.strerror}") from e
    try:
        profile = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"decoding seccomp profile failed: {e}") from None
    return docker_profile_to_oci(profile, caps)


def _resources(opts: RunOptions, host_cpus: int | None, devices: Sequence[Device]
               ) -> Resources:
    """``linux.resources`` as ``WithResources`` fills it (memory/cpu/pids/blkio checks are the
    daemon's ``verifyPlatformContainerResources``)."""
    memory = size_flag(opts.memory, "--memory")
    swap = parse_memory_swap(opts.memory_swap)
    reservation = size_flag(opts.memory_reservation, "--memory-reservation")
    if memory is not None and 0 < memory < 6 << 20:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if swap is not None and swap > 0 and not memory:
        raise InvalidArgument(
            "You should always set the Memory limit when using Memoryswap limit, see usage")
    if memory and swap is not None and 0 < swap < memory:
        raise InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory and reservation and reservation > memory:
        raise InvalidArgument(
            "Minimum memory limit can not be less than memory reservation limit, see usage")
    if memory and memory > 0 and not swap:
        swap = 2 * memory  # adaptContainerSettings: unset swap is twice the memory
    if opts.memory_swappiness is not None and not (-1 <= opts.memory_swappiness <= 100):
        raise InvalidArgument(f"Invalid value: {opts.memory_swappiness}, valid memory "
                              "swappiness range is 0-100")
    mem: Memory = {}
    if memory and memory > 0:
        mem["limit"] = memory
    if reservation and reservation > 0:
        mem["reservation"] = reservation
    if swap and swap > 0:
        mem["swap"] = swap
    if opts.memory_swappiness is not None and opts.memory_swappiness >= 0:
        mem["swappiness"] = opts.memory_swappiness
    mem["disableOOMKiller"] = opts.oom_kill_disable

    shares = opts.cpu_shares or 0
    if shares < 0:
        raise InvalidArgument("shares: invalid argument")
    cpu: CPU = {"shares": shares}
    if opts.cpuset_cpus:
        cpu["cpus"] = opts.cpuset_cpus
    if opts.cpuset_mems:
        cpu["mems"] = opts.cpuset_mems
    if opts.cpus is not None:
        nano = parse_cpus(opts.cpus)
        if host_cpus and not (nano == 0 or 10**7 <= nano <= host_cpus * 10**9):
            raise InvalidArgument(f"Range of CPUs is from 0.01 to {host_cpus}.00, as there are "
                                  f"only {host_cpus} CPUs available")
        if nano and (opts.cpu_period or opts.cpu_quota):
            raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both "
                                  "be set")
        if nano:
            cpu["quota"] = nano * 100000 // 10**9
            cpu["period"] = 100000
    if opts.cpu_period:
        cpu["period"] = opts.cpu_period
    if opts.cpu_quota:
        cpu["quota"] = opts.cpu_quota

    rules: list[DeviceCgroup] = [{"allow": False, "access": "rwm"}]
    for allow, major, minor in _DEFAULT_DEVICE_RULES:
        rules.append({"allow": allow, "type": "c", "major": major, "minor": minor,
                      "access": "rwm"})
    if opts.privileged:
        rules.append({"allow": True, "access": "rwm"})
    else:
        for dev in devices:  # --device: each one allowed (WithDevices)
            if dev["type"] in ("c", "b", "u"):
                rules.append({"allow": True, "type": "c" if dev["type"] == "u" else dev["type"],
                              "major": dev.get("major", 0), "minor": dev.get("minor", 0),
                              "access": "rwm"})
    res: Resources = {"devices": rules, "memory": mem, "cpu": cpu}
    if opts.pids_limit is not None:
        res["pids"] = {"limit": opts.pids_limit if opts.pids_limit > 0 else -1}
    if opts.blkio_weight and not 10 <= opts.blkio_weight <= 1000:
        raise InvalidArgument("Range of blkio weight is from 10 to 1000")
    res["blockIO"] = {"weight": opts.blkio_weight}
    return res


def _join_or_new(kind: str, mode: str | None, flag: str, private: tuple[str, ...] = ()
                 ) -> Namespace | None:
    """``None`` for "host" (the host's namespace: no entry), a path for "container:<path>"."""
    if mode is None or mode == "" or mode in private:
        return {"type": kind}
    if mode == "host":
        return None
    if mode.startswith("container:") and mode.partition(":")[2].startswith("/"):
        return {"type": kind, "path": mode.partition(":")[2]}
    raise InvalidArgument(f"--{flag}: invalid {flag.upper()} mode")


def _namespaces(opts: RunOptions, netns_path: str | None, cgroup_v2: bool) -> list[Namespace]:
    """``DefaultLinuxSpec``'s namespaces, less those shared with the host, with the paths of
    those joined. ``netns_path`` is the network package's hook: the netns it prepared."""
    net = opts.network_mode
    if net and ":" not in net and net != "host":  # bridge, none, default or a user network
        net_ns: Namespace | None = {"type": "network", "path": netns_path} if netns_path \
            else {"type": "network"}
    else:
        net_ns = _join_or_new("network", net, "net")
    chosen: dict[str, Namespace | None] = {
        "mount": {"type": "mount"},
        "network": net_ns,
        "uts": _join_or_new("uts", opts.uts_mode, "uts"),
        "pid": _join_or_new("pid", opts.pid_mode, "pid"),
        "ipc": _join_or_new("ipc", opts.ipc_mode, "ipc", ("private", "none", "shareable")),
    }
    if opts.uts_mode not in (None, "", "host"):
        raise InvalidArgument("--uts: invalid UTS mode")
    out = [ns for kind in _NAMESPACES if (ns := chosen[kind]) is not None]
    cgroupns = opts.cgroupns or ("private" if cgroup_v2 else "host")
    if cgroupns not in ("host", "private"):
        raise InvalidArgument(f"invalid cgroup namespace mode: {cgroupns}")
    if cgroupns == "private":
        out.append({"type": "cgroup"})
    return out


def build_spec(opts: RunOptions, image_config: Mapping[str, Any], rootfs: str, *,
               container_id: str, hostname: str | None = None,
               binds: Sequence[Bind] = (),
               etc_files: EtcFiles | None = None, netns_path: str | None = None,
               cgroup_parent: str = "/dockyard", cgroup_v2: bool = False,
               init_path: str | None = None, host_cpus: int | None = None,
               client_env: Mapping[str, str] | None = None, devices: Sequence[Device] = (),
               annotations: Mapping[str, str] | None = None,
               host_capabilities: Sequence[str] | None = None) -> Spec:
    """The config.json for ``docker run`` with ``opts`` on an image whose config (the ``config``
    object of the image config JSON: Env, Cmd, Entrypoint, WorkingDir, User) is ``image_config``
    and whose unpacked rootfs is ``rootfs``.

    ``hostname`` defaults to ``opts.hostname``, then the first 12 characters of the id.
    ``binds``: ``BindMount``s or ``(source, destination, mode)`` with ``mode`` as in ``-v``
    (``"ro"``, ``"rw,rslave"``, ``""``). ``etc_files``: host paths for ``resolv.conf``,
    ``hostname`` and ``hosts``, bind-mounted like Docker does. ``netns_path``: the network
    namespace the network package prepared (bridge/none modes). ``init_path``: the init binary
    for ``--init`` (``docker-init``): mounted at ``/sbin/docker-init`` and run as
    ``docker-init -- args``; without it ``--init`` is ignored. ``host_cpus``: the host's CPU
    count, to refuse ``--cpus`` above it as dockerd does. ``client_env``: where a bare ``NAME``
    ``-e NAME`` or ``--env-file`` line takes its value (the CLI's environment). ``devices``: device
    nodes to create (``--device``; with ``--privileged``, the host's devices, which the caller
    lists), each allowed in the device cgroup. ``host_capabilities``: with ``--privileged``,
    only these (the caller's bounding set) are given: a capability the engine itself lacks
    cannot be granted.
    """
    if not container_id:
        raise InvalidArgument("container id is required")
    hostname = hostname or opts.hostname or container_id[:12]
    args = entrypoint_and_args(opts, image_config)
    cwd = opts.workdir or image_config.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(
            f"the working directory '{cwd}' is invalid, it needs to be an absolute path")
    cwd = os.path.normpath(cwd)
    user = resolve_user(opts.user if opts.user is not None else image_config.get("User") or "",
                        rootfs, opts.group_add)
    if not -1000 <= opts.oom_score_adj <= 1000:
        raise InvalidArgument(f"Invalid value {opts.oom_score_adj}, range for oom score adj "
                              "is [-1000, 1000]")
    nnp, seccomp_choice = _parse_security_opts(opts)
    caps = tweak_capabilities(opts.cap_add, opts.cap_drop, opts.privileged)
    if opts.privileged and host_capabilities is not None:
        caps = [c for c in caps if c in host_capabilities]
    capabilities: Capabilities = {"bounding": caps, "effective": list(caps),
                                  "permitted": list(caps)}
    if opts.init and init_path:
        args = [INIT_PATH, "--", *args]
    process: Process = {
        "user": user, "args": args,
        "env": docker_env(opts, image_config, hostname, client_env),
        "cwd": cwd, "capabilities": capabilities, "oomScoreAdj": opts.oom_score_adj,
    }
    if opts.tty:
        process["terminal"] = True
    if nnp:
        process["noNewPrivileges"] = True
    rlimits = [parse_ulimit(u) for u in opts.ulimits]
    if rlimits:
        process["rlimits"] = rlimits

    shm = size_flag(opts.shm_size, "--shm-size")
    if shm is not None and shm <= 0:
        raise InvalidArgument("SHM size can not be less than 0")
    sysctl: dict[str, str] = {}
    if opts.network_mode != "host" and not opts.network_mode.startswith("container:"):
        sysctl["net.ipv4.ping_group_range"] = "0 2147483647"
        sysctl["net.ipv4.ip_unprivileged_port_start"] = "0"
    sysctl.update(opts.sysctls)
    linux: Linux = {
        "sysctl": sysctl,
        "resources": _resources(opts, host_cpus, devices),
        "cgroupsPath": f"{cgroup_parent.rstrip('/')}/{container_id}",
        "namespaces": _namespaces(opts, netns_path, cgroup_v2),
    }
    if devices:
        linux["devices"] = list(devices)  # copied with the whole spec below
    if not opts.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
        profile = _seccomp(seccomp_choice, caps)
        if profile is not None:
            linux["seccomp"] = profile
    spec: Spec = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs},
        "mounts": container_mounts(opts, shm or DEFAULT_SHM_SIZE, binds, etc_files or {},
                                   init_path),
        "linux": linux,
    }
    if opts.uts_mode != "host":  # with the host's UTS namespace Docker sets no hostname
        spec["hostname"] = hostname
    if opts.read_only:
        spec["root"]["readonly"] = True
    if annotations:
        spec["annotations"] = dict(annotations)
    copied: Spec = jsontext.copy(spec)  # nothing shared with module-level defaults
    return copied
