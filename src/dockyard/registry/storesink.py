"""A :class:`~dockyard.registry.protocol.BlobSink` over a containerd-style content store.

The image package's store (containerd ``core/content/content.go``) ingests through a
writer: ``w = store.ingest(expected, size)``, ``w.write(...)``, ``w.commit()`` (verifies
digest and size, publishes) or ``w.abort()``. The registry client downloads into a file it
can resume with ``Range:``; this adapter keeps those files in its own ingest directory and
copies a finished, verified download into the store on ``commit``. It imports nothing from
the image package: the engine hands it the store and a callback that names images.

Two processes pulling the same blob would share its ingest file; an exclusive ``flock``
on ``<file>.lock``, taken in ``blob_path_for_ingest`` and dropped on ``commit``/``abort``
(or process exit), makes the second wait for the first, then download on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry._digest import DigestMismatch
from dockyard.registry._ref import validate_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    from dockyard.registry.protocol import Descriptor
else:
    Protocol = object

__all__ = ["ContentIngester", "ContentStoreSink", "ContentWriter"]


class ContentWriter(Protocol):
    def write(self, data: bytes) -> int: ...

    def commit(self) -> Any: ...

    def abort(self) -> None: ...


class ContentIngester(Protocol):
    """The part of the content store this sink uses."""

    def exists(self, digest: str) -> bool: ...

    def ingest(self, expected: str | None = None, size: int | None = None,
               ref: str | None = None) -> ContentWriter: ...


class ContentStoreSink:
    """Downloads go to ``ingest_dir/<alg>-<hex>`` (kept on interruption, for a resume);
    ``commit`` streams the file into ``store`` and removes it; ``set_image`` calls
    ``name_image(name, descriptor)`` (the image store's tag operation)."""

    def __init__(self, store: ContentIngester, ingest_dir: str,
                 name_image: Callable[[str, Descriptor], None]) -> None:
        self.store = store
        self.ingest_dir = ingest_dir
        self._name_image = name_image
        self._locks: dict[str, tuple[int, str]] = {}
        self._mutex = threading.Lock()

    def _release(self, digest: str) -> None:
        with self._mutex:
            held = self._locks.pop(digest, None)
        if held is not None:  # unlink while locked: a waiter then finds a stale inode
            with contextlib.suppress(FileNotFoundError):
                os.unlink(held[1])
            os.close(held[0])

    def has_blob(self, digest: str) -> bool:
        return self.store.exists(digest)

    def blob_path_for_ingest(self, digest: str) -> str:
        algorithm, _, encoded = validate_digest(digest).partition(":")
        os.makedirs(self.ingest_dir, mode=0o700, exist_ok=True)
        path = os.path.join(self.ingest_dir, f"{algorithm}-{encoded}")
        with self._mutex:
            if digest in self._locks:
                return path
        lock = f"{path}.lock"
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # another process downloading it: wait
                if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                    break
            except FileNotFoundError:
                pass  # released (and unlinked) while we waited: lock the new file
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        with self._mutex:
            self._locks[digest] = (fd, lock)
        return path

    def commit(self, digest: str, path: str) -> None:
        writer = self.store.ingest(digest, os.path.getsize(path))
        try:
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    writer.write(block)
            writer.commit()
        except InvalidArgument as e:  # the store's verdict on digest or size
            writer.abort()
            self.abort(digest, path)
            raise DigestMismatch(f"commit of {digest}: {e}") from e
        except BaseException:
            writer.abort()
            raise
        self.abort(digest, path)

    def abort(self, digest: str, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self._release(digest)

    def set_image(self, name: str, descriptor: Descriptor) -> None:
        if not self.has_blob(descriptor.digest):
            raise NotFound(f"cannot tag {name}: blob {descriptor.digest} is not in the store")
        self._name_image(name, descriptor)
