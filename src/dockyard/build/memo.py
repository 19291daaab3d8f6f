"""The build memo: a rebuild with nothing changed ends at once, as the step cache would.

When every input of a build is as it was for an earlier one, every step would be a
cache hit and the result the same image; the memo gets there without loading the
builder. Its key hashes: the context directory's every entry (path, type, mode, owner,
size, inode, mtime and ctime: a write to a file always moves its ctime, whatever its
mtime says), the Dockerfile's text, the options that shape the result and dockyard's
version. A hit counts only if every image it names still exists and every base image's
tag still names the image it named (a re-tagged ``FROM`` base is a miss). Builds with a
URL in the Dockerfile (ADD of remote content), ``--no-cache`` or ``--pull`` never use it.

Cheap to import on purpose (``hashlib``, ``json``, ``sqlite3``): a hit costs a walk of
the context and a few queries.
"""

from __future__ import annotations

import hashlib
import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

__all__ = ["Memo", "memo_key", "memo_slot"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_memo (
    slot TEXT PRIMARY KEY, key TEXT NOT NULL, image_id TEXT NOT NULL, record TEXT NOT NULL);
"""


def memo_slot(context_dir: str, dockerfile_path: str, identity: str) -> str:
    """One row per build set-up (context, Dockerfile, options): a new result replaces
    the last one."""
    return hashlib.sha256(f"{context_dir}\0{dockerfile_path}\0{identity}".encode()).hexdigest()


def memo_key(context_dir: str, dockerfile: bytes, identity: str) -> str | None:
    """The key of a build of ``context_dir`` with ``dockerfile`` and options
    ``identity``; ``None`` when such a build must not be memoized."""
    from dockyard import __version__

    if b"://" in dockerfile:
        return None
    h = hashlib.sha256()
    h.update(f"memo-v1\0{__version__}\0{identity}\0".encode())
    h.update(hashlib.sha256(dockerfile).digest())
    _walk(h, context_dir, "")
    return h.hexdigest()


def _walk(h: hashlib._Hash, top: str, rel: str) -> None:
    with os.scandir(top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        st = e.stat(follow_symlinks=False)
        name = f"{rel}/{e.name}" if rel else e.name
        h.update(f"{name}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0{st.st_size}\0"
                 f"{st.st_ino}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n".encode())
        if e.is_symlink():
            h.update(os.readlink(e.path).encode() + b"\0")
        elif e.is_dir(follow_symlinks=False):
            _walk(h, e.path, name)


class Memo:
    """``record``: ``image`` (the result), ``ids`` (every image its output names),
    ``bases`` (normalised reference -> image ID, ``""`` for a reference by ID),
    ``events`` (what to print, see :attr:`Builder.events`) and ``warnings``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.executescript(_SCHEMA)

    def lookup(self, slot: str, key: str) -> dict[str, object] | None:
        row = self.conn.execute("SELECT record FROM build_memo WHERE slot = ? AND key = ?",
                                (slot, key)).fetchone()
        if row is None:
            return None
        rec: dict[str, object] = json.loads(row[0])
        ids = sorted(set(rec["ids"]))  # type: ignore[call-overload]
        found = self.conn.execute(
            f"SELECT COUNT(*) FROM images WHERE id IN ({','.join('?' * len(ids))})",
            ids).fetchone()[0]
        if found != len(ids):
            return None
        for ref, image_id in rec["bases"].items():  # type: ignore[attr-defined]
            now = self.conn.execute("SELECT image_id FROM image_tags WHERE ref = ?",
                                    (ref,)).fetchone()
            if now is None or now[0] != image_id:
                return None
        return rec

    def store(self, slot: str, key: str, image_id: str, record: dict[str, object]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO build_memo VALUES (?, ?, ?, ?)",
                          (slot, key, image_id, json.dumps(record)))
