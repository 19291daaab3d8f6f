"""Changes of a snapshot -> an OCI layer tar (image-spec ``layer.md#change-types``).

``write_diff(upper, out)`` reads an overlayfs upper directory: a 0/0 character device
becomes ``.wh.NAME``, a directory with ``trusted.overlay.opaque=y`` gets a
``.wh..wh..opq`` entry. ``write_diff(upper, out, lower=DIR)`` compares two full trees
(the copy snapshotter): entries that are new or whose type, mode, owner, size, mtime,
link target or device differ are written; entries gone from ``upper`` become whiteouts.
Returns the DiffID (sha256 of the tar written).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile

from dockyard.oci.digest import Digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object

__all__ = ["write_diff"]


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _HashWriter:
    def __init__(self, out: Sink) -> None:
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, b: bytes) -> int:
        self.hash.update(b)
        return self.out.write(b)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def _changed(a: os.stat_result, b: os.stat_result, pa: str, pb: str) -> bool:
    if (stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode) or a.st_mode != b.st_mode
            or a.st_uid != b.st_uid or a.st_gid != b.st_gid or a.st_rdev != b.st_rdev):
        return True
    if stat.S_ISDIR(a.st_mode):
        return False
    if a.st_size != b.st_size or a.st_mtime_ns != b.st_mtime_ns:
        return True
    return stat.S_ISLNK(a.st_mode) and os.readlink(pa) != os.readlink(pb)


class _Writer:
    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.links: dict[tuple[int, int], str] = {}

    def whiteout(self, name: str) -> None:
        ti = tarfile.TarInfo(name)
        ti.mtime = 0
        self.tf.addfile(ti)

    def add(self, path: str, name: str, st: os.stat_result) -> None:
        ti = tarfile.TarInfo(name)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.mtime = st.st_mtime
        ti.uname = ti.gname = ""
        pax = {}
        for key in _xattrs(path):
            val = os.getxattr(path, key, follow_symlinks=False)
            pax[f"SCHILY.xattr.{key}"] = val.decode("utf-8", "surrogateescape")
        ti.pax_headers = pax
        ident = (st.st_dev, st.st_ino)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and ident in self.links:
            ti.type, ti.linkname = tarfile.LNKTYPE, self.links[ident]
            self.tf.addfile(ti)
            return
        if stat.S_ISDIR(st.st_mode):
            ti.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(st.st_mode):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(st.st_mode):
            ti.type = tarfile.FIFOTYPE
        elif stat.S_ISREG(st.st_mode):
            ti.size = st.st_size
            if st.st_nlink > 1:
                self.links[ident] = name
            with open(path, "rb") as f:
                self.tf.addfile(ti, f)
            return
        else:
            return  # sockets are not carried in layers
        self.tf.addfile(ti)


def _xattrs(path: str) -> list[str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith("trusted.overlay."))


def write_diff(upper: str, out: Sink, lower: str | None = None) -> Digest:
    hw = _HashWriter(out)
    with tarfile.open(fileobj=hw, mode="w|", format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]
        w = _Writer(tf)
        _walk(w, upper, lower, "")
    return Digest("sha256:" + hw.hash.hexdigest())


def _walk(w: _Writer, upper: str, lower: str | None, rel: str) -> None:
    udir = os.path.join(upper, rel)
    names = sorted(os.listdir(udir))
    if lower is not None:
        ldir = os.path.join(lower, rel)
        lnames = set(os.listdir(ldir)) if os.path.isdir(ldir) and not os.path.islink(ldir) \
            else set()
        for gone in sorted(lnames - set(names)):
            w.whiteout(os.path.join(rel, f".wh.{gone}"))
    for n in names:
        path = os.path.join(udir, n)
        name = os.path.join(rel, n)
        st = os.lstat(path)
        if lower is None and _is_whiteout(st):
            w.whiteout(os.path.join(rel, f".wh.{n}"))
            continue
        lst = None
        if lower is not None:
            try:
                lst = os.lstat(os.path.join(lower, name))
            except FileNotFoundError:
                lst = None
        if lst is None or _changed(st, lst, path, os.path.join(lower or "", name)):
            w.add(path, name, st)
        if stat.S_ISDIR(st.st_mode):
            if lower is None and _opaque(path):
                w.whiteout(os.path.join(name, ".wh..wh..opq"))
            sub_lower = lower if lst is not None and stat.S_ISDIR(lst.st_mode) else None
            if lower is not None and sub_lower is None:
                _walk_new(w, upper, name)
            else:
                _walk(w, upper, sub_lower, name)


def _walk_new(w: _Writer, upper: str, rel: str) -> None:
    """A directory new in ``upper`` (copy mode): everything under it is new."""
    for n in sorted(os.listdir(os.path.join(upper, rel))):
        name = os.path.join(rel, n)
        path = os.path.join(upper, name)
        st = os.lstat(path)
        w.add(path, name, st)
        if stat.S_ISDIR(st.st_mode):
            _walk_new(w, upper, name)
