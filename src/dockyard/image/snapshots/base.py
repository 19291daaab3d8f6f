"""The snapshotter Protocol (containerd ``core/snapshots/snapshotter.go``) and the
metadata both implementations share.

Lifecycle::

    mounts = sn.prepare(key, parent)   # an *active* snapshot: writable, on top of the
                                       # committed snapshot ``parent`` (or empty)
    ...write into sn.upper(key) (e.g. unpack.apply_layer) or mount ``mounts``...
    sn.commit(name, key)               # active -> *committed* ``name``; ``key`` is gone
    sn.view(key, parent)               # a read-only active snapshot of ``parent``
    sn.remove(key)                     # any snapshot without children

Only committed snapshots can be parents. Keys are unique per snapshotter; ``commit`` to a
name that exists raises :class:`Conflict` (another process unpacked the same layer first).
Each snapshot lives in ``<base>/<id>/fs``; metadata is in the shared SQLite database.
"""

from __future__ import annotations

import os
import sqlite3
import time

from dockyard.errors import Conflict, NotFound
from dockyard.linux.fs import remove_tree
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, Protocol, TypeAlias
else:
    Protocol = object

__all__ = ["Kind", "MetaSnapshotter", "Mount", "SnapshotInfo", "Snapshotter"]

Kind: TypeAlias = 'Literal["active", "view", "committed"]'


@record(frozen=True)
class Mount:
    """One mount(2) call: ``mount -t type -o options source TARGET``."""

    type: str
    source: str
    options: list[str] = field(default_factory=list)


@record(frozen=True)
class SnapshotInfo:
    key: str
    id: int
    parent: str
    kind: Kind
    created: float


class Snapshotter(Protocol):
    """Layered filesystem trees; see the module docstring for the lifecycle."""

    name: str
    #: how unpack.apply_layer must treat whiteouts in ``upper()``
    whiteouts: Literal["overlay", "delete"]

    def prepare(self, key: str, parent: str = "") -> list[Mount]: ...
    def view(self, key: str, parent: str = "") -> list[Mount]: ...
    def mounts(self, key: str) -> list[Mount]: ...
    def commit(self, name: str, key: str) -> None: ...
    def remove(self, key: str) -> None: ...
    def stat(self, key: str) -> SnapshotInfo: ...
    def exists(self, key: str) -> bool: ...
    def walk(self) -> list[SnapshotInfo]: ...
    def upper(self, key: str) -> str:
        """The directory an active snapshot's changes are written to."""
        ...

    def usage(self, key: str) -> int:
        """Bytes used by this snapshot's own directory."""
        ...


class SnapshotMeta:
    """SQLite rows for one snapshotter: ``snapshots_<driver>``."""

    def __init__(self, conn: sqlite3.Connection, driver: str, base: str) -> None:
        self.conn = conn
        self.table = f"snapshots_{driver}"
        self.base = base
        os.makedirs(base, mode=0o700, exist_ok=True)
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.table} (
            id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL,
            parent INTEGER REFERENCES {self.table}(id), kind TEXT NOT NULL,
            created REAL NOT NULL)""")

    def dir(self, sid: int) -> str:
        return os.path.join(self.base, str(sid))

    def _row(self, key: str) -> SnapshotInfo | None:
        r = self.conn.execute(
            f"SELECT s.key, s.id, COALESCE(p.key, ''), s.kind, s.created FROM {self.table} s "
            f"LEFT JOIN {self.table} p ON p.id = s.parent WHERE s.key = ?", (key,)).fetchone()
        return SnapshotInfo(r[0], r[1], r[2], r[3], r[4]) if r else None

    def get(self, key: str) -> SnapshotInfo:
        info = self._row(key)
        if info is None:
            raise NotFound(f"snapshot {key}: not found")
        return info

    def exists(self, key: str) -> bool:
        return self._row(key) is not None

    def chain(self, key: str) -> list[SnapshotInfo]:
        """``key`` and its ancestors, nearest first."""
        out = []
        cur = key
        while cur:
            info = self.get(cur)
            out.append(info)
            cur = info.parent
        return out

    def create(self, key: str, parent: str, kind: Kind) -> SnapshotInfo:
        pid = None
        if parent:
            p = self.get(parent)
            if p.kind != "committed":
                raise Conflict(f"snapshot {parent}: parent is not committed")
            pid = p.id
        try:
            cur = self.conn.execute(
                f"INSERT INTO {self.table} (key, parent, kind, created) VALUES (?, ?, ?, ?)",
                (key, pid, kind, time.time()))
        except sqlite3.IntegrityError:
            raise Conflict(f"snapshot {key}: already exists") from None
        sid = int(cur.lastrowid or 0)
        d = self.dir(sid)
        remove_tree(d)  # left over by a crash before the insert
        os.makedirs(os.path.join(d, "fs"), mode=0o755)
        return self.get(key)

    def commit(self, name: str, key: str) -> None:
        info = self.get(key)
        if info.kind != "active":
            raise Conflict(f"snapshot {key}: only an active snapshot can be committed")
        try:
            n = self.conn.execute(
                f"UPDATE {self.table} SET key = ?, kind = 'committed' WHERE key = ? "
                "AND kind = 'active'", (name, key)).rowcount
        except sqlite3.IntegrityError:
            raise Conflict(f"snapshot {name}: already exists") from None
        if n != 1:
            raise NotFound(f"snapshot {key}: not found")

    def remove(self, key: str) -> SnapshotInfo:
        info = self.get(key)
        kids = self.conn.execute(f"SELECT COUNT(*) FROM {self.table} WHERE parent = ?",
                                 (info.id,)).fetchone()[0]
        if kids:
            raise Conflict(f"snapshot {key}: has {kids} children")
        self.conn.execute(f"DELETE FROM {self.table} WHERE id = ?", (info.id,))
        remove_tree(self.dir(info.id))
        return info

    def walk(self) -> list[SnapshotInfo]:
        keys = [r[0] for r in self.conn.execute(f"SELECT key FROM {self.table} ORDER BY id")]
        return [self.get(k) for k in keys]


class MetaSnapshotter:
    """What both snapshotters share: metadata calls and ``<base>/<id>/fs`` paths."""

    meta: SnapshotMeta

    def _fs(self, info: SnapshotInfo) -> str:
        return os.path.join(self.meta.dir(info.id), "fs")

    def upper(self, key: str) -> str:
        return self._fs(self.meta.get(key))

    def commit(self, name: str, key: str) -> None:
        self.meta.commit(name, key)

    def remove(self, key: str) -> None:
        self.meta.remove(key)

    def stat(self, key: str) -> SnapshotInfo:
        return self.meta.get(key)

    def exists(self, key: str) -> bool:
        return self.meta.exists(key)

    def walk(self) -> list[SnapshotInfo]:
        return self.meta.walk()

    def usage(self, key: str) -> int:
        return du(self.upper(key))


def du(path: str) -> int:
    """Bytes of regular files under ``path`` (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            st = os.lstat(os.path.join(dirpath, f))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
