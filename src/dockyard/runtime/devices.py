"""The /dev a container gets: default nodes, spec devices, the standard symlinks."""

from __future__ import annotations

import errno
import os
import stat

from dockyard.errors import InvalidArgument
from dockyard.linux import fs
from dockyard.linux import mount as mnt

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Device, DeviceCgroup, Resources

#: runtime-spec config-linux.md "Default Devices": the runtime MUST supply these.
DEFAULT_DEVICES: list[Device] = [
    {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
    {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666},
    {"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 0o666},
    {"path": "/dev/random", "type": "c", "major": 1, "minor": 8, "fileMode": 0o666},
    {"path": "/dev/urandom", "type": "c", "major": 1, "minor": 9, "fileMode": 0o666},
    {"path": "/dev/tty", "type": "c", "major": 5, "minor": 0, "fileMode": 0o666},
]

#: ...and these symlinks (config-linux.md "/dev symbolic links").
DEFAULT_SYMLINKS = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                    ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")]

#: Device cgroup rules every container gets after its spec's own rules, as runc adds
#: them: mknod of anything, the default nodes, the console, the pty master and slaves.
DEFAULT_ALLOWED: list[DeviceCgroup] = [
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
]


def cgroup_rules(resources: Resources, devices: list[Device]) -> list[DeviceCgroup]:
    """The spec's rules, then an allow rule per spec device, then the defaults."""
    rules = list(resources.get("devices", []))
    for d in devices:
        rules.append({"allow": True, "type": "b" if d["type"] == "b" else "c",
                      "major": d.get("major", 0), "minor": d.get("minor", 0),
                      "access": "rwm"})
    return [*rules, *DEFAULT_ALLOWED]


_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def create_device(rootfd: int, dev: Device, bind: bool) -> None:
    """mknod the device in the rootfs, or (in a user namespace, where mknod is refused)
    bind-mount the host's node onto an empty file, as runc does."""
    path = dev["path"]
    kind = dev["type"]
    if kind not in _TYPES:
        raise InvalidArgument(f"device {path}: unknown type {kind!r}")
    parent, _, name = path.rstrip("/").rpartition("/")
    pfd = fs.mkdir_all_in_root(rootfd, parent or "/")
    try:
        if bind:
            try:
                os.unlink(name, dir_fd=pfd)
            except FileNotFoundError:
                pass
            fd = fs.create_file_in_root(rootfd, path, 0o644)
            try:
                mnt.mount(path, fs.fd_path(fd), None, mnt.MS_BIND, display=path)
            finally:
                os.close(fd)
            return
        mode = dev.get("fileMode", 0o666) | _TYPES[kind]
        rdev = os.makedev(dev.get("major", 0), dev.get("minor", 0))
        try:
            os.unlink(name, dir_fd=pfd)
        except FileNotFoundError:
            pass
        os.mknod(name, mode, rdev, dir_fd=pfd)
        os.chmod(name, mode & 0o7777, dir_fd=pfd)
        os.chown(name, dev.get("uid", 0), dev.get("gid", 0), dir_fd=pfd)
    finally:
        os.close(pfd)


def populate_dev(rootfd: int, devices: list[Device], in_userns: bool, has_devpts: bool) -> None:
    """Default and spec devices, then the standard symlinks, in the container's /dev."""
    seen = set()
    for dev in [*devices, *DEFAULT_DEVICES]:
        if dev["path"] in seen:
            continue
        seen.add(dev["path"])
        create_device(rootfd, dev, bind=in_userns)
    links = list(DEFAULT_SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    if has_devpts:
        links.append(("pts/ptmx", "/dev/ptmx"))
    devfd = fs.mkdir_all_in_root(rootfd, "/dev")
    try:
        for target, path in links:
            name = path.rsplit("/", 1)[1]
            try:
                os.symlink(target, name, dir_fd=devfd)
            except FileExistsError:
                if name == "ptmx":
                    os.unlink(name, dir_fd=devfd)
                    os.symlink(target, name, dir_fd=devfd)
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise
    finally:
        os.close(devfd)
