"""The ``mounts`` of a container's config.json, as dockerd 20.10 lays them out (``setMounts``).

Docker's defaults (``oci/defaults.go``), less any a user mount replaces; then user mounts (binds
and ``--tmpfs``) sorted by depth so parents mount first (``sortMounts``); then the per-container
``/etc/resolv.conf``, ``/etc/hostname`` and ``/etc/hosts`` binds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from dockyard.engine.run_options import BindMount, RunOptions
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Mount

__all__ = [
    "DEFAULT_SHM_SIZE",
    "INIT_PATH",
    "Bind",
    "EtcFiles",
    "bind_mount",
    "container_mounts",
    "default_mounts",
    "merge_tmpfs_options",
]

DEFAULT_SHM_SIZE = 64 << 20
INIT_PATH = "/sbin/docker-init"

Bind = BindMount | tuple[str, str, str]
"""A ``BindMount`` or ``(source, destination, mode)``, ``mode`` as in ``-v`` (``"ro,rslave"``)."""

EtcFiles = Mapping[str, str]
"""Host paths of the per-container files to bind: keys ``resolv.conf``, ``hostname``, ``hosts``."""


def default_mounts(shm_size: int = DEFAULT_SHM_SIZE) -> list[Mount]:
    """The mounts of ``DefaultLinuxSpec``, with ``/dev/shm`` sized as Docker sizes it."""
    nse = ["nosuid", "noexec", "nodev"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": list(nse)},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": [*nse, "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", *nse]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": list(nse)},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": [*nse, "mode=1777", f"size={shm_size}"]},
    ]


_TMPFS_FLAGS = {  # option -> the mount flag it sets or clears (moby pkg/mount ``flags``)
    "ro": "rdonly", "rw": "rdonly", "suid": "nosuid", "nosuid": "nosuid", "dev": "nodev",
    "nodev": "nodev", "exec": "noexec", "noexec": "noexec", "sync": "sync", "async": "sync",
    "dirsync": "dirsync", "remount": "remount", "mand": "mand", "nomand": "mand",
    "atime": "noatime", "noatime": "noatime", "diratime": "nodiratime",
    "nodiratime": "nodiratime", "bind": "bind", "rbind": "bind", "relatime": "relatime",
    "norelatime": "relatime", "strictatime": "strictatime", "nostrictatime": "strictatime",
    "private": "propagation", "rprivate": "propagation", "shared": "propagation",
    "rshared": "propagation", "slave": "propagation", "rslave": "propagation",
    "unbindable": "propagation", "runbindable": "propagation",
}
_TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: Sequence[str]) -> list[str]:
    """moby ``MergeTmpfsOptions``: later options win, one per flag and per data key."""
    seen: set[str] = set()
    out: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        if option in _TMPFS_FLAGS:
            key = _TMPFS_FLAGS[option]
        else:
            name, sep, _ = option.partition("=")
            if not sep or name not in _TMPFS_DATA:
                raise InvalidArgument(f'invalid tmpfs option "{option}"')
            key = "=" + name
        if key not in seen:
            seen.add(key)
            out.insert(0, option)
    return out


def bind_mount(m: Bind, read_only_root: bool = False) -> Mount:
    if isinstance(m, tuple):
        source, destination, mode = m
        modes = [x for x in mode.split(",") if x]
        for x in modes:
            if x not in ("ro", "rw", "z", "Z", "nocopy") and _TMPFS_FLAGS.get(x) != "propagation":
                raise InvalidArgument(f"invalid mode: {mode}")
        prop = next((x for x in modes if _TMPFS_FLAGS.get(x) == "propagation"), "rprivate")
        m = BindMount(source, destination, readonly="ro" in modes, propagation=prop)
    if not m.destination.startswith("/"):
        raise InvalidArgument(
            f"invalid mount config for type \"bind\": invalid mount path: '{m.destination}' "
            "mount path must be absolute")
    options = ["rbind" if m.recursive else "bind"]
    if m.readonly or read_only_root:
        options.append("ro")
    if m.propagation:
        options.append(m.propagation)
    return {"destination": os.path.normpath(m.destination), "type": "bind",
            "source": m.source, "options": options}


def _depth(m: Mount) -> int:
    return len([p for p in m["destination"].split("/") if p])


def container_mounts(opts: RunOptions, shm_size: int, binds: Sequence[Bind],
                     etc_files: EtcFiles, init_path: str | None) -> list[Mount]:
    """``mounts`` as ``WithMounts`` builds it.

    The container's own mounts are the binds, then resolv.conf, hostname and hosts (unless bound
    by the user), the host's ``/dev/shm`` for ``--ipc host``, the ``--tmpfs`` mounts; stably
    sorted by depth (``sortMounts``). They follow the defaults, less any they replace (and
    everything under ``/dev`` when ``/dev`` itself is mounted; ``/dev/shm`` for ``--ipc none``).
    The init binary for ``--init`` comes last.
    """
    own: list[Mount] = sorted((bind_mount(b) for b in binds), key=_depth)
    taken = {m["destination"] for m in own} | {os.path.normpath(d) for d in opts.tmpfs}
    for name in ("resolv.conf", "hostname", "hosts"):
        dest = "/etc/" + name
        if name in etc_files and dest not in taken:
            own.append(bind_mount(BindMount(etc_files[name], dest), opts.read_only))
    if opts.ipc_mode == "host" and "/dev/shm" not in taken:
        own.append(bind_mount(BindMount("/dev/shm", "/dev/shm")))
    for dest, data in opts.tmpfs.items():
        if not dest.startswith("/"):
            raise InvalidArgument(f"invalid mount path: '{dest}' mount path must be absolute")
        extra = [x for x in data.split(",") if x]
        own.append({"destination": os.path.normpath(dest), "type": "tmpfs", "source": "tmpfs",
                    "options": merge_tmpfs_options(
                        ["noexec", "nosuid", "nodev", "rprivate", *extra])})
    own.sort(key=_depth)
    taken = {m["destination"] for m in own}
    mounts = []
    for m in default_mounts(shm_size):
        dest = m["destination"]
        if dest in taken or ("/dev" in taken and dest.startswith("/dev/")):
            continue
        if dest == "/dev/shm" and opts.ipc_mode == "none":
            continue
        if opts.privileged and dest in ("/sys", "/sys/fs/cgroup"):
            m["options"] = [o for o in m.get("options", []) if o != "ro"]
        mounts.append(m)
    mounts.extend(own)
    if opts.init and init_path:
        mounts.append({"destination": INIT_PATH, "type": "bind", "source": init_path,
                       "options": ["bind", "ro"]})
    return mounts
