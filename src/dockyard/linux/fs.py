"""Path resolution confined to a root: openat2(2) with RESOLVE_IN_ROOT, mknod, umask."""

from __future__ import annotations

import ctypes
import errno
import os

from dockyard.linux._libc import fsencode, syscall
from dockyard.linux.errors import SyscallError

# <linux/openat2.h>
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

O_PATH = 0o10000000


class _OpenHow(ctypes.Structure):
    """struct open_how { __u64 flags; __u64 mode; __u64 resolve; } (linux/openat2.h)."""

    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, mode: int = 0,
            resolve: int = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) -> int:
    """Open ``path`` relative to ``dirfd``; with RESOLVE_IN_ROOT, ``..`` and absolute
    symlinks cannot climb above ``dirfd`` (the container's rootfs)."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return syscall("openat2", ctypes.c_int(dirfd), fsencode(path), ctypes.byref(how),
                   ctypes.c_size_t(ctypes.sizeof(how)), path=path)


def open_in_root(rootfd: int, path: str, flags: int = O_PATH) -> int:
    return openat2(rootfd, path, flags)


def mkdir_all_in_root(rootfd: int, path: str, mode: int = 0o755) -> int:
    """``mkdir -p`` of ``path`` inside the root ``rootfd``; returns an O_PATH fd to the
    last directory. Every component is resolved by openat2 in the root, so a symlink in
    the image cannot send the new directory (or a later mount) outside the rootfs."""
    fd = os.dup(rootfd)
    try:
        for part in [p for p in path.split("/") if p and p != "."]:
            try:
                nxt = openat2(fd, part, O_PATH | os.O_DIRECTORY)
            except SyscallError as e:
                if e.errno != errno.ENOENT:
                    raise
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as e2:
                    raise SyscallError(e2.errno or errno.EIO, "mkdir", path) from e2
                nxt = openat2(fd, part, O_PATH | os.O_DIRECTORY)
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def create_file_in_root(rootfd: int, path: str, mode: int = 0o644) -> int:
    """Make sure a regular file exists at ``path`` (for a bind mount target); O_PATH fd."""
    parent, _, name = path.rstrip("/").rpartition("/")
    pfd = mkdir_all_in_root(rootfd, parent or "/")
    try:
        try:
            return openat2(pfd, name, O_PATH)
        except SyscallError as e:
            if e.errno != errno.ENOENT:
                raise
        try:
            os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW,
                             mode, dir_fd=pfd))
        except OSError as e:
            raise SyscallError(e.errno or errno.EIO, "create", path) from e
        return openat2(pfd, name, O_PATH)
    finally:
        os.close(pfd)


def fd_path(fd: int) -> str:
    """The magic-link path that names an open fd, for calls that take a path."""
    return f"/proc/self/fd/{fd}"



_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str) -> None:
    """The directory ``path`` and all in it, best effort, as ``shutil.rmtree(path,
    ignore_errors=True)``: through directory fds, never following a symlink. Without
    ``shutil``, whose import (``bz2``, ``lzma``, ``zlib``, ``fnmatch``) costs ~2 ms on
    ``run``'s path."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:  # missing, or not a directory: left as it is, as shutil does
        return
    try:
        _clear(fd)
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _clear(dfd: int) -> None:
    try:
        entries = list(os.scandir(dfd))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                child = os.open(entry.name, _DIR_FLAGS, dir_fd=dfd)
                try:
                    _clear(child)
                finally:
                    os.close(child)
                os.rmdir(entry.name, dir_fd=dfd)
            else:
                os.unlink(entry.name, dir_fd=dfd)
        except OSError:
            continue
