"""``docker inspect`` of a container: Docker's JSON shape and key order (moby
``api/types.ContainerJSON``), built from a :class:`ContainerRecord`.

``record.config`` holds Docker's ``Config`` and ``record.host_config`` its ``HostConfig``
as stored at create; every key Docker prints that they lack gets Docker's default here.
``Mounts`` are the Docker-shaped mount points the volume code keeps in
``host_config["DockyardMountPoints"]``; keys starting ``Dockyard`` are never shown.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.containers import ContainerRecord
    from dockyard.image.service import ImageService

__all__ = ["container_json", "container_sizes", "default_config", "default_host_config",
           "default_network_settings", "inspect_containers"]

_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
           "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
           "/sys/firmware"]
_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def default_host_config() -> dict[str, Any]:
    """``HostConfig`` of a plain ``docker run IMAGE``, in Docker's key order."""
    return {
        "Binds": None, "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "default", "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None,
        "CapDrop": None, "CgroupnsMode": "host", "Dns": [], "DnsOptions": [],
        "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private",
        "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
        "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc",
        "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0, "Memory": 0,
        "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
        "DeviceCgroupRules": None, "DeviceRequests": None, "KernelMemory": 0,
        "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None,
        "Ulimits": [], "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0, "MaskedPaths": list(_MASKED),
        "ReadonlyPaths": list(_READONLY),
    }


def default_config(record: ContainerRecord) -> dict[str, Any]:
    """``Config`` defaults, in Docker's key order."""
    return {
        "Hostname": record.id[:12], "Domainname": "", "User": "", "AttachStdin": False,
        "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
        "StdinOnce": False, "Env": None, "Cmd": None, "Image": record.image,
        "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
        "Labels": {},
    }


def default_network_settings() -> dict[str, Any]:
    """``NetworkSettings`` of a container attached to no network."""
    return {
        "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "",
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None, "EndpointID": "",
        "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
        "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "", "Networks": {},
    }


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Docker's key order for known keys, then any others the record holds (except
    dockyard's private ``Dockyard*`` keys)."""
    out = dict(defaults)
    for k, v in given.items():
        if not k.startswith("Dockyard"):
            out[k] = v
    return out


def _config(record: ContainerRecord) -> dict[str, Any]:
    cfg = _merge(default_config(record), record.config)
    if cfg.get("ExposedPorts") is None:
        cfg.pop("ExposedPorts", None)
    else:  # Docker prints ExposedPorts after AttachStderr
        order = list(cfg)
        order.remove("ExposedPorts")
        order.insert(order.index("AttachStderr") + 1, "ExposedPorts")
        cfg = {k: cfg[k] for k in order}
    return cfg


def _path_and_args(config: dict[str, Any]) -> tuple[str, list[str]]:
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    return (argv[0], argv[1:]) if argv else ("", [])


def container_json(record: ContainerRecord, root: str = "",
                   graph: dict[str, str] | None = None,
                   size_rw: int | None = None,
                   size_root_fs: int | None = None) -> dict[str, Any]:
    """The ``docker inspect`` object for one container. ``root`` is dockyard's state
    root (for the file paths Docker shows), ``graph`` the overlay dirs of its rootfs
    (``GraphDriver.Data``); the sizes appear when given (``inspect -s``)."""
    config = _config(record)
    host_config = _merge(default_host_config(), record.host_config)
    path, args = _path_and_args(config)
    cdir = os.path.join(root, "containers", record.id) if root else ""
    out: dict[str, Any] = {
        "Id": record.id,
        "Created": record.created,
        "Path": path,
        "Args": args,
        "State": record.state_json(),
        "Image": record.image_id,
        "ResolvConfPath": os.path.join(cdir, "resolv.conf") if cdir else "",
        "HostnamePath": os.path.join(cdir, "hostname") if cdir else "",
        "HostsPath": os.path.join(cdir, "hosts") if cdir else "",
        "LogPath": record.log_path,
        "Name": "/" + record.name,
        "RestartCount": record.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": record.host_config.get("DockyardExecIDs") or None,
        "HostConfig": host_config,
        "GraphDriver": {"Data": graph or None, "Name": "overlay2"},
    }
    if size_rw is not None:
        out["SizeRw"] = size_rw
    if size_root_fs is not None:
        out["SizeRootFs"] = size_root_fs
    out["Mounts"] = list(record.host_config.get("DockyardMountPoints") or [])
    out["Config"] = config
    settings = record.host_config.get("DockyardNetworkSettings")
    out["NetworkSettings"] = _merge(default_network_settings(), settings or {})
    return out


def _graph(mounts: list[Any], merged: str) -> dict[str, str] | None:
    """``GraphDriver.Data`` from the overlay mount of a container's rootfs (mounted on
    ``merged`` while it runs)."""
    for m in mounts:
        if m.type != "overlay":
            continue
        opts = dict(o.split("=", 1) for o in m.options if "=" in o)
        data = {"LowerDir": opts.get("lowerdir", "")}
        if "upperdir" in opts:
            upper = opts["upperdir"]
            data["MergedDir"] = merged
            data["UpperDir"] = upper
            data["WorkDir"] = opts.get("workdir", "")
        return data
    return None


def inspect_containers(root: str, refs: list[str], size: bool = False
                       ) -> list[dict[str, Any] | Exception]:
    """Each reference's inspect object, or the error (``NotFound``...) it met."""
    from dockyard.engine.containers import ContainerStore
    from dockyard.errors import DockyardError

    out: list[dict[str, Any] | Exception] = []
    with ContainerStore(root) as store:
        svc: ImageService | None = None
        try:
            for ref in refs:
                try:
                    rec = store.get(ref)
                except DockyardError as e:
                    out.append(e)
                    continue
                if svc is None:
                    from dockyard.image.service import ImageService

                    svc = ImageService(root)
                graph = None
                size_rw = size_root = None
                try:
                    graph = _graph(svc.snapshots.mounts(rec.rootfs_key),
                                   os.path.join(rec.bundle_dir, "rootfs"))
                    if size:
                        size_rw = svc.snapshots.usage(rec.rootfs_key)
                        size_root = size_rw + _image_size(svc, rec.image_id)
                except (DockyardError, OSError):
                    if size:
                        size_rw, size_root = 0, 0
                item = container_json(rec, root, graph, size_rw, size_root)
                from dockyard.engine.network_views import settings_for

                item["NetworkSettings"].update(settings_for(root, rec.id))  # network's records
                out.append(item)
        finally:
            if svc is not None:
                svc.close()
    return out


def _image_size(svc: ImageService, image_id: str) -> int:
    from dockyard.errors import DockyardError

    try:
        return svc.resolve(image_id).size
    except DockyardError:
        return 0


def container_sizes(root: str, records: list[ContainerRecord]) -> dict[str, tuple[int, int]]:
    """``docker ps -s``: each container's (SizeRw, SizeRootFs) by ID: the bytes its
    writable layer holds, and those plus its image's."""
    from dockyard.errors import DockyardError
    from dockyard.image.service import ImageService

    out: dict[str, tuple[int, int]] = {}
    svc = ImageService(root)
    try:
        for rec in records:
            try:
                rw = svc.snapshots.usage(rec.rootfs_key)
            except (DockyardError, OSError):
                rw = 0
            out[rec.id] = (rw, rw + _image_size(svc, rec.image_id))
    finally:
        svc.close()
    return out
