"""Hand-made layer tars for tests."""

from __future__ import annotations

import gzip
import io
import tarfile


def entry(name: str, kind: str = "file", data: bytes = b"", *, mode: int | None = None,
          link: str = "", uid: int = 0, gid: int = 0, mtime: int = 1_600_000_000,
          xattrs: dict[str, str] | None = None, dev: tuple[int, int] = (0, 0),
          ) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
               "link": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
               "fifo": tarfile.FIFOTYPE}[kind]
    ti.mode = mode if mode is not None else (0o755 if kind == "dir" else 0o644)
    ti.linkname = link
    ti.uid, ti.gid, ti.mtime = uid, gid, mtime
    ti.devmajor, ti.devminor = dev
    if kind == "file":
        ti.size = len(data)
    if xattrs:
        ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    return ti, data


def tar_bytes(*entries: tuple[tarfile.TarInfo, bytes], compress: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    raw = buf.getvalue()
    if compress == "gzip":
        return gzip.compress(raw)
    if compress == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    return raw
