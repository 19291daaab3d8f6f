"""An OCI image layout directory (image-spec ``image-layout.md``) as sink and source.

    DIR/oci-layout          {"imageLayoutVersion": "1.0.0"}
    DIR/index.json          image index; one entry per image name, annotated with
                            ``io.containerd.image.name`` (full reference) and
                            ``org.opencontainers.image.ref.name`` (the tag), as containerd does;
                            a tag names one entry (a new image with the same tag replaces it)
    DIR/blobs/<alg>/<hex>   content, addressed by digest
    DIR/.ingest/            downloads in progress (outside the layout proper)

What ``skopeo inspect oci:DIR:TAG`` and ``umoci`` read; the registry tests' sink and source.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry._digest import DigestMismatch, hash_file, hasher
from dockyard.registry._ref import validate_digest
from dockyard.registry.protocol import MEDIA_OCI_INDEX, Descriptor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ANNOTATION_IMAGE_NAME", "ANNOTATION_REF_NAME", "OciLayout"]

ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"


def _tag_of(name: str) -> str | None:
    base = name.split("@", 1)[0]
    last = base.rsplit("/", 1)[-1]
    return last.rpartition(":")[2] if ":" in last else None


class OciLayout:
    """A :class:`~dockyard.registry.protocol.BlobSink` and ``BlobSource`` on a directory."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._lock = threading.Lock()
        self._ingesting: set[str] = set()
        os.makedirs(os.path.join(self.path, "blobs", "sha256"), exist_ok=True)
        layout = os.path.join(self.path, "oci-layout")
        if not os.path.exists(layout):
            self._write_json(layout, {"imageLayoutVersion": "1.0.0"})
        if not os.path.exists(self._index_path):
            self._write_json(self._index_path, {"schemaVersion": 2,
                                                "mediaType": MEDIA_OCI_INDEX,
                                                "manifests": []})

    @property
    def _index_path(self) -> str:
        return os.path.join(self.path, "index.json")

    def _write_json(self, path: str, doc: Any) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, separators=(",", ":"))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def blob_file(self, digest: str) -> str:
        algorithm, _, encoded = validate_digest(digest).partition(":")
        return os.path.join(self.path, "blobs", algorithm, encoded)

    # --- BlobSink --------------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        return os.path.isfile(self.blob_file(digest))

    def blob_path_for_ingest(self, digest: str) -> str:
        algorithm, _, encoded = validate_digest(digest).partition(":")
        ingest = os.path.join(self.path, ".ingest")
        path = os.path.join(ingest, f"{algorithm}-{encoded}")
        with self._lock:
            os.makedirs(ingest, exist_ok=True)
            self._ingesting.add(path)
        return path

    def commit(self, digest: str, path: str) -> None:
        """Verify ``path`` against ``digest`` and move it into ``blobs/``."""
        h = hasher(digest)
        hash_file(path, h)
        if f"{h.name}:{h.hexdigest()}" != digest:
            self.abort(digest, path)
            raise DigestMismatch(f"commit of {digest}: content has digest "
                                 f"{h.name}:{h.hexdigest()}")
        target = self.blob_file(digest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.chmod(path, 0o644)
        os.replace(path, target)
        self._tidy_ingest(path)

    def abort(self, digest: str, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self._tidy_ingest(path)

    def _tidy_ingest(self, path: str) -> None:
        """Remove ``.ingest/`` once nothing is being written there (it may hold partial
        downloads kept for a later resume: then it stays)."""
        with self._lock:
            self._ingesting.discard(path)
            if not self._ingesting:
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(self.path, ".ingest"))

    def set_image(self, name: str, descriptor: Descriptor) -> None:
        """Point ``name`` at ``descriptor`` in ``index.json`` (replacing an older entry)."""
        if not self.has_blob(descriptor.digest):
            raise NotFound(f"cannot tag {name}: blob {descriptor.digest} is not in {self.path}")
        annotations = dict(descriptor.annotations or {})
        annotations[ANNOTATION_IMAGE_NAME] = name
        tag = _tag_of(name)
        if tag:
            annotations[ANNOTATION_REF_NAME] = tag
        else:
            annotations.pop(ANNOTATION_REF_NAME, None)
        entry = Descriptor(descriptor.media_type, descriptor.digest, descriptor.size,
                           descriptor.platform, annotations).to_json()
        with self._lock:
            index = self._read_index()
            keep = []
            for m in index["manifests"]:
                ann = m.get("annotations") or {}
                if ann.get(ANNOTATION_IMAGE_NAME) == name or (
                        tag and ann.get(ANNOTATION_REF_NAME) == tag):
                    continue
                keep.append(m)
            index["manifests"] = [*keep, entry]
            self._write_json(self._index_path, index)

    # --- BlobSource ------------------------------------------------------------------------

    def _read_index(self) -> dict[str, Any]:
        try:
            with open(self._index_path, encoding="utf-8") as f:
                index = json.load(f)
        except ValueError as e:
            raise InvalidArgument(f"invalid {self._index_path}: {e}") from e
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise InvalidArgument(f"invalid {self._index_path}: no manifests list")
        return index

    def images(self) -> list[Descriptor]:
        return [Descriptor.from_json(m) for m in self._read_index()["manifests"]]

    def resolve(self, name: str) -> Descriptor:
        """The entry whose full name or tag annotation is ``name`` (or the only entry)."""
        images = self.images()
        for d in images:
            ann = d.annotations or {}
            if name in (ann.get(ANNOTATION_IMAGE_NAME), ann.get(ANNOTATION_REF_NAME)):
                return d
        tag = _tag_of(name)
        matches = [d for d in images if tag and (d.annotations or {}).get(ANNOTATION_REF_NAME)
                   == tag and not (d.annotations or {}).get(ANNOTATION_IMAGE_NAME)]
        if len(matches) == 1:
            return matches[0]
        if not name and len(images) == 1:
            return images[0]
        raise NotFound(f"no image named {name!r} in {self.path}")

    def blob_path(self, digest: str) -> str:
        path = self.blob_file(digest)
        if not os.path.isfile(path):
            raise NotFound(f"blob {digest} is not in {self.path}")
        return path

    def read_blob(self, digest: str) -> bytes:
        with open(self.blob_path(digest), "rb") as f:
            return f.read()
