"""Volume records in the shared SQLite database.

Two tables, created with ``CREATE TABLE IF NOT EXISTS``: ``volumes`` (one row a volume: name,
driver, creation time, labels and driver options as JSON, whether it is anonymous) and
``volume_active`` (which running containers hold a driver-mounted volume mounted, so that the
first user mounts it and the last one unmounts it). Writes run in ``BEGIN IMMEDIATE``
transactions: two CLIs creating one name serialise on SQLite's write lock.

Who *uses* a volume is not stored here: the container records say it (their mount points).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

from dockyard.errors import Conflict, NotFound
from dockyard.record import field, record
from dockyard.sqlite import connect, immediate

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

__all__ = ["VolumeRecord", "VolumeStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY, driver TEXT NOT NULL, created_at TEXT NOT NULL,
    labels TEXT NOT NULL, options TEXT NOT NULL, anonymous INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS volume_active (
    name TEXT NOT NULL, container_id TEXT NOT NULL, PRIMARY KEY (name, container_id));
"""


def _now() -> str:
    """``2026-11-23T08:17:55Z``: Docker's ``CreatedAt`` of a volume (seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@record(frozen=True)
class VolumeRecord:
    """One volume. ``options`` are the driver's ``-o`` options (``type``, ``device``, ``o``)."""

    name: str
    driver: str = "local"
    created_at: str = field(default_factory=_now)
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False


class VolumeStore:
    def __init__(self, root: str) -> None:
        self.conn = connect(root)
        self._lock = threading.RLock()
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``)."""
        with self._lock, immediate(self.conn) as c:
            yield c

    @staticmethod
    def _row(r: tuple[str, str, str, str, str, int]) -> VolumeRecord:
        return VolumeRecord(name=r[0], driver=r[1], created_at=r[2], labels=json.loads(r[3]),
                            options=json.loads(r[4]), anonymous=bool(r[5]))

    def find(self, c: sqlite3.Connection, name: str) -> VolumeRecord | None:
        r = c.execute("SELECT name, driver, created_at, labels, options, anonymous "
                      "FROM volumes WHERE name = ?", (name,)).fetchone()
        return None if r is None else self._row(r)

    def insert(self, c: sqlite3.Connection, rec: VolumeRecord) -> None:
        if self.find(c, rec.name) is not None:
            raise Conflict(f"volume {rec.name} already exists")
        c.execute("INSERT INTO volumes VALUES (?, ?, ?, ?, ?, ?)",
                  (rec.name, rec.driver, rec.created_at, json.dumps(rec.labels),
                   json.dumps(rec.options), int(rec.anonymous)))

    def get(self, name: str) -> VolumeRecord:
        with self._lock:
            rec = self.find(self.conn, name)
        if rec is None:
            raise NotFound(f"get {name}: no such volume")
        return rec

    def all(self) -> list[VolumeRecord]:
        with self._lock:
            rows = self.conn.execute("SELECT name, driver, created_at, labels, options, "
                                     "anonymous FROM volumes ORDER BY name").fetchall()
        return [self._row(r) for r in rows]

    def delete(self, c: sqlite3.Connection, name: str) -> None:
        c.execute("DELETE FROM volumes WHERE name = ?", (name,))
        c.execute("DELETE FROM volume_active WHERE name = ?", (name,))

    # mount reference counts for driver-mounted volumes -----------------------
    def activate(self, c: sqlite3.Connection, name: str, container_id: str) -> bool:
        """Record ``container_id`` as a user of the mounted volume; True if it is the first."""
        first = c.execute("SELECT 1 FROM volume_active WHERE name = ?",
                          (name,)).fetchone() is None
        c.execute("INSERT OR IGNORE INTO volume_active VALUES (?, ?)", (name, container_id))
        return first

    def holders(self, c: sqlite3.Connection, name: str) -> list[str]:
        return [str(r[0]) for r in c.execute(
            "SELECT container_id FROM volume_active WHERE name = ?", (name,))]

    def deactivate(self, c: sqlite3.Connection, name: str, container_id: str) -> bool:
        """Forget ``container_id`` as a user; True if no user is left (unmount it then)."""
        c.execute("DELETE FROM volume_active WHERE name = ? AND container_id = ?",
                  (name, container_id))
        return c.execute("SELECT 1 FROM volume_active WHERE name = ?",
                         (name,)).fetchone() is None
