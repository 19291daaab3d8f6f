"""mount(2), umount2(2), pivot_root(2) and the MS_* flags."""

from __future__ import annotations

import ctypes

from dockyard.linux._libc import check, fsencode, libc, syscall

# <linux/mount.h>
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000

MS_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE

MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None, *, display: str | None = None) -> None:
    """mount(2). ``display`` names the target in errors when ``target`` is a /proc fd path."""
    ret = libc.mount(fsencode(source), fsencode(target), fsencode(fstype), flags,
                     fsencode(data))
    check(ret, "mount", display or target)


def umount2(target: str, flags: int = 0) -> None:
    check(libc.umount2(fsencode(target), flags), "umount2", target)


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2): the caller's root becomes ``put_old``, ``new_root`` becomes /."""
    syscall("pivot_root", fsencode(new_root), fsencode(put_old), path=new_root)
