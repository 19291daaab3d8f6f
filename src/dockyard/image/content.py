"""Content-addressed blob store (containerd ``core/content/content.go``).

Layout: ``<root>/image/blobs/sha256/<hex>`` for committed blobs, ``<root>/image/ingest/
<ref>`` for blobs being written. Lifecycle of a write::

    w = store.ingest(expected_digest, size)   # temp file under ingest/
    w.write(chunk) ...                        # any number of times
    w.commit()                                # verify digest and size, fsync, rename
    # or w.abort() / leaving the ``with`` block on an error: the temp file is removed

A blob appears under its digest only after ``commit`` checked it; a mismatch raises
:class:`InvalidArgument` and leaves nothing under the digest. Committing content that is
already present is not an error (the temp file is dropped).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Protocol

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci.digest import Digest, parse_digest

__all__ = ["ContentStore", "Info", "LocalContentStore", "Writer"]


@dataclass(frozen=True)
class Info:
    digest: Digest
    size: int


class Writer(Protocol):
    """An open ingest. ``commit`` verifies and publishes; ``abort`` discards."""

    def write(self, data: bytes) -> int: ...
    def commit(self) -> Digest: ...
    def abort(self) -> None: ...
    def __enter__(self) -> Writer: ...
    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class ContentStore(Protocol):
    """Digest -> immutable bytes."""

    def ingest(self, expected: str | None = None, size: int | None = None) -> Writer:
        """Start writing a blob; ``expected``/``size`` (when given) are checked at commit."""
        ...

    def exists(self, digest: str) -> bool: ...
    def info(self, digest: str) -> Info:
        """Size of a committed blob; :class:`NotFound` if absent."""
        ...

    def open(self, digest: str) -> BinaryIO:
        """Read a committed blob; :class:`NotFound` if absent."""
        ...

    def read(self, digest: str) -> bytes: ...
    def path(self, digest: str) -> str: ...
    def delete(self, digest: str) -> None:
        """Remove a blob; :class:`NotFound` if absent."""
        ...

    def walk(self) -> Iterator[Info]:
        """Every committed blob."""
        ...

    def put(self, data: bytes, expected: str | None = None) -> Digest:
        """Ingest and commit ``data`` in one call."""
        ...


class _FileWriter:
    def __init__(self, store: LocalContentStore, expected: Digest | None,
                 size: int | None) -> None:
        self._store = store
        self._expected = expected
        self._size = size
        self._tmp = os.path.join(store.ingest_dir, uuid.uuid4().hex)
        self._f: BinaryIO | None = open(self._tmp, "xb")  # noqa: SIM115
        self._hash = hashlib.sha256()
        self._written = 0

    def write(self, data: bytes) -> int:
        if self._f is None:
            raise InvalidArgument("write to a closed ingest")
        self._f.write(data)
        self._hash.update(data)
        self._written += len(data)
        return len(data)

    def commit(self) -> Digest:
        if self._f is None:
            raise InvalidArgument("commit of a closed ingest")
        f, self._f = self._f, None
        try:
            f.flush()
            os.fsync(f.fileno())
        finally:
            f.close()
        got = Digest("sha256:" + self._hash.hexdigest())
        try:
            if self._size is not None and self._size != self._written:
                raise InvalidArgument(
                    f"unexpected commit size {self._written}, expected {self._size}")
            if self._expected is not None and got != self._expected:
                raise InvalidArgument(
                    f"unexpected commit digest {got}, expected {self._expected}")
            final = self._store.path(got)
            if os.path.exists(final):
                os.unlink(self._tmp)
            else:
                os.chmod(self._tmp, 0o444)
                os.rename(self._tmp, final)
        except BaseException:
            self._discard()
            raise
        return got

    def _discard(self) -> None:
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass

    def abort(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        self._discard()

    def __enter__(self) -> _FileWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._f is not None:
            self.abort()


class LocalContentStore:
    """:class:`ContentStore` on the local filesystem under ``<root>/image``."""

    def __init__(self, root: str) -> None:
        base = os.path.join(root, "image")
        self.blob_dir = os.path.join(base, "blobs", "sha256")
        self.ingest_dir = os.path.join(base, "ingest")
        os.makedirs(self.blob_dir, mode=0o700, exist_ok=True)
        os.makedirs(self.ingest_dir, mode=0o700, exist_ok=True)

    def path(self, digest: str) -> str:
        d = parse_digest(digest)
        if d.algorithm != "sha256":
            raise InvalidArgument(f"unsupported digest algorithm {d.algorithm!r}")
        return os.path.join(self.blob_dir, d.hex)

    def ingest(self, expected: str | None = None, size: int | None = None) -> _FileWriter:
        exp = parse_digest(expected) if expected is not None else None
        return _FileWriter(self, exp, size)

    def put(self, data: bytes, expected: str | None = None) -> Digest:
        with self.ingest(expected, len(data)) as w:
            w.write(data)
            return w.commit()

    def exists(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def info(self, digest: str) -> Info:
        try:
            st = os.stat(self.path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None
        return Info(parse_digest(digest), st.st_size)

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def delete(self, digest: str) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None

    def walk(self) -> Iterator[Info]:
        for name in sorted(os.listdir(self.blob_dir)):
            try:
                st = os.stat(os.path.join(self.blob_dir, name))
            except FileNotFoundError:
                continue
            yield Info(Digest(f"sha256:{name}"), st.st_size)
