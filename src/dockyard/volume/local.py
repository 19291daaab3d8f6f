"""The ``local`` volume driver (moby ``volume/local``).

A volume is the directory ``ROOT/volumes/<name>/_data``. With driver options
(``-o type=tmpfs -o device=tmpfs -o o=size=64m``; ``-o type=none -o o=bind -o device=/src``;
``-o type=nfs -o o=addr=... -o device=:/export``) that directory is a mount point: the filesystem
is mounted there by mount(2) when the first container using the volume starts and unmounted when
the last one stops, as Docker's local driver does.
"""

from __future__ import annotations

import os
import shutil

from dockyard.errors import InvalidArgument, Unsupported
from dockyard.linux import mount as m

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["LocalDriver", "parse_driver_options"]

#: ``-o`` keys the local driver accepts (moby ``validOpts``).
_VALID_KEYS = ("type", "device", "o", "size")

#: ``o=`` words that are mount(2) flags (the rest is passed as the filesystem's data):
#: word -> (clears the flag?, flag), as mount(8) reads them.
_FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (False, m.MS_RDONLY), "rw": (True, m.MS_RDONLY),
    "nosuid": (False, m.MS_NOSUID), "suid": (True, m.MS_NOSUID),
    "nodev": (False, m.MS_NODEV), "dev": (True, m.MS_NODEV),
    "noexec": (False, m.MS_NOEXEC), "exec": (True, m.MS_NOEXEC),
    "sync": (False, m.MS_SYNCHRONOUS), "async": (True, m.MS_SYNCHRONOUS),
    "dirsync": (False, m.MS_DIRSYNC), "noatime": (False, m.MS_NOATIME),
    "atime": (True, m.MS_NOATIME), "nodiratime": (False, m.MS_NODIRATIME),
    "diratime": (True, m.MS_NODIRATIME), "relatime": (False, m.MS_RELATIME),
    "norelatime": (True, m.MS_RELATIME), "strictatime": (False, m.MS_STRICTATIME),
    "bind": (False, m.MS_BIND), "rbind": (False, m.MS_BIND | m.MS_REC),
    "defaults": (False, 0),
}


def parse_driver_options(name: str, options: Mapping[str, str]) -> dict[str, str]:
    """The ``-o`` options if the local driver accepts them (Docker's errors otherwise)."""
    for key in options:
        if key not in _VALID_KEYS:
            raise InvalidArgument(f'create {name}: invalid option: "{key}"')
    if "size" in options:
        raise Unsupported(f"create {name}: quota size requested but no quota support")
    if (options.get("o") or options.get("type")) and not options.get("device"):
        raise InvalidArgument(f'create {name}: missing required option: "device"')
    return dict(options)


def _flags_and_data(o: str) -> tuple[int, str]:
    flags = 0
    data: list[str] = []
    for word in (w for w in o.split(",") if w):
        if word in _FLAGS:
            clear, flag = _FLAGS[word]
            flags = flags & ~flag if clear else flags | flag
        else:
            data.append(word)
    return flags, ",".join(data)


class LocalDriver:
    """Volume directories under ``ROOT/volumes``."""

    def __init__(self, root: str) -> None:
        self.base = os.path.join(root, "volumes")

    def path(self, name: str) -> str:
        """The volume's ``Mountpoint``: what containers bind-mount."""
        return os.path.join(self.base, name, "_data")

    def create(self, name: str) -> str:
        os.makedirs(self.base, mode=0o701, exist_ok=True)
        os.makedirs(os.path.join(self.base, name), mode=0o755, exist_ok=True)
        data = self.path(name)
        os.makedirs(data, mode=0o755, exist_ok=True)
        return data

    def remove(self, name: str) -> None:
        data = self.path(name)
        if is_mounted(data):
            m.umount2(data, m.MNT_DETACH)
        shutil.rmtree(os.path.join(self.base, name), ignore_errors=True)

    def needs_mount(self, options: Mapping[str, str]) -> bool:
        return bool(options.get("type") or options.get("device"))

    def mount(self, name: str, options: Mapping[str, str]) -> None:
        """Mount the volume's filesystem on its ``_data`` (the first container to start)."""
        data = self.create(name)
        flags, fsdata = _flags_and_data(options.get("o", ""))
        fstype = options.get("type") or "none"
        device = options.get("device") or fstype
        if flags & m.MS_BIND:
            fstype = "none"
        m.mount(device, data, fstype, flags, fsdata or None)

    def unmount(self, name: str) -> None:
        """Unmount the volume's filesystem (the last container stopped)."""
        data = self.path(name)
        if is_mounted(data):
            m.umount2(data, m.MNT_DETACH)


def is_mounted(path: str) -> bool:
    """Whether ``path`` is a mount point in this mount namespace (``/proc/self/mountinfo``)."""
    want = path.replace("\\", "\\134").replace(" ", "\\040")
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ", 5)[4] == want for line in f)
