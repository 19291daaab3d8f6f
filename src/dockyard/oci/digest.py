"""Content digests: ``algorithm:hex`` (OCI image-spec ``descriptor.md#digests``).

Grammar (image-spec): ``digest := algorithm ":" encoded``; for ``sha256`` the encoded
part is exactly 64 lowercase hex characters. Only sha256 is produced; sha512 is parsed.
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["Digest", "chain_id", "digest_bytes", "digest_file", "parse_digest"]

_HEX_LEN = {"sha256": 64, "sha512": 128}
_RE = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-f0-9]+)$")


class Digest(str):
    """A validated ``sha256:<64 hex>`` string; ``.algorithm`` and ``.hex`` split it."""

    __slots__ = ()

    @property
    def algorithm(self) -> str:
        return self.partition(":")[0]

    @property
    def hex(self) -> str:
        return self.partition(":")[2]

    def short(self) -> str:
        """The 12-character id Docker prints in tables."""
        return self.hex[:12]


def parse_digest(text: str) -> Digest:
    """Validate ``text`` as a digest; raise :class:`InvalidArgument` if it is not one."""
    m = _RE.match(text)
    if m is None or m.group(1) not in _HEX_LEN or len(m.group(2)) != _HEX_LEN[m.group(1)]:
        raise InvalidArgument(f"invalid digest {text!r}: want sha256:<64 hex digits>")
    return Digest(text)


def digest_bytes(data: bytes) -> Digest:
    import hashlib  # lazily: it loads OpenSSL (~2.5 ms), off the start path of ``run``

    return Digest("sha256:" + hashlib.sha256(data).hexdigest())


def digest_file(f: BinaryIO) -> tuple[Digest, int]:
    """sha256 and size of a stream read to its end."""
    import hashlib

    h = hashlib.sha256()
    size = 0
    while chunk := f.read(1 << 20):
        h.update(chunk)
        size += len(chunk)
    return Digest("sha256:" + h.hexdigest()), size


def chain_id(diff_ids: list[str]) -> Digest:
    """ChainID (image-spec ``config.md#layer-chainid``)::

        ChainID(L0) = DiffID(L0)
        ChainID(L0|...|Ln) = Digest(ChainID(L0|...|Ln-1) + " " + DiffID(Ln))
    """
    if not diff_ids:
        raise InvalidArgument("chain ID of an empty layer list")
    cur = parse_digest(diff_ids[0])
    for d in diff_ids[1:]:
        cur = digest_bytes(f"{cur} {parse_digest(d)}".encode())
    return cur
