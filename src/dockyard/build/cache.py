"""The build cache: step key -> the image that step made.

A step's key is the sha256 of its parent image ID, the instruction with its arguments
expanded (and, for RUN, the build args it sees), and for COPY/ADD a hash of the sources:
for each file its path, type, mode, owner, size, link target and content (not its mtime,
as Docker's classic builder). The table lives in the root's SQLite database; a hit whose
image was removed since is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

__all__ = ["BuildCache", "hash_file", "step_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);
"""


def step_key(parent: str, instruction: str, extra: str = "") -> str:
    data = json.dumps([parent, instruction, extra], separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def hash_file(h: hashlib._Hash, path: str, name: str) -> None:
    """Feed one source entry (not following a final symlink) into ``h``."""
    st = os.lstat(path)
    kind = stat.S_IFMT(st.st_mode)
    h.update(f"{name}\0{kind:o}\0{stat.S_IMODE(st.st_mode):o}\0{st.st_uid}\0{st.st_gid}\0"
             .encode())
    if stat.S_ISLNK(st.st_mode):
        h.update(os.readlink(path).encode() + b"\0")
    elif stat.S_ISREG(st.st_mode):
        h.update(f"{st.st_size}\0".encode())
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    h.update(b"\n")


class BuildCache:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.executescript(_SCHEMA)

    def get(self, key: str) -> str | None:
        r = self.conn.execute(
            "SELECT c.image_id FROM build_cache c JOIN images i ON i.id = c.image_id "
            "WHERE c.key = ?", (key,)).fetchone()
        return str(r[0]) if r else None

    def put(self, key: str, image_id: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO build_cache VALUES (?, ?)", (key, image_id))
