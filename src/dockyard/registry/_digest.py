"""Digests (image-spec ``descriptor.md``: ``algorithm ":" encoded``) and their checks."""

from __future__ import annotations

import hashlib

from dockyard.errors import DockyardError, Unsupported

__all__ = ["DigestMismatch", "digest_of", "hash_file", "hasher"]

_ALGORITHMS = ("sha256", "sha384", "sha512")


class DigestMismatch(DockyardError):
    """Content does not match the digest it was asked for or claimed to have."""

    http_status = 502


def hasher(digest: str) -> hashlib._Hash:
    """A fresh hash object for ``digest``'s algorithm."""
    algorithm = digest.partition(":")[0]
    if algorithm not in _ALGORITHMS:
        raise Unsupported(f"unsupported digest algorithm {algorithm!r} in {digest}")
    return hashlib.new(algorithm)


def digest_of(data: bytes, like: str = "sha256:") -> str:
    """``data``'s digest, with the algorithm of the digest ``like``."""
    h = hasher(like)
    h.update(data)
    return f"{h.name}:{h.hexdigest()}"


def hash_file(path: str, h: hashlib._Hash) -> int:
    """Feed the file at ``path`` into ``h``; return its size."""
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return size
