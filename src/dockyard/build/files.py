"""COPY and ADD: sources from the context (or a stage's rootfs) into a mounted rootfs.

Docker's rules (classic builder ``copier.go``): a relative destination is under WORKDIR;
several sources (or a wildcard) need a directory destination ending in ``/``; a file
copied to ``dir/`` (or to an existing directory) keeps its name, else it takes the
destination's; a directory's *contents* are copied; new files and directories are
owned by root, or ``--chown``'s user and group; modes and mtimes are kept (``--chmod``
overrides the mode); directories created on the way are 0755. ADD also unpacks a local
tar (gzip, bzip2, xz) into the destination and downloads an ``http(s)://`` URL (0600).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import stat

from dockyard.build.cache import hash_file
from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.rootpath import scoped
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.build.context import BuildContext

__all__ = ["Copier", "CopyPlan", "chown_ids", "plan_copy", "scoped", "source_hash"]


def _rows(rootfs: str, path: str) -> list[list[str]]:
    try:
        with open(scoped(rootfs, path), encoding="utf-8", errors="replace") as f:
            return [ln.split(":") for ln in f.read().splitlines() if ln and ln[0] != "#"]
    except (FileNotFoundError, NotADirectoryError):
        return []


def chown_ids(spec: str, rootfs: str) -> tuple[int, int]:
    """``--chown user[:group]`` (names looked up in the rootfs) -> uid, gid."""
    user, _, group = spec.partition(":")
    uid = gid = -1
    if user.isdigit():
        uid = int(user)
    for row in _rows(rootfs, "/etc/passwd"):
        if len(row) >= 4 and (row[0] == user or (user.isdigit() and row[2] == user)):
            uid = int(row[2])
            gid = int(row[3]) if row[3].isdigit() else 0
            break
    if uid < 0:
        raise InvalidArgument(f"unable to convert uid/gid chown string to host mapping: "
                              f"can't find uid for user {user}: no such user: {user}")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = [r for r in _rows(rootfs, "/etc/group") if len(r) >= 3 and r[0] == group]
            if not found:
                raise InvalidArgument(f"unable to convert uid/gid chown string to host "
                                      f"mapping: can't find gid for group {group}: no such "
                                      f"group: {group}")
            gid = int(found[0][2])
    elif gid < 0:
        gid = uid
    return uid, gid


_GLOB = set("*?[")


@record
class CopyPlan:
    """The sources found (host paths) for a COPY/ADD, and where they go."""

    sources: list[tuple[str, str]]  # (host path, name as written / matched)
    dest: str  # container path, trailing "/" kept
    dest_is_dir: bool


def plan_copy(ctx: BuildContext, srcs: list[str], dest: str, workdir: str,
              cmd: str) -> CopyPlan:
    if not dest.startswith("/"):
        is_dir = dest.endswith(("/", "/.")) or dest == "."
        dest = os.path.normpath(os.path.join("/", workdir or "/", dest))
        dest = dest.rstrip("/") + "/" if is_dir else dest
    found: list[tuple[str, str]] = []
    wild = False
    for s in srcs:
        if _GLOB & set(s):
            wild = True
            rel = s.lstrip("/")
            if rel.startswith(".."):
                raise InvalidArgument(f"forbidden path outside the build context: {s}")
            matches = sorted(glob.glob(rel, root_dir=ctx.root, include_hidden=True))
            for m in matches:
                host = ctx.resolve(m)
                if ctx.included(host):
                    found.append((host, m))
            continue
        host = ctx.resolve(s)
        if not os.path.lexists(host) or not ctx.included(host):
            raise NotFound(f"{cmd} failed: file not found in build context or excluded by "
                           f".dockerignore: stat {s}: file does not exist")
        found.append((host, s))
    if not found:
        raise NotFound(f"{cmd} failed: no source files were specified")
    dest_is_dir = dest.endswith("/")
    if (len(srcs) > 1 or (wild and len(found) > 1)) and not dest_is_dir:
        raise InvalidArgument(f"When using {cmd} with more than one source file, the "
                              "destination must be a directory and end with a /")
    return CopyPlan(found, dest, dest_is_dir)


def source_hash(ctx: BuildContext, plan: CopyPlan) -> str:
    """What the cache key takes of the sources: names, types, modes, owners, sizes,
    link targets and contents (no mtimes)."""
    h = hashlib.sha256()
    for host, name in plan.sources:
        hash_file(h, host, name)
        if os.path.isdir(host) and not os.path.islink(host):
            for p in ctx.walk(host):
                hash_file(h, p, os.path.relpath(p, host))
    return h.hexdigest()


@record
class Copier:
    rootfs: str
    ctx: BuildContext
    owner: tuple[int, int] | None
    chmod: int | None

    def _ids(self) -> tuple[int, int]:
        return self.owner if self.owner is not None else (0, 0)

    def mkdirs(self, path: str) -> str:
        """``path`` (a container path) as a directory; new ones get 0755 and the owner."""
        cur = "/"
        for part in [p for p in path.split("/") if p]:
            cur = os.path.join(cur, part)
            host = scoped(self.rootfs, cur)
            if not os.path.lexists(host):
                os.mkdir(host, 0o755)
                os.chmod(host, 0o755)
                os.chown(host, *self._ids())
            elif not os.path.isdir(host):
                raise InvalidArgument(f"cannot copy to {path}: {cur} is not a directory")
        return scoped(self.rootfs, path)

    def copy(self, plan: CopyPlan, is_add: bool) -> None:
        for host, _name in plan.sources:
            st = os.stat(host)
            if stat.S_ISDIR(st.st_mode):
                target = self.mkdirs(plan.dest)
                self._tree(host, target)
                continue
            if is_add and _is_archive(host):
                self._untar(host, self.mkdirs(plan.dest))
                continue
            dest = plan.dest
            dest_host = scoped(self.rootfs, dest)
            if plan.dest_is_dir or os.path.isdir(dest_host):
                dest = os.path.join(dest, os.path.basename(host))
            parent = os.path.dirname(dest.rstrip("/")) or "/"
            self.mkdirs(parent)
            self._entry(host, scoped(self.rootfs, dest), follow=True)

    def _tree(self, src_dir: str, dst_dir: str) -> None:
        for p in self.ctx.walk(src_dir):
            rel = os.path.relpath(p, src_dir)
            target = os.path.join(dst_dir, rel)
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755, exist_ok=True)
                os.chown(parent, *self._ids())
            self._entry(p, target, follow=False)
        # the destination directory keeps its mode (0755 when it was made), as Docker's

    def _entry(self, src: str, dst: str, follow: bool) -> None:
        st = os.stat(src) if follow else os.lstat(src)
        if os.path.lexists(dst) and not (stat.S_ISDIR(st.st_mode) and os.path.isdir(dst)):
            if os.path.isdir(dst) and not os.path.islink(dst):
                shutil.rmtree(dst)
            else:
                os.unlink(dst)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
            os.lchown(dst, *self._ids())
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
            return
        if stat.S_ISDIR(st.st_mode):
            if not os.path.isdir(dst):
                os.mkdir(dst, 0o700)
            self._meta(src, dst, st, is_dir=True)
            return
        if stat.S_ISREG(st.st_mode):
            shutil.copyfile(src, dst, follow_symlinks=True)
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(dst)
        else:
            return  # sockets and devices are not copied from a context
        self._meta(src, dst, st, is_dir=False)

    def _meta(self, src: str, dst: str, st: os.stat_result, is_dir: bool) -> None:
        os.chown(dst, *self._ids())
        mode = self.chmod if self.chmod is not None else stat.S_IMODE(st.st_mode)
        os.chmod(dst, mode)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))

    def _untar(self, archive: str, dest: str) -> None:
        import tarfile

        with tarfile.open(archive, "r:*") as tf:
            for m in tf:
                name = os.path.normpath(m.name).lstrip("/")
                if name.startswith("..") or name == ".":
                    continue
                target = scoped(dest, name)
                if m.isdir():
                    os.makedirs(target, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    if os.path.lexists(target) and not os.path.isdir(target):
                        os.unlink(target)
                    if m.issym():
                        os.symlink(m.linkname, target)
                    elif m.islnk():
                        os.link(scoped(dest, m.linkname), target)
                    elif m.isreg():
                        src = tf.extractfile(m)
                        assert src is not None
                        with src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out)
                    else:
                        continue
                uid, gid = self.owner if self.owner is not None else (m.uid, m.gid)
                os.lchown(target, uid, gid)
                if not m.issym():
                    os.chmod(target, self.chmod if self.chmod is not None else m.mode)
                    os.utime(target, (m.mtime, m.mtime))


def _is_archive(path: str) -> bool:
    import tarfile

    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return False
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        return True
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False

