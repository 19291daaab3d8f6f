"""Seeding a new volume with what the image has at its mount point (moby ``copyExistingContents``):
files, directories, symlinks, devices and fifos with their owners, modes, times and extended
attributes; hard links stay linked."""

from __future__ import annotations

import os
import shutil
import stat

__all__ = ["copy_tree", "is_empty_dir"]


def is_empty_dir(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except FileNotFoundError:
        return True


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False),
                        follow_symlinks=False)
        except OSError:
            pass  # e.g. security.* refused by the target filesystem: Docker ignores it too


def _copy_meta(src: str, dst: str, st: os.stat_result) -> None:
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    _copy_xattrs(src, dst)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def copy_tree(src: str, dst: str) -> None:
    """Copy the contents of directory ``src`` into the existing directory ``dst`` (which then
    takes ``src``'s owner and mode, as Docker's copy does)."""
    links: dict[tuple[int, int], str] = {}
    _copy_dir(src, dst, links)
    _copy_meta(src, dst, os.lstat(src))


def _copy_dir(src: str, dst: str, links: dict[tuple[int, int], str]) -> None:
    with os.scandir(src) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        s, d = e.path, os.path.join(dst, e.name)
        st = os.lstat(s)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(d, 0o700)
            _copy_dir(s, d, links)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(s), d)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                os.link(links[key], d)
                continue
            with open(s, "rb") as fin, open(d, "xb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            if st.st_nlink > 1:
                links[key] = d
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            os.mknod(d, mode, st.st_rdev)
        else:
            continue  # sockets are not copied
        _copy_meta(s, d, st)
