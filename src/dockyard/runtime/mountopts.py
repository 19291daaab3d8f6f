"""OCI mount ``options`` -> mount(2) flags, propagation flags and fs data (runc's table)."""

from __future__ import annotations

from dockyard.linux import mount as m

#: option -> (clear?, flag). ``clear`` options remove a flag ("rw" clears MS_RDONLY).
FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, m.MS_SYNCHRONOUS), "atime": (True, m.MS_NOATIME),
    "bind": (False, m.MS_BIND), "defaults": (False, 0), "dev": (True, m.MS_NODEV),
    "diratime": (True, m.MS_NODIRATIME), "dirsync": (False, m.MS_DIRSYNC),
    "exec": (True, m.MS_NOEXEC), "mand": (False, m.MS_MANDLOCK),
    "noatime": (False, m.MS_NOATIME), "nodev": (False, m.MS_NODEV),
    "nodiratime": (False, m.MS_NODIRATIME), "noexec": (False, m.MS_NOEXEC),
    "nomand": (True, m.MS_MANDLOCK), "norelatime": (True, m.MS_RELATIME),
    "nostrictatime": (True, m.MS_STRICTATIME), "nosuid": (False, m.MS_NOSUID),
    "nosymfollow": (False, m.MS_NOSYMFOLLOW), "rbind": (False, m.MS_BIND | m.MS_REC),
    "relatime": (False, m.MS_RELATIME), "remount": (False, m.MS_REMOUNT),
    "ro": (False, m.MS_RDONLY), "rw": (True, m.MS_RDONLY), "silent": (False, m.MS_SILENT),
    "loud": (True, m.MS_SILENT), "strictatime": (False, m.MS_STRICTATIME),
    "suid": (True, m.MS_NOSUID), "sync": (False, m.MS_SYNCHRONOUS),
    "lazytime": (False, m.MS_LAZYTIME), "nolazytime": (True, m.MS_LAZYTIME),
}

PROPAGATION: dict[str, int] = {
    "private": m.MS_PRIVATE, "rprivate": m.MS_PRIVATE | m.MS_REC,
    "shared": m.MS_SHARED, "rshared": m.MS_SHARED | m.MS_REC,
    "slave": m.MS_SLAVE, "rslave": m.MS_SLAVE | m.MS_REC,
    "unbindable": m.MS_UNBINDABLE, "runbindable": m.MS_UNBINDABLE | m.MS_REC,
}

#: Options the runtime understands but that are not kernel flags or data (runc extensions).
EXTENSIONS = frozenset({"tmpcopyup", "idmap", "ridmap"})


def parse(options: list[str]) -> tuple[int, list[int], str]:
    """Split ``options`` into (flags, [propagation flags], data string)."""
    flags = 0
    propagation: list[int] = []
    data: list[str] = []
    for opt in options:
        if opt in FLAGS:
            clear, flag = FLAGS[opt]
            flags = flags & ~flag if clear else flags | flag
        elif opt in PROPAGATION:
            propagation.append(PROPAGATION[opt])
        elif opt in EXTENSIONS:
            continue
        else:
            data.append(opt)
    return flags, propagation, ",".join(data)


#: statvfs f_flag bits (ST_*, <sys/statvfs.h>) -> the MS_* flag a remount must keep.
_ST_TO_MS = ((0x1, m.MS_RDONLY), (0x2, m.MS_NOSUID), (0x4, m.MS_NODEV), (0x8, m.MS_NOEXEC),
             (0x400, m.MS_NOATIME), (0x800, m.MS_NODIRATIME), (0x1000, m.MS_RELATIME),
             (0x100, m.MS_NOSYMFOLLOW))


def locked_flags(f_flag: int) -> int:
    """Flags a bind remount must repeat: in a user namespace the kernel refuses a remount
    that would clear nosuid/nodev/noexec/atime flags locked by the mount's owner."""
    out = 0
    for st, ms in _ST_TO_MS:
        if f_flag & st:
            out |= ms
    return out
