"""Contract suites for :class:`dockyard.registry.protocol.BlobSink` and ``BlobSource``
(STYLE.md rule 5). Every implementation is added to ``SINKS`` / ``SOURCES``; the content
store is a sink through ``ContentStoreSink``, the
image store a source through ``engine.distribution.StoreSource``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.content import LocalContentStore
from dockyard.registry.client import DigestMismatch
from dockyard.registry.ocidir import OciLayout
from dockyard.registry.protocol import BlobSink, BlobSource, Descriptor
from dockyard.registry.storesink import ContentStoreSink


class _MemoryStore:
    """A stand-in for the image package's content store (ingest -> writer -> commit)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.images: dict[str, Descriptor] = {}

    def exists(self, digest: str) -> bool:
        return digest in self.blobs

    def ingest(self, expected: str | None = None, size: int | None = None,
               ref: str | None = None) -> _MemoryWriter:
        return _MemoryWriter(self, expected, size)


class _MemoryWriter:
    def __init__(self, store: _MemoryStore, expected: str | None, size: int | None) -> None:
        self.store, self.expected, self.size, self.data = store, expected, size, b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def commit(self) -> str:
        got = "sha256:" + hashlib.sha256(self.data).hexdigest()
        if got != self.expected or (self.size is not None and len(self.data) != self.size):
            raise InvalidArgument(f"unexpected digest {got}")
        self.store.blobs[got] = self.data
        return got

    def abort(self) -> None:
        self.data = b""


def _store_sink(p: Path) -> ContentStoreSink:
    store = _MemoryStore()
    return ContentStoreSink(store, str(p / "ingest"), store.images.__setitem__)


def _local_store_sink(p: Path) -> ContentStoreSink:
    """The real content store of the image package, as ``dockyard pull`` uses it."""
    images: dict[str, Descriptor] = {}
    return ContentStoreSink(LocalContentStore(str(p / "root")), str(p / "pull-ingest"),
                            images.__setitem__)


SINKS: dict[str, Callable[[Path], BlobSink]] = {
    "oci-layout": lambda p: OciLayout(str(p / "layout")),
    "content-store": _store_sink,
    "local-content-store": _local_store_sink,
}

DATA = b"some blob content"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


@pytest.fixture(params=sorted(SINKS))
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> BlobSink:
    made = SINKS[request.param](tmp_path)
    assert isinstance(made, BlobSink)
    return made


def _ingest(sink: BlobSink, digest: str, data: bytes) -> str:
    path = sink.blob_path_for_ingest(digest)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_commit_makes_blob_present(sink: BlobSink) -> None:
    assert not sink.has_blob(DIGEST)
    sink.commit(DIGEST, _ingest(sink, DIGEST, DATA))
    assert sink.has_blob(DIGEST)


def test_ingest_path_is_stable_for_resume(sink: BlobSink) -> None:
    path = _ingest(sink, DIGEST, DATA[:4])
    assert sink.blob_path_for_ingest(DIGEST) == path
    assert os.path.getsize(path) == 4
    sink.abort(DIGEST, path)
    assert not os.path.exists(path)
    assert not sink.has_blob(DIGEST)


def test_commit_of_wrong_content_is_refused(sink: BlobSink) -> None:
    path = _ingest(sink, DIGEST, DATA + b"!")
    with pytest.raises(DigestMismatch):
        sink.commit(DIGEST, path)
    assert not sink.has_blob(DIGEST)


def test_set_image_needs_committed_root(sink: BlobSink) -> None:
    desc = Descriptor("application/vnd.oci.image.manifest.v1+json", DIGEST, len(DATA))
    with pytest.raises(NotFound):
        sink.set_image("example.com/a/b:1", desc)
    sink.commit(DIGEST, _ingest(sink, DIGEST, DATA))
    sink.set_image("example.com/a/b:1", desc)
    sink.set_image("example.com/a/b:1", desc)  # re-tagging replaces, does not duplicate
    if isinstance(sink, BlobSource):
        assert sink.resolve("example.com/a/b:1") == desc
        with open(sink.blob_path(DIGEST), "rb") as f:
            assert f.read() == DATA
        with pytest.raises(NotFound):
            sink.resolve("example.com/a/b:2")


def _image_store_source(p: Path) -> BlobSource:
    from dockyard.engine.distribution import StoreSource
    from dockyard.image.service import ImageService

    return StoreSource(ImageService(str(p / "root")))


SOURCES: dict[str, Callable[[Path], BlobSource]] = {
    "oci-layout": lambda p: OciLayout(str(p / "layout")),
    "image-store": _image_store_source,
}


@pytest.mark.parametrize("make", sorted(SOURCES))
def test_source_missing_things_are_not_found(make: str, tmp_path: Path) -> None:
    source = SOURCES[make](tmp_path)
    assert isinstance(source, BlobSource)
    with pytest.raises(NotFound):
        source.resolve("example.com/nothing:here")
    with pytest.raises(NotFound):
        source.blob_path(DIGEST)


def test_content_store_sink_serialises_one_digest(tmp_path: Path) -> None:
    """Two pulls of one blob: the second waits until the first commits or aborts."""
    import threading

    first, second = _local_store_sink(tmp_path), _local_store_sink(tmp_path)
    path = _ingest(first, DIGEST, DATA)
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(second.blob_path_for_ingest(DIGEST)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and got == []
    first.commit(DIGEST, path)
    waiter.join(5)
    assert got == [path] and second.has_blob(DIGEST)
    second.abort(DIGEST, path)
    assert os.listdir(tmp_path / "pull-ingest") == []
