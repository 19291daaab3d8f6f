"""Images as a whole: create from layers, unpack once per chain ID, resolve, remove.

The pieces: blobs in :mod:`content`, metadata in :mod:`store`, filesystems in
:mod:`snapshots`. An image is a config blob (its digest is the image ID), an OCI
manifest blob, and one committed snapshot per layer keyed by the layer's chain ID.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from contextlib import contextmanager

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.image.content import LocalContentStore
from dockyard.image.snapshots import Mount, Snapshotter, new_snapshotter
from dockyard.image.store import ImageRecord, ImageStore, LayerRecord
from dockyard.oci import image_types as mt
from dockyard.oci.digest import chain_id
from dockyard.oci.reference import parse_reference
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

    from dockyard.image.config import JSONDict

__all__ = ["ImageService", "LayerBlob"]


@record(frozen=True)
class LayerBlob:
    """A layer blob already in the content store."""

    digest: str
    media_type: str
    size: int


class ImageService:
    def __init__(self, root: str) -> None:
        from dockyard.sqlite import connect

        self.root = root
        self.conn = connect(root)
        self.content = LocalContentStore(root)
        self.store = ImageStore(self.conn)
        self.snapshots: Snapshotter = new_snapshotter(root, self.conn)
        self.lock_dir = os.path.join(root, "image", "locks")
        os.makedirs(self.lock_dir, mode=0o700, exist_ok=True)

    def close(self) -> None:
        self.conn.close()

    # creating ---------------------------------------------------------------
    def ingest_layer(self, src: BinaryIO) -> LayerBlob:
        """Store a (possibly compressed) layer stream as an uncompressed tar blob, whose
        digest is therefore its DiffID."""
        from dockyard.image.unpack import decompressed, is_corrupt

        reader = decompressed(src)
        with self.content.ingest() as w:
            size = 0
            try:
                while chunk := reader.read(1 << 20):
                    w.write(chunk)
                    size += len(chunk)
            except Exception as e:
                if not is_corrupt(e):
                    raise
                raise InvalidArgument(f"invalid layer archive: {e}") from e
            digest = w.commit()
        return LayerBlob(digest, mt.OCI_LAYER, size)

    def create(self, config_bytes: bytes, layers: list[LayerBlob],
               manifest: bytes | None = None, manifest_media_type: str = mt.OCI_MANIFEST,
               parent: str = "") -> ImageRecord:
        """Record an image from its config bytes (kept verbatim: their digest is the ID)
        and its layer blobs (already in the content store, compressed or not), unpacking
        layers not yet unpacked. ``manifest`` (a pulled one, kept verbatim for its digest)
        must name these blobs; without it an OCI manifest is made. ``parent`` (an image ID)
marks a build's intermediate chain: ``images`` hides untagged parents, ``rmi`` keeps them
while children exist."""
        try:
            cfg = json.loads(config_bytes)
            diff_ids = list(cfg["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidArgument(f"invalid image config: {e}") from e
        if len(diff_ids) != len(layers):
            raise InvalidArgument(
                f"invalid image: config lists {len(diff_ids)} layers, found {len(layers)}")
        config_digest = self.content.put(config_bytes)
        chains = self.unpack(diff_ids, layers)
        if manifest is None:
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest,
                           "size": len(config_bytes)},
                "layers": [{"mediaType": lb.media_type, "digest": lb.digest, "size": lb.size}
                           for lb in layers],
            }, separators=(",", ":")).encode()
            manifest_media_type = mt.OCI_MANIFEST
        else:
            parsed = mt.parse_manifest(manifest, manifest_media_type)
            if parsed.config.digest != config_digest or [d.digest for d in parsed.layers] != [
                    lb.digest for lb in layers]:
                raise InvalidArgument("invalid image: manifest does not name its config "
                                      "and layers")
        mdigest = self.content.put(manifest)
        size = sum(self.store.layer(c).size for c in chains)
        rec = ImageRecord(config_digest, mdigest, manifest_media_type,
                          str(cfg.get("created", "")), size, str(cfg.get("os", "linux")),
                          str(cfg.get("architecture", "")), str(cfg.get("variant", "")),
                          parent)
        self.store.add_image(rec, chains)
        return self.store.get(config_digest)

    @contextmanager
    def _flock(self, name: str, how: int) -> Iterator[None]:
        fd = os.open(os.path.join(self.lock_dir, name),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, how)
            yield
        finally:
            os.close(fd)

    def _layer_lock(self, chain: str) -> contextlib.AbstractContextManager[None]:
        return self._flock(chain.partition(":")[2], fcntl.LOCK_EX)

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Held (shared) from the first blob written until the image is recorded, so
        that :meth:`gc_blobs` (exclusive) never collects a blob in flight."""
        return self._flock("gc", fcntl.LOCK_SH)

    def unpack(self, diff_ids: list[str], layers: list[LayerBlob]) -> list[str]:
        """Unpack each layer into a snapshot keyed by its chain ID, once: a flock per
        chain ID makes a concurrent unpack of the same layer wait, then find it done."""
        chains: list[str] = []
        parent = ""
        for i, lb in enumerate(layers):
            chain = str(chain_id(diff_ids[: i + 1]))
            with self._layer_lock(chain):
                if not self.snapshots.exists(chain):
                    size = self._unpack_one(chain, parent, diff_ids[i], lb)
                else:
                    try:
                        size = self.store.layer(chain).size
                    except NotFound:
                        size = self.snapshots.usage(chain)
                self.store.add_layer(LayerRecord(chain, diff_ids[i], parent, lb.digest,
                                                 lb.media_type, size))
            chains.append(chain)
            parent = chain
        return chains

    def _unpack_one(self, chain: str, parent: str, diff_id: str, lb: LayerBlob) -> int:
        from dockyard.image.unpack import apply_layer

        key = f"extract-{os.urandom(6).hex()}-{chain}"  # not uuid: it imports platform
        self.snapshots.prepare(key, parent)
        try:
            with self.content.open(lb.digest) as f:
                stats = apply_layer(f, self.snapshots.upper(key), self.snapshots.whiteouts)
            if stats.diff_id != diff_id:
                raise InvalidArgument(
                    f"layer {lb.digest}: DiffID {stats.diff_id} does not match config {diff_id}")
            self.snapshots.commit(chain, key)
        except BaseException:
            self.snapshots.remove(key)
            raise
        return stats.size

    # reading ----------------------------------------------------------------
    def resolve(self, name: str) -> ImageRecord:
        """A tag, ``name@digest``, a full ID or a unique ID prefix -> the image."""
        hexpart = name.removeprefix("sha256:")
        if len(hexpart) == 64 and all(c in "0123456789abcdef" for c in hexpart):
            return self.store.get(f"sha256:{hexpart}")
        try:
            ref = parse_reference(name)
        except InvalidArgument:
            ref = None
        if ref is not None:
            found = self.store.lookup(str(ref))
            if ref.digest and not found:
                found = (self.store.lookup_digest(f"{ref.name}@{ref.digest}")
                         or self.store.by_manifest(ref.digest))
            if found:
                return self.store.get(found)
        if hexpart and all(c in "0123456789abcdef" for c in hexpart):
            ids = self.store.ids_with_prefix(hexpart)
            if len(ids) == 1:
                return self.store.get(ids[0])
            if len(ids) > 1:
                raise Conflict(f"multiple IDs found with provided prefix: {hexpart}")
        if ref is None:
            raise InvalidArgument(f"invalid reference format: {name!r}")
        raise NotFound(f"No such image: {name}")

    def config(self, image_id: str) -> JSONDict:
        data: JSONDict = json.loads(self.content.read(image_id))
        return data

    def manifest(self, rec: ImageRecord) -> JSONDict:
        data: JSONDict = json.loads(self.content.read(rec.manifest_digest))
        return data

    def familiar_tags(self, image_id: str) -> list[str]:
        return [parse_reference(t).familiar() for t in self.store.tags(image_id)]

    def familiar_digests(self, image_id: str) -> list[str]:
        return [parse_reference(d).familiar() for d in self.store.digests(image_id)]

    def layers(self, rec: ImageRecord) -> list[LayerRecord]:
        return [self.store.layer(c) for c in self.store.chain_ids(rec.id)]

    def prepare_rootfs(self, key: str, image: str) -> list[Mount]:
        """An active snapshot on top of ``image`` for a container's root filesystem."""
        rec = self.resolve(image)
        chains = self.store.chain_ids(rec.id)
        return self.snapshots.prepare(key, chains[-1] if chains else "")

    def diff_layer(self, key: str) -> LayerBlob:
        """The changes of snapshot ``key`` (a container's rootfs, a build step) as an
        uncompressed layer blob in the content store; its digest is its DiffID. Pass it
        to :meth:`create` with a config whose diff_ids end with that digest."""
        from dockyard.image.snapshots.diff import write_diff

        info = self.snapshots.stat(key)
        lower = None
        if self.snapshots.whiteouts == "delete" and info.parent:
            lower = self.snapshots.upper(info.parent)
        with self.content.ingest() as w:
            write_diff(self.snapshots.upper(key), w, lower)
            size = w.offset
            digest = w.commit()
        return LayerBlob(digest, mt.OCI_LAYER, size)

    def gzip_layer(self, source: str) -> LayerBlob:
        """The gzip copy of the uncompressed layer blob ``source`` (what ``docker push``
        sends), made once into the content store and reused after: its digest and size are
        the compressed blob's; the layer's DiffID stays ``source``. Deterministic (no
        name, mtime 0), so two roots compress a layer to the same blob. Call it inside
        :meth:`writing` so that no collection runs before the copy is recorded."""
        import zlib

        have = self.store.push_blob(source)
        if have is not None and self.content.exists(have[0]):
            return LayerBlob(have[0], mt.OCI_LAYER_GZIP, have[1])
        z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip, mtime 0
        with self.content.open(source) as src, self.content.ingest() as w:
            while chunk := src.read(1 << 20):
                w.write(z.compress(chunk))
            w.write(z.flush())
            size = w.offset
            digest = w.commit()
        self.store.add_push_blob(source, digest, size)
        return LayerBlob(digest, mt.OCI_LAYER_GZIP, size)

    def release_rootfs(self, key: str) -> None:
        """Drop a container's snapshot (after unmounting it)."""
        self.snapshots.remove(key)

    # removing ---------------------------------------------------------------
    def cleanup_stale(self) -> list[str]:
        """Remove extraction snapshots whose process died mid-unpack: their chain ID's
        lock is free (a live extraction holds it)."""
        removed = []
        for info in self.snapshots.walk():
            if info.kind != "active" or not info.key.startswith("extract-"):
                continue
            chain = info.key.split("-", 2)[2]
            try:
                with self._flock(chain.partition(":")[2], fcntl.LOCK_EX | fcntl.LOCK_NB):
                    self.snapshots.remove(info.key)
            except BlockingIOError:
                continue  # a live extraction
            removed.append(info.key)
        return removed

    def untag(self, ref: str) -> str:
        return self.store.untag(ref)

    def delete(self, image_id: str) -> list[str]:
        """Forget ``image_id`` and drop its layers and blobs nobody else uses; returns
        ``Deleted: ...`` lines (image ID, then layer chain IDs), as docker prints."""
        rec = self.store.get(image_id)
        if self.store.children(image_id):
            raise Conflict(f"conflict: unable to delete {image_id[7:19]} (cannot be forced)"
                           " - image has dependent child images")
        # exclusive: no import is between finding a layer unpacked and recording its image
        with self._flock("gc", fcntl.LOCK_EX):
            unused = self.store.delete_image(rec.id)
            out = [f"Deleted: {rec.id}"]
            for chain in unused:
                try:
                    self.snapshots.remove(chain)
                except (NotFound, Conflict):
                    continue
                out.append(f"Deleted: {chain}")
            self._gc_blobs_locked()
        return out

    def gc_blobs(self) -> None:
        """Delete blobs no image uses, and ingests left by dead processes. Runs under the
        exclusive ``gc`` lock, so no import or load is between ingest and record (never
        call it, or :meth:`delete`, inside :meth:`writing`)."""
        with self._flock("gc", fcntl.LOCK_EX):
            self._gc_blobs_locked()

    def _gc_blobs_locked(self) -> None:
        for name in os.listdir(self.content.ingest_dir):
            try:
                os.unlink(os.path.join(self.content.ingest_dir, name))
            except FileNotFoundError:
                pass
        used = self.store.used_blobs()
        for rec in self.store.all():  # layers as a (pulled) manifest names them
            try:
                used.update(d["digest"] for d in self.manifest(rec).get("layers", []))
            except (NotFound, ValueError, KeyError, TypeError):
                continue
        for info in list(self.content.walk()):
            if info.digest not in used:
                try:
                    self.content.delete(info.digest)
                except NotFound:
                    pass
