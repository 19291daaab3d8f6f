"""``docker cp``: files between a container and the host, as a tar stream in between
(moby ``daemon/archive.go``, ``pkg/archive/copy.go``).

Inside a container every path is resolved by ``openat2(RESOLVE_IN_ROOT)`` from a
descriptor of its root (``/proc/PID/root`` while it runs, so its volumes are there too;
its snapshot mounted for the copy when it is stopped): ``..`` and absolute symlinks stop
at the container's ``/``. Entries are then created, read and changed only through
``*at`` calls on those descriptors with ``O_NOFOLLOW``, so a symlink planted in the
container cannot send a write or a read to the host. Extraction on the host is confined
the same way to the destination directory.

Docker's destination rules: an existing directory receives the source (or, for a source
ending in ``/.``, its contents); an existing file is replaced by a file (a directory
there is an error); a missing destination becomes the source under that name, and its
parent must exist; a missing destination ending in ``/`` is an error.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
import tempfile
from contextlib import contextmanager, suppress

from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.linux import fs
from dockyard.linux.errors import SyscallError
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine

__all__ = ["CopyEnd", "copy", "split_arg"]

_MAX_LINKS = 40


@record(frozen=True)
class CopyEnd:
    """One side of ``cp``: ``container`` empty for a host path; ``path`` ``-`` for a
    tar stream on stdin/stdout."""

    container: str
    path: str


def split_arg(arg: str) -> CopyEnd:
    """``CTR:PATH`` or a host path (moby's ``splitCpArg``: a path starting with ``/`` or
    ``.`` is local even when it holds a colon)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return CopyEnd("", arg)
    ctr, _, path = arg.partition(":")
    return CopyEnd(ctr, path)


class CopyError(DockyardError):
    """A cp failure Docker reports without the daemon prefix."""


# --- opening a root --------------------------------------------------------------------

@contextmanager
def _container_root(engine: Engine, rec: ContainerRecord) -> Iterator[int]:
    from dockyard.engine.ctrfs import rootfs_mounted

    if rec.status.is_active and rec.pid > 0:
        try:
            fd = os.open(f"/proc/{rec.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                yield fd
            finally:
                os.close(fd)
            return
    with rootfs_mounted(engine, rec) as root:
        fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)


def _split(path: str) -> tuple[str, str]:
    """``/a/b/c`` -> (``/a/b``, ``c``); the root -> (``/``, ``.``)."""
    norm = os.path.normpath("/" + path.lstrip("/"))  # "//" stays "//" in POSIX
    if norm == "/":
        return "/", "."
    parent, _, base = norm.rpartition("/")
    return parent or "/", base


def _open_parent(rootfd: int, path: str) -> tuple[int, str]:
    """An O_PATH fd of ``path``'s parent (resolved in the root) and the last name."""
    parent, base = _split(path)
    return fs.openat2(rootfd, parent, fs.O_PATH | os.O_DIRECTORY), base


def _lstat(pfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _resolve_source(rootfd: int, path: str, follow: bool) -> tuple[int, str, os.stat_result]:
    """(parent fd, name, lstat) of a source; with ``follow`` a final symlink is followed,
    still inside the root. Raises FileNotFoundError / NotADirectoryError."""
    cur = path
    for _ in range(_MAX_LINKS):
        try:
            pfd, name = _open_parent(rootfd, cur)
        except SyscallError as e:
            raise OSError(e.errno, os.strerror(e.errno or errno.ENOENT), path) from None
        st = _lstat(pfd, name)
        if st is None:
            os.close(pfd)
            raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)
        if follow and stat.S_ISLNK(st.st_mode):
            target = os.readlink(name, dir_fd=pfd)
            os.close(pfd)
            cur = target if target.startswith("/") else os.path.join(_split(cur)[0], target)
            continue
        return pfd, name, st
    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)


# --- writing a tar from a tree ---------------------------------------------------------

class _TarWriter:
    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.links: dict[tuple[int, int], str] = {}

    def add(self, pfd: int, name: str, arc: str) -> None:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        ti = tarfile.TarInfo(arc)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.mtime = int(st.st_mtime)
        ident = (st.st_dev, st.st_ino)
        if stat.S_ISDIR(st.st_mode):
            ti.type = tarfile.DIRTYPE
            self.tf.addfile(ti)
            dfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=pfd)
            try:
                for child in sorted(os.listdir(dfd)):
                    self.add(dfd, child, f"{arc}/{child}")
            finally:
                os.close(dfd)
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1 and ident in self.links:
                ti.type, ti.linkname = tarfile.LNKTYPE, self.links[ident]
                self.tf.addfile(ti)
                return
            if st.st_nlink > 1:
                self.links[ident] = arc
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            with os.fdopen(fd, "rb") as f:
                ti.size = os.fstat(f.fileno()).st_size
                self.tf.addfile(ti, f)
        elif stat.S_ISLNK(st.st_mode):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=pfd)
            self.tf.addfile(ti)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tf.addfile(ti)
        elif stat.S_ISFIFO(st.st_mode):
            ti.type = tarfile.FIFOTYPE
            self.tf.addfile(ti)


def _write_tar(pfd: int, name: str, arc: str, out: IO[bytes]) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _TarWriter(tf).add(pfd, name, arc)


# --- extracting a tar into a tree ------------------------------------------------------

def _clean_name(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"invalid archive entry {name!r}")
    return "/".join(parts)


def _rename(name: str, rename: tuple[str, str] | None) -> str:
    if rename is None:
        return name
    old, new = rename
    if name == old:
        return new
    if name.startswith(old + "/"):
        rest = name[len(old) + 1:]
        return f"{new}/{rest}" if new else rest
    return name


def extract(src: IO[bytes], destfd: int, *, rename: tuple[str, str] | None = None,
            archive: bool = False) -> None:
    """Unpack the tar ``src`` under the directory ``destfd``, confined to it. ``rename``
    maps the top entry's name (``("a", "b")``; ``("a", "")`` unpacks a's contents).
    Owners come from the archive with ``archive``, else they are ours (Docker's ``-a``)."""
    dir_times: list[tuple[str, tarfile.TarInfo]] = []
    with tarfile.open(fileobj=src, mode="r|*") as tf:
        for m in tf:
            name = _rename(_clean_name(m.name), rename)
            if not name:
                if m.isdir():
                    continue
                raise InvalidArgument("cannot overwrite a directory with a non-directory")
            _extract_one(tf, m, destfd, name, archive, rename)
            if m.isdir():
                dir_times.append((name, m))
    for name, m in reversed(dir_times):
        with suppress(OSError, DockyardError):
            pfd, base = _open_parent(destfd, name)
            try:
                os.utime(base, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(pfd)


def _extract_one(tf: tarfile.TarFile, m: tarfile.TarInfo, destfd: int, name: str,
                 archive: bool, rename: tuple[str, str] | None) -> None:
    parent, _, base = name.rpartition("/")
    pfd = fs.mkdir_all_in_root(destfd, parent or "/")
    try:
        have = _lstat(pfd, base)
        if have is not None:
            if stat.S_ISDIR(have.st_mode):
                if not m.isdir():
                    raise Conflict(f"cannot overwrite directory {'/' + name!r} with "
                                   "non-directory")
            elif m.isdir():
                raise Conflict(f"cannot overwrite non-directory {'/' + name!r} with "
                               "directory")
            else:
                os.unlink(base, dir_fd=pfd)
        mode = m.mode & 0o7777
        if m.isdir():
            if have is None:
                os.mkdir(base, 0o700, dir_fd=pfd)
        elif m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            with os.fdopen(fd, "wb") as f:
                data = tf.extractfile(m)
                if data is not None:
                    while chunk := data.read(1 << 20):
                        f.write(chunk)
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
        elif m.islnk():
            tpfd, tbase = _open_parent(destfd, _rename(_clean_name(m.linkname), rename))
            try:
                os.link(tbase, base, src_dir_fd=tpfd, dst_dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(tpfd)
            return
        elif m.ischr() or m.isblk():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(base, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
        elif m.isfifo():
            os.mkfifo(base, 0o600, dir_fd=pfd)
        else:
            return
        uid, gid = (m.uid, m.gid) if archive else (os.geteuid(), os.getegid())
        os.chown(base, uid, gid, dir_fd=pfd, follow_symlinks=False)
        if not m.issym():
            fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                os.chmod(fs.fd_path(fd), mode)
            finally:
                os.close(fd)
            os.utime(base, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
    finally:
        os.close(pfd)


# --- the verb ------------------------------------------------------------------------------

def copy(engine: Engine, src: CopyEnd, dst: CopyEnd, *, archive: bool = False,
         follow: bool = False, stdin: IO[bytes] | None = None,
         stdout: IO[bytes] | None = None) -> None:
    """``docker cp SRC DST``: exactly one side names a container."""
    if src.container and dst.container:
        raise CopyError("copying between containers is not supported")
    if not src.container and not dst.container:
        raise CopyError("must specify at least one container source")
    side = src if src.container else dst
    rec = engine.refresh(engine.containers.get(side.container))
    with tempfile.TemporaryFile(dir=_spool_dir(engine)) as spool:
        if src.container:
            with _container_root(engine, rec) as rootfd:
                contents = _produce(rootfd, src.path, follow, spool,
                                    f"{src.container}:{src.path}",
                                    as_named=dst.path == "-")
            spool.seek(0)
            if dst.path == "-":
                out = stdout
                assert out is not None
                while chunk := spool.read(1 << 20):
                    out.write(chunk)
                out.flush()
                return
            hostfd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                _consume(hostfd, os.path.abspath(dst.path), dst.path, spool, contents,
                         archive)
            finally:
                os.close(hostfd)
            return
        if src.path == "-":
            assert stdin is not None
            with _container_root(engine, rec) as rootfd:
                _extract_stdin(rootfd, dst.path, stdin, archive)
            return
        path = os.path.abspath(src.path)
        if src.path == "." or src.path.endswith("/."):
            path += "/."  # abspath drops it; it means "the contents"
        hostfd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            contents = _produce(hostfd, path, follow, spool, src.path, host=True)
        finally:
            os.close(hostfd)
        spool.seek(0)
        try:
            with _container_root(engine, rec) as rootfd:
                _consume(rootfd, dst.path, f"{dst.container}:{dst.path}", spool, contents,
                         archive)
        except OSError as e:
            if e.errno == errno.EROFS:
                raise CopyError("container rootfs is marked read-only") from None
            raise


def _spool_dir(engine: Engine) -> str:
    d = os.path.join(engine.exec_root, "ctrfs")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


#: the name a source travels under in the spooled tar
_ARC = "src"


def _produce(rootfd: int, path: str, follow: bool, out: IO[bytes], shown: str, *,
             host: bool = False, as_named: bool = False) -> tuple[str, bool]:
    """Write the source as a tar with its top entry named ``_ARC`` (its own name with
    ``as_named``: the stream ``cp`` writes to stdout); returns (the source's base name,
    whether only its contents are copied: a directory named ``DIR/.``)."""
    contents = path.endswith("/.") or path in (".", "/")
    try:
        pfd, name, st = _resolve_source(rootfd, path or "/", follow)
    except FileNotFoundError:
        if host:
            raise CopyError(f"lstat {path}: no such file or directory") from None
        raise NotFound(f"No such container:path: {shown}") from None
    except NotADirectoryError:
        raise CopyError(f"lstat {shown}: not a directory") from None
    try:
        if path.endswith("/") and not stat.S_ISDIR(st.st_mode):
            raise CopyError(f"lstat {shown}: not a directory")
        _write_tar(pfd, name, name if as_named else _ARC, out)
    finally:
        os.close(pfd)
    return name, contents and stat.S_ISDIR(st.st_mode)


def _consume(rootfd: int, path: str, shown: str, spool: IO[bytes],
             src: tuple[str, bool], archive: bool) -> None:
    base, contents = src
    src_is_dir = _spool_is_dir(spool)
    dst_dir_syntax = path.endswith(("/", "/."))
    try:
        dfd = fs.openat2(rootfd, path or "/", fs.O_PATH)
    except SyscallError as e:
        if e.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise
        dfd = -1
    if dfd >= 0:
        try:
            is_dir = stat.S_ISDIR(os.fstat(dfd).st_mode)
            if is_dir:
                extract(spool, dfd, rename=(_ARC, "" if contents else base),
                        archive=archive)
                return
        finally:
            os.close(dfd)
        if src_is_dir:
            raise CopyError(f"cannot copy a directory to a file: {shown}")
        if dst_dir_syntax:
            raise CopyError(f"{shown}: not a directory")
    elif dst_dir_syntax:
        raise CopyError(f"no such directory: {shown}")
    try:
        pfd, name = _open_parent(rootfd, path)
    except SyscallError:
        raise CopyError(f"no such directory: {os.path.dirname(shown.rstrip('/')) or '/'}"
                        ) from None
    try:
        extract(spool, pfd, rename=(_ARC, name), archive=archive)
    finally:
        os.close(pfd)


def _spool_is_dir(spool: IO[bytes]) -> bool:
    pos = spool.tell()
    with tarfile.open(fileobj=spool, mode="r|") as tf:
        first = tf.next()
        is_dir = first is not None and first.isdir()
    spool.seek(pos)
    return is_dir


def _extract_stdin(rootfd: int, path: str, stdin: IO[bytes], archive: bool) -> None:
    try:
        dfd = fs.openat2(rootfd, path or "/", fs.O_PATH | os.O_DIRECTORY)
    except SyscallError as e:
        if e.errno == errno.ENOENT:
            raise CopyError(f"no such directory: {path}") from None
        raise CopyError(f'destination "{path}" must be a directory') from None
    try:
        extract(stdin, dfd, archive=archive)
    finally:
        os.close(dfd)
