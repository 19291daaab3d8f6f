"""``info`` and ``version`` layouts from their objects (no state needed)."""

from __future__ import annotations

from dockyard import __version__
from dockyard.cli import info as info_cli
from dockyard.cli import version as version_cli
from dockyard.engine.info import go_arch, version_info


def test_bytes_size_is_go_units_binary() -> None:
    assert info_cli.bytes_size(25276502016) == "23.54GiB"
    assert info_cli.bytes_size(512) == "512B"
    assert info_cli.bytes_size(1536) == "1.5KiB"


def test_version_text_has_dockers_client_server_layout() -> None:
    text = version_cli.text(version_info())
    lines = text.splitlines()
    assert lines[0] == "Client: dockyard"
    assert lines[1] == f" Version:           {__version__}"
    assert f" OS/Arch:           linux/{go_arch()}" in lines
    assert "Server: dockyard" in lines and " Engine:" in lines
    assert "  API version:      1.41 (minimum version 1.12)" in lines
    assert " dockyard-runtime:" in lines
    client_only = version_cli.text({"Client": version_info()["Client"]})
    assert "Server" not in client_only


def test_info_text_from_the_info_object() -> None:
    info = {
        "ClientInfo": {"Context": "default", "Debug": False}, "Containers": 3,
        "ContainersRunning": 1, "ContainersPaused": 1, "ContainersStopped": 1, "Images": 2,
        "ServerVersion": "0.1.0", "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"]], "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": "1",
        "Plugins": {"Volume": ["local"], "Network": ["bridge"], "Log": ["json-file"]},
        "Swarm": {"LocalNodeState": "inactive"}, "Runtimes": {"runc": {}},
        "DefaultRuntime": "runc", "InitBinary": "", "ContainerdCommit": {"ID": ""},
        "RuncCommit": {"ID": "x"}, "InitCommit": {"ID": ""},
        "SecurityOptions": ["name=seccomp,profile=default", "name=cgroupns"],
        "KernelVersion": "6.1", "OperatingSystem": "Debian", "OSType": "linux",
        "Architecture": "x86_64", "NCPU": 2, "MemTotal": 2 << 30, "Name": "vm", "ID": "A:B",
        "DockerRootDir": "/var/lib/dockyard", "Debug": False,
        "IndexServerAddress": "https://index.docker.io/v1/", "ExperimentalBuild": False,
        "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"]},
        "LiveRestoreEnabled": False,
    }
    lines = info_cli.text(info).splitlines()
    for want in ("Server:", " Containers: 3", "  Running: 1", "  Paused: 1", "  Stopped: 1",
                 " Images: 2", " Storage Driver: overlay2", "  Backing Filesystem: extfs",
                 " Security Options:", "  seccomp", "   Profile: default", "  cgroupns",
                 " Total Memory: 2GiB", " Docker Root Dir: /var/lib/dockyard",
                 " Insecure Registries:", "  127.0.0.0/8"):
        assert want in lines, want
