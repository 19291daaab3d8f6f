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

__all__ = ["connect"]


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


def _set_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Switch a new database to WAL. SQLite answers ``database is locked`` at once, without
    the busy handler, when two processes switch the same new file together: retry."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
