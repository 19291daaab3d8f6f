"""The embedded state database: one SQLite file per dockyard root, in WAL mode.

Each concern (images, containers, volumes, networks) owns its tables in this file and
creates them with ``CREATE TABLE IF NOT EXISTS`` when it first opens the database.
Several CLIs and the daemon may hold it at once: WAL lets readers run beside one writer
and ``busy_timeout`` makes a writer wait for another instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["connect", "immediate"]


def connect(root: str) -> sqlite3.Connection:
    """Open (creating if needed) ``ROOT/dockyard.db`` with WAL and foreign keys on."""
    os.makedirs(root, mode=0o711, exist_ok=True)
    conn = sqlite3.connect(os.path.join(root, "dockyard.db"), timeout=30.0,
                           isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    _set_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken up front (``BEGIN IMMEDIATE``): the write lock is held
    from the first read, so a read-modify-write cannot interleave with another writer's.
    Committed at the end of the block, rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _set_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Switch to WAL, retrying while another connection holds the file.

    Changing the journal mode needs an exclusive lock and SQLite does not always call the busy
    handler for it: when several processes open a new database at once, some get "database is
    locked" at once. WAL is persistent, so the first switch wins and later ones are no-ops.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
