"""Snapshotters: layered root filesystems (containerd ``core/snapshots``).

The backend is chosen once per root (STYLE rule 6): overlayfs when the kernel has it,
else the copy fallback; ``DOCKYARD_SNAPSHOTTER=overlayfs|vfs`` picks one for a new root.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument
from dockyard.image.snapshots.base import Mount, SnapshotInfo, Snapshotter
from dockyard.image.snapshots.copy import CopySnapshotter
from dockyard.image.snapshots.overlay import OverlaySnapshotter, overlay_supported

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "CopySnapshotter",
    "Mount",
    "OverlaySnapshotter",
    "SnapshotInfo",
    "Snapshotter",
    "mount_all",
    "new_snapshotter",
    "unmount",
]


def new_snapshotter(root: str, conn: sqlite3.Connection,
                    driver: str | None = None) -> Snapshotter:
    """The root's snapshotter. The first use of a root picks it (``driver``, else
    ``$DOCKYARD_SNAPSHOTTER``, else by kernel support) and records it in
    ``<root>/image/snapshotter``; later uses keep it, so unpacked layers stay found."""
    record = os.path.join(root, "image", "snapshotter")
    try:
        with open(record) as f:
            recorded = f.read().strip()
    except FileNotFoundError:
        recorded = ""
    choice = driver or recorded or os.environ.get("DOCKYARD_SNAPSHOTTER") or (
        "overlayfs" if overlay_supported() else "vfs")
    sn: Snapshotter
    if choice in ("overlayfs", "overlay", "overlay2"):
        sn = OverlaySnapshotter(root, conn)
    elif choice in ("vfs", "copy"):
        sn = CopySnapshotter(root, conn)
    else:
        raise InvalidArgument(f"unknown snapshotter {choice!r}: want overlayfs or vfs")
    if not recorded:
        tmp = f"{record}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(sn.name + "\n")
        os.replace(tmp, record)
    return sn


def mount_all(mounts: list[Mount], target: str) -> None:
    """Mount ``mounts`` on ``target``, in order (kernel ``mount(2)``; a read-only bind
    needs a second MS_REMOUNT|MS_BIND|MS_RDONLY call)."""
    from dockyard.linux import mount as m

    for mnt in mounts:
        if mnt.type == "bind":
            flags = m.MS_BIND | (m.MS_REC if "rbind" in mnt.options else 0)
            m.mount(mnt.source, target, None, flags)
            if "ro" in mnt.options:
                m.mount(None, target, None, m.MS_REMOUNT | m.MS_BIND | m.MS_RDONLY)
        else:
            opts = [o for o in mnt.options if o not in ("ro", "rw")]
            flags = m.MS_RDONLY if "ro" in mnt.options else 0
            data = ",".join(opts)
            if len(data) < _MOUNT_DATA_MAX:
                m.mount(mnt.source, target, mnt.type, flags, data)
                continue
            fds: list[int] = []
            try:
                short = [_fd_paths(o, fds) if o.startswith("lowerdir=") else o for o in opts]
                m.mount(mnt.source, target, mnt.type, flags, ",".join(short))
            finally:
                for fd in fds:
                    os.close(fd)


#: mount(2) copies at most one page of option data; overlayfs refuses longer lowerdir=
_MOUNT_DATA_MAX = 4000


def _fd_paths(opt: str, fds: list[int]) -> str:
    """``lowerdir=/long/a:/long/b`` -> ``lowerdir=/proc/self/fd/7:/proc/self/fd/8``: the
    kernel resolves each path at mount time, so an O_PATH fd names a layer in ~17 bytes
    and a chain of ~200 layers fits in a page (Docker's overlay2 uses short symlinks)."""
    out = []
    for d in opt.removeprefix("lowerdir=").split(":"):
        fd = os.open(d, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        fds.append(fd)
        out.append(f"/proc/self/fd/{fd}")
    return "lowerdir=" + ":".join(out)


def unmount(target: str) -> None:
    """Lazily unmount whatever :func:`mount_all` put on ``target``."""
    from dockyard.linux import mount as m

    m.umount2(target, m.MNT_DETACH)
