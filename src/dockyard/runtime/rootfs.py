"""Building the container's filesystem view inside its mount namespace.

Every mount target is resolved with openat2(RESOLVE_IN_ROOT) against the rootfs and the
mount is made on ``/proc/self/fd/N``: a symlink planted in the image (``/proc -> /``) or a
``..`` in a destination cannot put a mount outside the container's root.
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import InvalidArgument
from dockyard.linux import fs
from dockyard.linux import mount as mnt
from dockyard.linux.errors import SyscallError
from dockyard.runtime import mountopts

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Mount, Spec


def set_root_propagation(spec: Spec) -> None:
    """runtime-spec ``rootfsPropagation`` (default rslave, as runc) on the whole tree."""
    prop = spec.get("linux", {}).get("rootfsPropagation", "")
    mnt.mount(None, "/", None, mountopts.PROPAGATION.get(prop) or mnt.MS_SLAVE | mnt.MS_REC)


def _mount_point_of(path: str) -> str:
    """The mount point under which ``path`` lives (longest match in mountinfo)."""
    best = "/"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(best):
                best = point
    return best


def bind_rootfs(rootfs: str) -> None:
    """Make the rootfs a mount point and its parent mount private (pivot_root needs both)."""
    mnt.mount(rootfs, rootfs, None, mnt.MS_BIND | mnt.MS_REC)
    parent = _mount_point_of(os.path.dirname(rootfs))
    mnt.mount(None, parent, None, mnt.MS_PRIVATE)


def mount_one(rootfd: int, m: Mount, bundle: str, in_userns: bool, own_cgroupns: bool) -> None:
    """One entry of ``mounts`` (runtime-spec config.md "Mounts")."""
    dest = m["destination"]
    kind = m.get("type", "")
    source = m.get("source", "")
    flags, propagation, data = mountopts.parse(m.get("options", []))
    if kind == "bind":
        flags |= mnt.MS_BIND
    if flags & mnt.MS_BIND:
        if not os.path.isabs(source):
            source = os.path.join(bundle, source)
        if not os.path.exists(source):
            raise InvalidArgument(f"mount {dest}: bind source {source} does not exist")
        make = fs.mkdir_all_in_root if os.path.isdir(source) else fs.create_file_in_root
        fd = make(rootfd, dest)
        try:
            mnt.mount(source, fs.fd_path(fd), None, flags & (mnt.MS_BIND | mnt.MS_REC),
                      display=dest)
        finally:
            os.close(fd)
        extra = flags & ~(mnt.MS_BIND | mnt.MS_REC | mnt.MS_REMOUNT)
        if extra or propagation:
            # The fd named the directory under the new mount: look the path up again.
            fd = fs.open_in_root(rootfd, dest)
            try:
                target = fs.fd_path(fd)
                if extra:
                    # A bind mount takes its flags only on a remount of the new mount.
                    base = mountopts.locked_flags(os.statvfs(target).f_flag) if in_userns \
                        else 0
                    mnt.mount(None, target, None, mnt.MS_BIND | mnt.MS_REMOUNT | extra | base,
                              display=dest)
                for p in propagation:
                    mnt.mount(None, target, None, p, display=dest)
            finally:
                os.close(fd)
        return
    if kind == "cgroup":
        _mount_cgroup(rootfd, dest, flags, own_cgroupns)
        return
    fd = fs.mkdir_all_in_root(rootfd, dest)
    bind_fallback = False
    try:
        target = fs.fd_path(fd)
        try:
            mnt.mount(source or kind, target, kind, flags, data or None, display=dest)
        except SyscallError as e:
            # In a user namespace without its own netns/ipcns the kernel refuses a new
            # sysfs/mqueue: fall back to a bind of the host's, as runc does.
            host = {"sysfs": "/sys", "mqueue": "/dev/mqueue"}.get(kind)
            if e.errno not in (errno.EPERM, errno.EBUSY) or host is None:
                raise
            mnt.mount(host, target, None, mnt.MS_BIND | mnt.MS_REC, display=dest)
            bind_fallback = True
    finally:
        os.close(fd)
    if bind_fallback or propagation:
        fd = fs.open_in_root(rootfd, dest)  # the new mount, not the directory under it
        try:
            target = fs.fd_path(fd)
            if bind_fallback:
                mnt.mount(None, target, None, mnt.MS_BIND | mnt.MS_REMOUNT | flags
                          | mountopts.locked_flags(os.statvfs(target).f_flag), display=dest)
            for p in propagation:
                mnt.mount(None, target, None, p, display=dest)
        finally:
            os.close(fd)


def _mount_cgroup(rootfd: int, dest: str, flags: int, own_cgroupns: bool) -> None:
    """``type: cgroup``: the container sees its own cgroups read-only at ``dest``.

    On a cgroup2 host that is a cgroup2 mount; on v1/hybrid hosts a tmpfs holding one
    mount per hierarchy, like Docker's view. With its own cgroup namespace each fresh
    mount shows the container's cgroup as its root; without one, the container's own
    cgroup directories are bind-mounted instead, so the host's tree stays hidden.
    """
    fd = fs.mkdir_all_in_root(rootfd, dest)
    try:
        target = fs.fd_path(fd)
        hierarchies = host_cgroup_hierarchies()
        own = own_cgroups()
        if len(hierarchies) == 1 and hierarchies[0][1] == "cgroup2":
            if own_cgroupns:
                mnt.mount("cgroup", target, "cgroup2", flags, display=dest)
            else:
                _bind_ro(f"/sys/fs/cgroup{own.get('', '/')}", target, flags, dest)
            return
        mnt.mount("tmpfs", target, "tmpfs", mnt.MS_NOSUID | mnt.MS_NODEV | mnt.MS_NOEXEC,
                  "mode=755", display=dest)
        # The fd still names the directory under the new tmpfs: look the path up again.
        os.close(fd)
        fd = fs.open_in_root(rootfd, dest, fs.O_PATH | os.O_DIRECTORY)
        target = fs.fd_path(fd)
        for rel, fstype, data in hierarchies:
            sub = fs.mkdir_all_in_root(fd, rel)
            try:
                where = fs.fd_path(sub)
                if own_cgroupns:
                    mnt.mount("cgroup", where, fstype, flags & ~mnt.MS_RDONLY, data or None,
                              display=f"{dest}/{rel}")
                else:
                    key = "" if fstype == "cgroup2" else data
                    _bind_ro(f"/sys/fs/cgroup/{rel}{own.get(key, '/')}", where, 0,
                             f"{dest}/{rel}")
            finally:
                os.close(sub)
        if flags & mnt.MS_RDONLY:
            mnt.mount(None, target, None, mnt.MS_REMOUNT | mnt.MS_RDONLY | mnt.MS_NOSUID
                      | mnt.MS_NODEV | mnt.MS_NOEXEC, display=dest)
    finally:
        os.close(fd)


def _bind_ro(source: str, target: str, flags: int, display: str) -> None:
    """Bind ``source`` read-only at ``target`` (a /proc/self/fd path of the mount point)."""
    mnt.mount(source, target, None, mnt.MS_BIND | mnt.MS_REC, display=display)
    # ``target``'s fd names the directory under the new mount: remount through a fresh
    # lookup of the same path, which crosses into the new mount.
    fd = os.open(os.path.realpath(target), fs.O_PATH | os.O_CLOEXEC)
    try:
        mnt.mount(None, fs.fd_path(fd), None, mnt.MS_BIND | mnt.MS_REMOUNT | mnt.MS_RDONLY
                  | mnt.MS_NOSUID | mnt.MS_NODEV | mnt.MS_NOEXEC | flags, display=display)
    finally:
        os.close(fd)


def host_cgroup_hierarchies() -> list[tuple[str, str, str]]:
    """(dir under /sys/fs/cgroup, fs type, controllers as mount data) per cgroup mount."""
    out: list[tuple[str, str, str]] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = left.split()[4]
            fstype, _, superopts = right.split()[:3]
            if fstype not in ("cgroup", "cgroup2") or not point.startswith("/sys/fs/cgroup"):
                continue
            ctrl = ",".join(o for o in superopts.split(",")
                            if o not in ("rw", "ro") and (o.startswith("name=") or "=" not in o)
                            and o not in ("nsdelegate", "memory_recursiveprot", "noprefix"))
            out.append((point[len("/sys/fs/cgroup"):].strip("/"), fstype, ctrl))
    return out


def own_cgroups() -> dict[str, str]:
    """/proc/self/cgroup as {controllers: path}; the cgroup2 entry has the key ""."""
    out: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrl, path = line.rstrip("\n").split(":", 2)
            out[ctrl] = path
    return out


def pivot(rootfs: str) -> None:
    """pivot_root(".", ".") then lazily detach the old root (runc's trick: no put_old dir)."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        mnt.pivot_root(".", ".")
        os.fchdir(old)
        # The old root must not propagate our unmount to the host's tree.
        mnt.mount(None, ".", None, mnt.MS_SLAVE | mnt.MS_REC)
        mnt.umount2(".", mnt.MNT_DETACH)
    finally:
        os.close(old)
        os.close(new)
    os.chdir("/")


def move_root(rootfs: str) -> None:
    """``--no-pivot``: MS_MOVE the rootfs onto / and chroot (for ramdisk hosts)."""
    os.chdir(rootfs)
    mnt.mount(rootfs, "/", None, mnt.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def remount_readonly(path: str) -> None:
    flags = mountopts.locked_flags(os.statvfs(path).f_flag)
    mnt.mount(None, path, None, mnt.MS_BIND | mnt.MS_REMOUNT | mnt.MS_RDONLY | flags)


def readonly_path(path: str) -> None:
    """linux.readonlyPaths: bind the path onto itself and remount it read-only."""
    try:
        mnt.mount(path, path, None, mnt.MS_BIND | mnt.MS_REC)
    except SyscallError as e:
        if e.errno == errno.ENOENT:
            return
        raise
    remount_readonly(path)


def mask_path(path: str) -> None:
    """linux.maskedPaths: /dev/null over a file, an empty read-only tmpfs over a dir."""
    try:
        mnt.mount("/dev/null", path, None, mnt.MS_BIND)
    except SyscallError as e:
        if e.errno == errno.ENOENT:
            return
        if e.errno != errno.ENOTDIR:
            raise
        mnt.mount("tmpfs", path, "tmpfs", mnt.MS_RDONLY)
