"""Content-addressed blob store (containerd ``core/content/content.go``).

Layout: ``<root>/image/blobs/sha256/<hex>`` for committed blobs, ``<root>/image/ingest/
<ref>`` for blobs being written. Lifecycle of a write::

    w = store.ingest(expected_digest, size)   # temp file under ingest/
    w.write(chunk) ...                        # any number of times
    w.commit()                                # verify digest and size, fsync, rename
    # or w.abort() / leaving the ``with`` block on an error: the temp file is removed

An ingest named by ``ref`` (e.g. ``"pull-" + digest``) is resumable: a later
``ingest(..., ref=same)`` reopens the partial file, re-hashes it and continues at
``w.offset``; ``abort`` is then not called on errors, only ``close``. One writer per ref:
a second concurrent one gets :class:`Conflict`.

A blob appears under its digest only after ``commit`` checked it; a mismatch raises
:class:`InvalidArgument` and leaves nothing under the digest. Committing content that is
already present is not an error (the temp file is dropped).
"""

from __future__ import annotations

import fcntl
import os

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.oci.digest import Digest, parse_digest
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType
    from typing import BinaryIO, Protocol
else:
    Protocol = object

__all__ = ["ContentStore", "Info", "LocalContentStore", "Writer"]


@record(frozen=True)
class Info:
    digest: Digest
    size: int


class Writer(Protocol):
    """An open ingest. ``commit`` verifies and publishes; ``abort`` discards."""

    @property
    def offset(self) -> int:
        """Bytes written so far (non-zero when a ref'd ingest resumes)."""
        ...

    def write(self, data: bytes) -> int: ...
    def commit(self) -> Digest: ...
    def abort(self) -> None: ...
    def close(self) -> None:
        """Stop writing; a ref'd ingest keeps its partial file for a later resume."""
        ...

    def __enter__(self) -> Writer: ...
    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class ContentStore(Protocol):
    """Digest -> immutable bytes."""

    def ingest(self, expected: str | None = None, size: int | None = None,
               ref: str | None = None) -> Writer:
        """Start (or, with ``ref``, resume) writing a blob; ``expected``/``size`` (when
        given) are checked at commit."""
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
                 size: int | None, ref: str | None) -> None:
        import hashlib  # here, not at the top: ``run`` reads the store, never writes it
        import uuid

        self._store = store
        self._expected = expected
        self._size = size
        self._ref = ref
        name = hashlib.sha256(ref.encode()).hexdigest() if ref else uuid.uuid4().hex
        self._tmp = os.path.join(store.ingest_dir, name)
        fd = os.open(self._tmp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
                     | (0 if ref else os.O_EXCL), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(self._tmp).st_ino:
                raise FileNotFoundError(self._tmp)  # committed under us: start again
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            raise Conflict(f"ingest {ref}: being written by another process") from None
        self._f: BinaryIO | None = os.fdopen(fd, "r+b")
        self._hash = hashlib.sha256()
        self._written = 0
        while chunk := self._f.read(1 << 20):  # resuming: re-hash what is there
            self._hash.update(chunk)
            self._written += len(chunk)

    @property
    def offset(self) -> int:
        return self._written

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
        got = Digest("sha256:" + self._hash.hexdigest())
        try:  # rename while the lock is held, so no resumer can open the file meanwhile
            f.flush()
            os.fsync(f.fileno())
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
        finally:
            f.close()
        return got

    def _discard(self) -> None:
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass

    def abort(self) -> None:
        if self._f is not None:
            self._discard()
            self._f.close()
            self._f = None
        else:
            self._discard()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> _FileWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._f is not None:
            if self._ref:
                self.close()  # keep the partial file: resumable
            else:
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

    def ingest(self, expected: str | None = None, size: int | None = None,
               ref: str | None = None) -> _FileWriter:
        exp = parse_digest(expected) if expected is not None else None
        return _FileWriter(self, exp, size, ref)

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
