"""The overlay snapshotter: one directory per layer, stacked by overlayfs.

A committed snapshot's ``<id>/fs`` holds one layer's changes in overlayfs format
(whiteouts as 0/0 character devices, opaque directories with ``trusted.overlay.opaque``).
An active snapshot on top of a parent chain mounts as (kernel ``overlayfs.rst``)::

    mount -t overlay overlay -o lowerdir=<top fs>:...:<bottom fs>,upperdir=<id>/fs,
                                workdir=<id>/work TARGET

With no parent it is a bind mount of ``<id>/fs``; a view of one layer is a read-only bind.
"""

from __future__ import annotations

import os

from dockyard.image.snapshots.base import MetaSnapshotter, Mount, SnapshotMeta

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Literal

__all__ = ["OverlaySnapshotter", "overlay_supported"]


def overlay_supported() -> bool:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == "overlay" for line in f if line.strip())
    except OSError:
        return False


class OverlaySnapshotter(MetaSnapshotter):
    name = "overlayfs"
    whiteouts: Literal["overlay", "delete"] = "overlay"

    def __init__(self, root: str, conn: sqlite3.Connection) -> None:
        self.meta = SnapshotMeta(conn, "overlay", os.path.join(root, "image", "snapshots"))

    def prepare(self, key: str, parent: str = "") -> list[Mount]:
        info = self.meta.create(key, parent, "active")
        os.makedirs(os.path.join(self.meta.dir(info.id), "work"), mode=0o700)
        return self.mounts(key)

    def view(self, key: str, parent: str = "") -> list[Mount]:
        self.meta.create(key, parent, "view")
        return self.mounts(key)

    def mounts(self, key: str) -> list[Mount]:
        chain = self.meta.chain(key)
        me, lower = chain[0], chain[1:]
        if me.kind == "view":
            if not lower:
                return [Mount("bind", self._fs(me), ["ro", "rbind"])]
            if len(lower) == 1:
                return [Mount("bind", self._fs(lower[0]), ["ro", "rbind"])]
            dirs = ":".join(self._fs(i) for i in lower)
            return [Mount("overlay", "overlay", [f"lowerdir={dirs}"])]
        if not lower:
            return [Mount("bind", self._fs(me), ["rw", "rbind"])]
        dirs = ":".join(self._fs(i) for i in lower)
        work = os.path.join(self.meta.dir(me.id), "work")
        return [Mount("overlay", "overlay",
                      [f"lowerdir={dirs}", f"upperdir={self._fs(me)}", f"workdir={work}"])]
