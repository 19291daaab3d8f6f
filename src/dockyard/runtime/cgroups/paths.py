"""Which cgroup hierarchies this host mounts, and where a container's cgroup goes in each.

Pure functions on the text of ``/proc/self/mountinfo`` and ``/proc/self/cgroup`` so unit
tests feed them fixtures. The mode is decided as runc does (``cgroups.IsCgroup2UnifiedMode``):
cgroup2 mounted on /sys/fs/cgroup is "v2"; v1 controller hierarchies plus a cgroup2 mount
(usually /sys/fs/cgroup/unified) is "hybrid"; v1 hierarchies alone are "v1".
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, NotFound, Unsupported

CGROUP_ROOT = "/sys/fs/cgroup"

#: The v1 controllers runc's fs driver knows (``libcontainer/cgroups/fs/fs.go``); named
#: hierarchies (``name=systemd``) are joined too.
V1_CONTROLLERS = frozenset({
    "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb", "net_cls",
    "net_prio", "perf_event", "freezer", "rdma", "misc",
})


def _unescape(field: str) -> str:
    r"""proc(5): mountinfo escapes space, tab, newline and backslash as ``\040`` octal."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


class Mount:
    """One cgroup mount: its mount point, the hierarchy path mounted there (``root``,
    "/" unless inside a cgroup namespace or a bind mount), and its v1 controllers."""

    __slots__ = ("controllers", "mountpoint", "root", "version")

    def __init__(self, mountpoint: str, root: str, version: int,
                 controllers: tuple[str, ...]) -> None:
        self.mountpoint = mountpoint
        self.root = root
        self.version = version
        self.controllers = controllers


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup and cgroup2 mounts in mountinfo ``text``.

    proc(5): ``36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue``
    -- (4) root, (5) mount point, optional fields up to ``-``, then fstype, source and
    super options; for cgroup v1 the super options name the controllers.
    """
    mounts: list[Mount] = []
    for line in text.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, tail = pre.split(), post.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        root, mountpoint = _unescape(fields[3]), _unescape(fields[4])
        if tail[0] == "cgroup2":
            mounts.append(Mount(mountpoint, root, 2, ()))
            continue
        ctrls = tuple(o for o in tail[2].split(",")
                      if o in V1_CONTROLLERS or o.startswith("name="))
        if ctrls:
            mounts.append(Mount(mountpoint, root, 1, ctrls))
    return mounts


class Hierarchies:
    """The host's cgroup layout: ``mode``, the v1 mount of each controller, and the
    cgroup2 mount (``unified``; None in pure v1)."""

    __slots__ = ("mode", "unified", "v1")

    def __init__(self, mode: str, v1: dict[str, Mount], unified: Mount | None) -> None:
        self.mode = mode
        self.v1 = v1
        self.unified = unified


def detect(mountinfo: str, cgroup_root: str = CGROUP_ROOT) -> Hierarchies:
    """Decide v1/hybrid/v2 from mountinfo text (see the module docstring)."""
    v1: dict[str, Mount] = {}
    v2: list[Mount] = []
    for m in parse_mountinfo(mountinfo):
        if m.version == 2:
            v2.append(m)
        else:
            for c in m.controllers:
                v1.setdefault(c, m)
    unified = next((m for m in v2 if m.mountpoint == cgroup_root), None)
    if unified is not None:
        return Hierarchies("v2", {}, unified)
    if v1:
        preferred = os.path.join(cgroup_root, "unified")
        unified = next((m for m in v2 if m.mountpoint == preferred), v2[0] if v2 else None)
        return Hierarchies("hybrid" if unified else "v1", v1, unified)
    if v2:
        return Hierarchies("v2", {}, v2[0])
    raise Unsupported("cgroup: no cgroup filesystem is mounted (see /proc/self/mountinfo)")


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """cgroups(7) ``/proc/PID/cgroup``: ``hierarchy-ID:controller-list:cgroup-path`` per
    line; each v1 controller (and ``name=...``) maps to its path, the v2 entry
    (``0::/path``) to the key ``""``."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _hid, ctrls, path = parts
        if not ctrls:
            own[""] = path
        for c in ctrls.split(","):
            if c:
                own[c] = path
    return own


def clean_path(cgroups_path: str, container_id: str) -> str:
    """``linux.cgroupsPath`` cleaned as runc's ``utils.CleanPath``: ``..`` cannot climb out
    (a relative path is cleaned as if it were absolute). Empty means ``/dockyard/<id>``."""
    if not cgroups_path:
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise InvalidArgument(f"cgroup: invalid container id {container_id!r}")
        return f"/dockyard/{container_id}"
    cleaned = "/" + os.path.normpath("/" + cgroups_path).lstrip("/")
    if cleaned == "/":
        raise InvalidArgument(f"cgroup: cgroupsPath {cgroups_path!r} names no cgroup of its own")
    return cleaned if cgroups_path.startswith("/") else cleaned[1:]


def cgroup_dir(mount: Mount, own: str | None, path: str) -> str:
    """The directory of the cgroup ``path`` (from :func:`clean_path`) in ``mount``.

    Absolute paths are taken from the hierarchy's mount point, relative ones from the
    caller's own cgroup in that hierarchy (``own``, a /proc/self/cgroup path), as runc's
    fs driver does (``subsysPath``: mount point + own path relative to the mount's root).
    """
    if path.startswith("/"):
        return os.path.normpath(mount.mountpoint + path)
    if own is None:
        raise NotFound(f"cgroup: /proc/self/cgroup has no entry for {mount.mountpoint}")
    root = mount.root.rstrip("/")
    if root and own != root and not own.startswith(root + "/"):
        raise NotFound(f"cgroup: own cgroup {own} is outside the hierarchy mounted "
                       f"at {mount.mountpoint}")
    rel = own[len(root):].strip("/")
    return os.path.normpath(os.path.join(mount.mountpoint, rel, path))


def v1_dirs(h: Hierarchies, own: dict[str, str], path: str) -> dict[str, str]:
    """Controller -> directory for every mounted v1 controller."""
    return {c: cgroup_dir(m, own.get(c), path) for c, m in sorted(h.v1.items())}
