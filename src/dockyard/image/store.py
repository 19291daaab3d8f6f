"""Image metadata in the shared SQLite database (containerd ``metadata/images.go``).

Tables (all created with ``CREATE TABLE IF NOT EXISTS``):

* ``images``: id (= config digest), manifest digest and media type, created, size,
  platform, parent (for builds), last tag time;
* ``image_tags``: full normalised reference (``docker.io/library/busybox:latest``) -> id;
* ``image_digests``: ``NAME@sha256:<manifest digest>`` (full name) -> id: Docker's
  RepoDigests, the digest a registry served on pull or took on push, per repository;
* ``push_blobs``: a stored blob -> the blob a push sends for it (digest, size): an
  uncompressed layer's gzip copy, made once on the first push; a manifest naming
  uncompressed layers -> the one naming their gzip copies. Kept while the source is;
* ``image_layers``: image id, index -> chain ID; a layer's snapshot is keyed by its chain ID;
* ``layers``: chain ID -> diff ID, parent chain, blob digest, media type, unpacked size.

Writes that must be atomic run in ``BEGIN IMMEDIATE`` transactions, so two CLIs at once
serialise on SQLite's write lock instead of interleaving.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from dockyard.errors import NotFound
from dockyard.image.config import rfc3339
from dockyard.record import record
from dockyard.sqlite import immediate

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

__all__ = ["ImageRecord", "ImageStore", "LayerRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY, manifest_digest TEXT NOT NULL, manifest_media_type TEXT NOT NULL,
    created TEXT NOT NULL, size INTEGER NOT NULL, os TEXT NOT NULL,
    architecture TEXT NOT NULL, variant TEXT NOT NULL DEFAULT '',
    parent TEXT NOT NULL DEFAULT '', added REAL NOT NULL, last_tag_time TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS image_tags (
    ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS image_digests (
    ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS push_blobs (
    source TEXT PRIMARY KEY, digest TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    chain_id TEXT NOT NULL, PRIMARY KEY (image_id, idx));
CREATE TABLE IF NOT EXISTS layers (
    chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT NOT NULL,
    blob_digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL);
"""

#: The blobs a ``push_blobs`` row may derive from: layers and image manifests.
_SOURCES = "SELECT blob_digest FROM layers UNION SELECT manifest_digest FROM images"


@record(frozen=True)
class ImageRecord:
    id: str
    manifest_digest: str
    manifest_media_type: str
    created: str
    size: int
    os: str
    architecture: str
    variant: str = ""
    parent: str = ""
    last_tag_time: str = ""


@record(frozen=True)
class LayerRecord:
    chain_id: str
    diff_id: str
    parent: str
    blob_digest: str
    media_type: str
    size: int


class ImageStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.executescript(_SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``)."""
        with immediate(self.conn) as c:
            yield c

    # images -----------------------------------------------------------------
    def add_image(self, rec: ImageRecord, chain_ids: list[str]) -> None:
        with self.tx() as c:
            if c.execute("SELECT 1 FROM images WHERE id = ?", (rec.id,)).fetchone():
                return
            c.execute("INSERT INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      (rec.id, rec.manifest_digest, rec.manifest_media_type, rec.created,
                       rec.size, rec.os, rec.architecture, rec.variant, rec.parent,
                       time.time(), rec.last_tag_time))
            c.executemany("INSERT INTO image_layers VALUES (?,?,?)",
                          [(rec.id, i, ch) for i, ch in enumerate(chain_ids)])

    def get(self, image_id: str) -> ImageRecord:
        r = self.conn.execute(
            "SELECT id, manifest_digest, manifest_media_type, created, size, os, architecture,"
            " variant, parent, last_tag_time FROM images WHERE id = ?", (image_id,)).fetchone()
        if r is None:
            raise NotFound(f"No such image: {image_id}")
        return ImageRecord(*r)

    def all(self) -> list[ImageRecord]:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM images ORDER BY added DESC")]
        return [self.get(i) for i in ids]

    def ids_with_prefix(self, hex_prefix: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM images WHERE substr(id, 8, ?) = ?",
            (len(hex_prefix), hex_prefix))]

    def by_manifest(self, digest: str) -> str | None:
        r = self.conn.execute("SELECT id FROM images WHERE manifest_digest = ?",
                              (digest,)).fetchone()
        return r[0] if r else None

    def chain_ids(self, image_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx", (image_id,))]

    def children(self, image_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM images WHERE parent = ?", (image_id,))]

    def delete_image(self, image_id: str) -> list[str]:
        """Forget an image (its tags go with it); return the chain IDs no image uses now,
        topmost first."""
        with self.tx() as c:
            chains = self.chain_ids(image_id)
            c.execute("DELETE FROM images WHERE id = ?", (image_id,))
            unused = [ch for ch in reversed(chains) if not c.execute(
                "SELECT 1 FROM image_layers WHERE chain_id = ? LIMIT 1", (ch,)).fetchone()]
            c.executemany("DELETE FROM layers WHERE chain_id = ?", [(u,) for u in unused])
            c.execute(f"DELETE FROM push_blobs WHERE source NOT IN ({_SOURCES})")
        return unused

    # tags -------------------------------------------------------------------
    def tags(self, image_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT ref FROM image_tags WHERE image_id = ? ORDER BY added, ref", (image_id,))]

    def all_tags(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT ref, image_id FROM image_tags"))

    def lookup(self, ref: str) -> str | None:
        r = self.conn.execute("SELECT image_id FROM image_tags WHERE ref = ?", (ref,)).fetchone()
        return r[0] if r else None

    def tag(self, ref: str, image_id: str) -> str | None:
        """Point ``ref`` at ``image_id``; return the image it pointed at before."""
        now = time.time()
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            old = c.execute("SELECT image_id FROM image_tags WHERE ref = ?", (ref,)).fetchone()
            c.execute("INSERT OR REPLACE INTO image_tags VALUES (?, ?, ?)", (ref, image_id, now))
            c.execute("UPDATE images SET last_tag_time = ? WHERE id = ?",
                      (rfc3339(now), image_id))
        return old[0] if old and old[0] != image_id else None

    def untag(self, ref: str) -> str:
        with self.tx() as c:
            r = c.execute("SELECT image_id FROM image_tags WHERE ref = ?", (ref,)).fetchone()
            if r is None:
                raise NotFound(f"No such image: {ref}")
            c.execute("DELETE FROM image_tags WHERE ref = ?", (ref,))
        return str(r[0])

    # digests (RepoDigests) ----------------------------------------------------
    def add_digest(self, ref: str, image_id: str) -> None:
        """Record ``NAME@DIGEST`` (normalised) for ``image_id``; a digest names one image."""
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO image_digests VALUES (?, ?, ?)",
                      (ref, image_id, time.time()))

    def digests(self, image_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT ref FROM image_digests WHERE image_id = ? ORDER BY added, ref",
            (image_id,))]

    def lookup_digest(self, ref: str) -> str | None:
        r = self.conn.execute("SELECT image_id FROM image_digests WHERE ref = ?",
                              (ref,)).fetchone()
        return r[0] if r else None

    def remove_digest(self, ref: str) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM image_digests WHERE ref = ?", (ref,))

    # layers -----------------------------------------------------------------
    def add_layer(self, rec: LayerRecord) -> None:
        self.conn.execute("INSERT OR IGNORE INTO layers VALUES (?,?,?,?,?,?)",
                          (rec.chain_id, rec.diff_id, rec.parent, rec.blob_digest,
                           rec.media_type, rec.size))

    def layer(self, chain_id: str) -> LayerRecord:
        r = self.conn.execute("SELECT * FROM layers WHERE chain_id = ?", (chain_id,)).fetchone()
        if r is None:
            raise NotFound(f"layer {chain_id}: not found")
        return LayerRecord(*r)

    # what a push sends ------------------------------------------------------
    def push_blob(self, source: str) -> tuple[str, int] | None:
        r = self.conn.execute("SELECT digest, size FROM push_blobs WHERE source = ?",
                              (source,)).fetchone()
        return (str(r[0]), int(r[1])) if r else None

    def add_push_blob(self, source: str, digest: str, size: int) -> None:
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO push_blobs VALUES (?, ?, ?)",
                      (source, digest, size))

    def used_blobs(self) -> set[str]:
        out = {r[0] for r in self.conn.execute("SELECT blob_digest FROM layers")}
        out |= {r[0] for r in self.conn.execute(
            f"SELECT digest FROM push_blobs WHERE source IN ({_SOURCES})")}
        out |= {r[0] for r in self.conn.execute("SELECT manifest_digest FROM images")}
        out |= {r[0] for r in self.conn.execute("SELECT id FROM images")}
        return out
