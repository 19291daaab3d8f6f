"""The copy snapshotter: the fallback where overlayfs is missing (a naive ``vfs``).

Every snapshot is a full tree: ``prepare`` copies the parent's tree with ``cp -a``
(owners, modes, times, xattrs, hard links, device nodes), so layers apply with whiteouts
*deleting* files. Mounts are bind mounts.
"""

from __future__ import annotations

import os

from dockyard.errors import DockyardError
from dockyard.image.snapshots.base import MetaSnapshotter, Mount, SnapshotMeta

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Literal

__all__ = ["CopySnapshotter"]


class CopySnapshotter(MetaSnapshotter):
    name = "vfs"
    whiteouts: Literal["overlay", "delete"] = "delete"

    def __init__(self, root: str, conn: sqlite3.Connection) -> None:
        self.meta = SnapshotMeta(conn, "copy", os.path.join(root, "image", "snapshots-copy"))

    def _create(self, key: str, parent: str, kind: Literal["active", "view"]) -> list[Mount]:
        info = self.meta.create(key, parent, kind)
        if parent:
            import subprocess

            src = self._fs(self.meta.get(parent))
            r = subprocess.run(["cp", "-a", "--reflink=auto", "-T", src, self._fs(info)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                self.meta.remove(key)
                raise DockyardError(f"copy snapshot {parent}: {r.stderr.strip()}")
        return self.mounts(key)

    def prepare(self, key: str, parent: str = "") -> list[Mount]:
        return self._create(key, parent, "active")

    def view(self, key: str, parent: str = "") -> list[Mount]:
        return self._create(key, parent, "view")

    def mounts(self, key: str) -> list[Mount]:
        info = self.meta.get(key)
        mode = "ro" if info.kind != "active" else "rw"
        return [Mount("bind", self._fs(info), [mode, "rbind"])]
