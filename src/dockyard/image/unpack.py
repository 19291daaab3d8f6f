"""Apply an OCI layer tar to a directory, safely (image-spec ``layer.md``).

Compression is detected by magic (gzip ``1f 8b``, zstd ``28 b5 2f fd``, else plain tar);
the sha256 of the uncompressed stream is the layer's DiffID.

Whiteouts (``layer.md#whiteouts``): ``.wh.NAME`` removes NAME from lower layers and
``.wh..wh..opq`` makes its directory opaque. With ``whiteouts="overlay"`` they become
overlayfs's own markers (kernel ``Documentation/filesystems/overlayfs.rst``: a whiteout is
a character device 0/0; an opaque directory has xattr ``trusted.overlay.opaque=y``); with
``whiteouts="delete"`` (applying onto a full copy of the parent) they delete; with
``whiteouts="none"`` (a build context) they are files like any other.

Every entry is created relative to an fd of its parent directory, found by openat2(2)
with RESOLVE_BENEATH: an entry named ``../x`` or ``/x``, or one written through a symlink
that points outside the target, raises :class:`InvalidArgument`. Nothing here cleans up a
half-applied directory; callers apply into a fresh snapshot and remove it on error.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import tarfile
from typing import IO, cast

from dockyard.errors import InvalidArgument
from dockyard.linux.errors import SyscallError
from dockyard.linux.fs import O_PATH, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, fd_path, openat2
from dockyard.oci.digest import Digest
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Literal, TypeAlias

__all__ = ["LayerStats", "apply_layer", "decompressed", "is_corrupt"]

WH_PREFIX = ".wh."
WH_OPAQUE = ".wh..wh..opq"
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BENEATH = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
Whiteouts: TypeAlias = 'Literal["overlay", "delete", "none"]'
#: errors that mean an entry cannot exist as the layer says (a link to a directory,
#: a file where a directory must be...)
_ENTRY_ERRNOS = frozenset({errno.EPERM, errno.EEXIST, errno.ENOTDIR, errno.EISDIR,
                           errno.ELOOP, errno.EINVAL, errno.ENOENT, errno.EXDEV,
                           errno.ENAMETOOLONG, errno.ENOTEMPTY})


@record
class LayerStats:
    diff_id: Digest
    size: int  # what docker reports: bytes of file content and symlink targets written


class _HashingReader(io.RawIOBase):
    """Pass-through reader that hashes what goes by: the DiffID of the tar."""

    def __init__(self, src: IO[bytes]) -> None:
        self._src = src
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._src.read(len(b))
        n = len(data)
        b[:n] = data
        self.hash.update(data)
        return n

    def drain(self) -> None:
        """Hash the rest of the stream (tar's end-of-archive padding)."""
        while data := self._src.read(1 << 20):
            self.hash.update(data)


def decompressed(f: BinaryIO) -> IO[bytes]:
    """A reader of the uncompressed tar behind ``f`` (gzip, zstd, bzip2, xz or plain,
    as Docker's ``DecompressStream``)."""
    buf = io.BufferedReader(cast(io.RawIOBase, f))
    head = buf.peek(6)[:6]
    if head.startswith(b"BZh"):
        import bz2

        return cast(IO[bytes], bz2.BZ2File(buf, "rb"))
    if head.startswith(b"\xfd7zXZ\x00"):
        import lzma

        return cast(IO[bytes], lzma.LZMAFile(buf, "rb"))
    if head.startswith(_GZIP):
        import gzip

        return cast(IO[bytes], gzip.GzipFile(fileobj=buf, mode="rb"))
    if head.startswith(_ZSTD):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(buf)
    return buf


def _clean(name: str) -> str:
    """Normalise a member name; reject absolute names and ``..`` components."""
    if name.startswith("/"):
        raise InvalidArgument(f"invalid layer entry {name!r}: absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"invalid layer entry {name!r}: path escapes the root")
    return "/".join(parts)


class _Applier:
    def __init__(self, dest: str, whiteouts: Whiteouts) -> None:
        self.rootfd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.whiteouts = whiteouts
        self.written: set[str] = set()
        self.dirs: dict[str, int] = {}
        self.size = 0

    def close(self) -> None:
        os.close(self.rootfd)

    def _open_dir(self, path: str, create: bool) -> int:
        """O_PATH fd of directory ``path`` beneath the root, created when ``create``."""
        fd = os.dup(self.rootfd)
        try:
            for part in [p for p in path.split("/") if p]:
                try:
                    nxt = openat2(fd, part, O_PATH | os.O_DIRECTORY, resolve=_BENEATH)
                except SyscallError as e:
                    if e.errno == errno.EXDEV:
                        raise InvalidArgument(
                            f"invalid layer entry {path!r}: path escapes the root "
                            "through a symlink") from e
                    if e.errno != errno.ENOENT or not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = openat2(fd, part, O_PATH | os.O_DIRECTORY, resolve=_BENEATH)
                os.close(fd)
                fd = nxt
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _remove(self, pfd: int, name: str) -> None:
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=pfd)  # fd-based: never follows a symlink out
        else:
            os.unlink(name, dir_fd=pfd)

    def apply(self, tf: tarfile.TarFile) -> None:
        for m in tf:
            path = _clean(m.name)
            if not path:
                continue
            parent, _, base = path.rpartition("/")
            try:
                pfd = self._open_dir(parent, create=True)
                try:
                    if base.startswith(WH_PREFIX) and self.whiteouts != "none":
                        self._whiteout(pfd, parent, base)
                    else:
                        self._entry(tf, m, pfd, path, base)
                finally:
                    os.close(pfd)
            except OSError as e:
                if e.errno not in _ENTRY_ERRNOS:
                    raise  # the host's trouble (ENOSPC, EIO...), not the layer's
                raise InvalidArgument(
                    f"invalid layer entry {path!r}: {e.strerror or e}") from e
        # directory mtimes last, deepest first: creating entries changed them
        for path, mtime in sorted(self.dirs.items(), key=lambda kv: -kv[0].count("/")):
            parent, _, base = path.rpartition("/")
            try:
                pfd = self._open_dir(parent, create=False)
            except (OSError, InvalidArgument):
                continue  # replaced later in the layer
            try:
                if stat.S_ISDIR(os.stat(base, dir_fd=pfd, follow_symlinks=False).st_mode):
                    os.utime(base, ns=(mtime, mtime), dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                pass
            finally:
                os.close(pfd)

    def _whiteout(self, pfd: int, parent: str, base: str) -> None:
        if base == WH_OPAQUE:
            if self.whiteouts == "overlay":
                dfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=pfd)
                try:
                    os.setxattr(dfd, "trusted.overlay.opaque", b"y")
                finally:
                    os.close(dfd)
            else:
                prefix = f"{parent}/" if parent else ""
                for child in os.listdir(fd_path(pfd)):
                    if f"{prefix}{child}" not in self.written:
                        self._remove(pfd, child)
            return
        target = base[len(WH_PREFIX):]
        if target.startswith(".wh.") or not target:
            return  # .wh..wh.plnk and friends: AUFS internals, ignored
        self._remove(pfd, target)
        if self.whiteouts == "overlay":
            os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)

    def _entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo, pfd: int, path: str,
               base: str) -> None:
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and not (m.isdir() and stat.S_ISDIR(st.st_mode)):
            self._remove(pfd, base)
        self.written.add(path)
        mode = m.mode & 0o7777
        if m.isdir():
            if st is None or not stat.S_ISDIR(st.st_mode):
                os.mkdir(base, 0o700, dir_fd=pfd)
            fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=pfd)
            self._meta_fd(fd, m, mode)
            self.dirs[path] = int(m.mtime * 1e9)
            return
        if m.islnk():
            src = _clean(m.linkname)
            sparent, _, sbase = src.rpartition("/")
            sfd = self._open_dir(sparent, create=False)
            try:
                os.link(sbase, base, src_dir_fd=sfd, dst_dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError as e:
                raise InvalidArgument(
                    f"invalid layer entry {path!r}: hard link to missing {src!r}") from e
            finally:
                os.close(sfd)
            return
        if m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            # docker's layer size (overlay2: directory.Size of the diff) sums lstat sizes,
            # each inode once: a symlink's st_size is the length of its target
            self.size += len(os.fsencode(m.linkname))
            os.chown(base, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
            self._utime(pfd, base, m)
            return
        if m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                self._copy(tf, m, fd)
            except BaseException:
                os.close(fd)
                raise
            self._meta_fd(fd, m, mode)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            os.mknod(base, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            os.chown(base, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
            os.chmod(base, mode, dir_fd=pfd)
            self._xattrs(fd_path(pfd) + "/" + base, m)
        else:
            raise InvalidArgument(f"invalid layer entry {path!r}: unsupported type")
        self._utime(pfd, base, m)

    def _copy(self, tf: tarfile.TarFile, m: tarfile.TarInfo, fd: int) -> None:
        src = tf.extractfile(m)
        if src is None:
            return
        zero = bytes(1 << 16)
        hole = False
        while chunk := src.read(1 << 16):
            if chunk == zero[:len(chunk)]:
                os.lseek(fd, len(chunk), os.SEEK_CUR)  # keep sparse files sparse
                hole = True
            else:
                os.write(fd, chunk)
        if hole:
            os.ftruncate(fd, m.size)
        self.size += m.size

    def _meta_fd(self, fd: int, m: tarfile.TarInfo, mode: int) -> None:
        """chown before chmod: chown(2) clears set-user-ID and set-group-ID."""
        try:
            os.fchown(fd, m.uid, m.gid)
            os.fchmod(fd, mode)
            self._xattrs(fd, m)
        finally:
            os.close(fd)

    @staticmethod
    def _xattrs(target: int | str, m: tarfile.TarInfo) -> None:
        """PAX ``SCHILY.xattr.NAME`` records. ``trusted.overlay.*`` ones are dropped: a
        layer must not steer overlayfs (opaque, redirect, metacopy) except by whiteouts."""
        for key, value in m.pax_headers.items():
            if key.startswith("SCHILY.xattr.") and not key.startswith(
                    "SCHILY.xattr.trusted.overlay."):
                os.setxattr(target, key[len("SCHILY.xattr."):],
                            value.encode("utf-8", "surrogateescape"))

    @staticmethod
    def _utime(pfd: int, base: str, m: tarfile.TarInfo) -> None:
        ns = int(m.mtime * 1e9)
        os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)


def is_corrupt(e: Exception) -> bool:
    """Errors that mean the archive itself is bad (not the host)."""
    import gzip
    import lzma
    import zlib

    if isinstance(e, (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile,
                      lzma.LZMAError)):
        return True
    return type(e).__module__.startswith("zstandard")


def apply_layer(f: BinaryIO, dest: str, whiteouts: Whiteouts = "overlay") -> LayerStats:
    """Apply the layer read from ``f`` onto the existing directory ``dest``.

    Returns the DiffID (sha256 of the uncompressed tar) and the layer's size as docker
    counts it: regular file contents (a hard link adds nothing) plus symlink targets.
    Raises :class:`InvalidArgument` for a corrupt archive or an escaping entry.
    """
    reader = _HashingReader(decompressed(f))
    ap = _Applier(dest, whiteouts)
    try:
        with tarfile.open(fileobj=reader, mode="r|", format=tarfile.PAX_FORMAT) as tf:
            ap.apply(tf)
        reader.drain()
    except InvalidArgument:
        raise
    except Exception as e:
        if not is_corrupt(e):
            raise
        raise InvalidArgument(f"invalid layer archive: {e}") from e
    finally:
        ap.close()
    return LayerStats(Digest("sha256:" + reader.hash.hexdigest()), ap.size)
