"""``docker info`` and ``docker version``: what this engine and host are, in Docker's
shapes (moby ``api/types.Info`` and ``types.Version``)."""

from __future__ import annotations

import base64
import hashlib
import os
import platform

from dockyard import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["API_VERSION", "go_arch", "system_info", "version_info"]

API_VERSION = "1.41"
_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def go_arch() -> str:
    """GOARCH spelling of this machine (``amd64``, ``arm64``)."""
    m = platform.machine()
    return _GO_ARCH.get(m, m)


def _os_release() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path) as f:
                for line in f:
                    k, eq, v = line.strip().partition("=")
                    if eq:
                        out[k] = v.strip().strip('"')
            return out
        except OSError:
            continue
    return out


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _engine_id(root: str) -> str:
    """Docker's engine ID shape (12 groups of 4 base32 characters), stable for this
    machine and root."""
    try:
        with open("/etc/machine-id") as f:
            machine = f.read().strip()
    except OSError:
        machine = platform.node()
    digest = hashlib.sha256(f"{machine}:{root}".encode()).digest()
    text = base64.b32encode(digest).decode()[:48]
    return ":".join(text[i:i + 4] for i in range(0, 48, 4))


def _backing_fs(root: str) -> str:
    """The type of the filesystem holding ``root``, as Docker names it (ext4 -> extfs)."""
    best, fstype = "", "unknown"
    path = os.path.realpath(root)
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mnt = fields[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(
                        best):
                    best, fstype = mnt, fields[2]
    except OSError:
        pass
    return {"ext2": "extfs", "ext3": "extfs", "ext4": "extfs"}.get(fstype, fstype)


def _ipv4_forwarding() -> bool:
    try:
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def system_info(root: str, exec_root: str) -> dict[str, Any]:
    """``docker info --format '{{json .}}'``, in Docker's key order."""
    from dockyard.engine.lifecycle import Engine
    from dockyard.image.service import ImageService
    from dockyard.runtime.cgroups import cgroup_mode

    engine = Engine(root, exec_root)
    try:
        engine.refresh_all()  # a container nobody runs any more counts as stopped
        statuses = [r.status.value for r in engine.containers.all()]
    finally:
        engine.close()
    svc = ImageService(root)
    try:
        images = len(svc.store.all())
        driver = "overlay2" if svc.snapshots.name.startswith("overlay") else "vfs"
    finally:
        svc.close()
    running = sum(1 for s in statuses if s in ("running", "restarting"))
    paused = statuses.count("paused")
    mode = cgroup_mode()
    osr = _os_release()
    security = ["name=seccomp,profile=default"] + (["name=cgroupns"] if mode == "v2" else [])
    driver_status = ([["Backing Filesystem", _backing_fs(root)], ["Supports d_type", "true"],
                      ["Native Overlay Diff", "true"], ["userxattr", "false"]]
                     if driver == "overlay2" else [])
    return {
        "ID": _engine_id(root),
        "Containers": len(statuses),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": len(statuses) - running - paused,
        "Images": images,
        "Driver": driver,
        "DriverStatus": driver_status,
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                    "Authorization": None, "Log": ["json-file"]},
        "MemoryLimit": True, "SwapLimit": True, "KernelMemory": mode != "v2",
        "KernelMemoryTCP": mode != "v2", "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True,
        "IPv4Forwarding": _ipv4_forwarding(),
        "Debug": False,
        "NFd": len(os.listdir("/proc/self/fd")),
        "OomKillDisable": mode != "v2",
        "NGoroutines": 1,
        "SystemTime": _now(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": "2" if mode == "v2" else "1",
        "NEventsListener": 0,
        "KernelVersion": os.uname().release,
        "OperatingSystem": osr.get("PRETTY_NAME", "Linux"),
        "OSVersion": osr.get("VERSION_ID", ""),
        "OSType": "linux",
        "Architecture": platform.machine(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "IndexConfigs": {"docker.io": {"Mirrors": [], "Name": "docker.io",
                                           "Official": True, "Secure": True}},
            "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []},
        "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(),
        "GenericResources": None,
        "DockerRootDir": root,
        "HttpProxy": os.environ.get("HTTP_PROXY", os.environ.get("http_proxy", "")),
        "HttpsProxy": os.environ.get("HTTPS_PROXY", os.environ.get("https_proxy", "")),
        "NoProxy": os.environ.get("NO_PROXY", os.environ.get("no_proxy", "")),
        "Name": platform.node(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": __version__,
        "Runtimes": {"runc": {"path": "dockyard-runtime"}},
        "DefaultRuntime": "runc",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": __version__, "Expected": __version__},
        "InitCommit": {"ID": ""},
        "SecurityOptions": security,
        "CDISpecDirs": None,
        "Warnings": None,
        "ClientInfo": {"Debug": False, "Version": __version__, "Context": "default",
                       "Plugins": [], "Warnings": None},
    }


def _now() -> str:
    from dockyard.engine.containers import rfc3339_ns

    return rfc3339_ns()


def version_info(with_server: bool = True) -> dict[str, Any]:
    """``docker version --format '{{json .}}'``: ``Client`` and ``Server``."""
    py = platform.python_version()
    client = {
        "Platform": {"Name": ""}, "Version": __version__, "ApiVersion": API_VERSION,
        "DefaultAPIVersion": API_VERSION, "GitCommit": "", "GoVersion": f"python{py}",
        "Os": "linux", "Arch": go_arch(), "BuildTime": "", "Context": "default",
        "Experimental": True,
    }
    out: dict[str, Any] = {"Client": client}
    if with_server:
        details = {"ApiVersion": API_VERSION, "Arch": go_arch(), "BuildTime": "",
                   "Experimental": "false", "GitCommit": "", "GoVersion": f"python{py}",
                   "KernelVersion": os.uname().release, "MinAPIVersion": "1.12",
                   "Os": "linux"}
        out["Server"] = {
            "Platform": {"Name": "dockyard"},
            "Components": [
                {"Name": "Engine", "Version": __version__, "Details": details},
                {"Name": "dockyard-runtime", "Version": __version__,
                 "Details": {"GitCommit": ""}},
            ],
            "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": "1.12",
            "GitCommit": "", "GoVersion": f"python{py}", "Os": "linux", "Arch": go_arch(),
            "KernelVersion": os.uname().release, "BuildTime": "",
        }
    return out
