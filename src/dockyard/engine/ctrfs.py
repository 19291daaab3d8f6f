"""A container's filesystem as a whole: ``diff``, ``export``, ``commit`` (moby
``daemon/changes.go``, ``daemon/export.go``, ``daemon/commit.go``).

A running container's rootfs is the overlay mounted at ``<bundle>/rootfs`` while it runs;
a stopped one's is its snapshot, mounted here for as long as a verb reads it
(:func:`rootfs_mounted`). ``diff`` reads the snapshot's upper directory: overlayfs
whiteouts (0/0 character devices) are deletions; entries found in a lower layer are
changes, the others additions; the parents of every change are changed too, and the list
is sorted by path, as Docker's ``archive.Changes`` does.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager

from dockyard.errors import InvalidArgument
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine
    from dockyard.image.service import ImageService

__all__ = ["Change", "changes", "commit", "export", "rootfs_mounted"]


@record(frozen=True)
class Change:
    """One ``docker diff`` line: ``kind`` is A (added), C (changed) or D (deleted)."""

    kind: str
    path: str

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


@contextmanager
def rootfs_mounted(engine: Engine, rec: ContainerRecord) -> Iterator[str]:
    """The container's merged root filesystem as a host path: the running container's
    mount, or its snapshot mounted on a private directory until the block ends."""
    from dockyard.image.snapshots import mount_all, unmount

    live = os.path.join(rec.bundle_dir, "rootfs")
    if rec.status.is_active and _mounted(live):
        yield live
        return
    base = os.path.join(engine.exec_root, "ctrfs")
    os.makedirs(base, mode=0o700, exist_ok=True)
    mnt = tempfile.mkdtemp(prefix=f"{rec.id[:12]}-", dir=base)
    svc = engine._images()
    try:
        mount_all(svc.snapshots.mounts(rec.rootfs_key), mnt)
        try:
            yield mnt
        finally:
            unmount(mnt)
    finally:
        svc.close()
        os.rmdir(mnt)


# --- diff ----------------------------------------------------------------------------

def _lower_dirs(svc: ImageService, key: str) -> tuple[str, list[str]]:
    """(upper, lowers top first) of the snapshot ``key``."""
    upper = svc.snapshots.upper(key)
    lowers: list[str] = []
    parent = svc.snapshots.stat(key).parent
    while parent:
        lowers.append(svc.snapshots.upper(parent))
        parent = svc.snapshots.stat(parent).parent
    return upper, lowers


def _in_lower(lowers: list[str], rel: str) -> os.stat_result | None:
    """The entry at ``rel`` in the first lower layer that has it (a whiteout above it or an
    opaque directory hides lower ones: treat a whiteout as absent)."""
    for d in lowers:
        try:
            st = os.lstat(os.path.join(d, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return None
        return st
    return None


def changes(engine: Engine, rec: ContainerRecord) -> list[Change]:
    """``docker diff``: the container's changes against its image."""
    svc = engine._images()
    try:
        upper, lowers = _lower_dirs(svc, rec.rootfs_key)
        if svc.snapshots.whiteouts == "delete":
            return _copy_changes(upper, lowers[0] if lowers else None)
    finally:
        svc.close()
    found: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        for name in sorted(dirs + files):
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            st = os.lstat(os.path.join(upper, rel))
            path = "/" + rel
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                found[path] = "D"
            else:
                low = _in_lower(lowers, rel)
                if low is None:
                    found[path] = "A"
                elif stat.S_ISDIR(low.st_mode) and stat.S_ISDIR(st.st_mode) and (
                        low.st_mode == st.st_mode and low.st_uid == st.st_uid
                        and low.st_gid == st.st_gid):
                    pass  # a directory only copied up; its children say what changed
                else:
                    found[path] = "C"
    return _finish(found)


def _finish(found: dict[str, str]) -> list[Change]:
    """Drop the engine's own entries, mark the parents of changes changed, sort."""
    for path in _INIT_LAYER:  # Docker keeps these in the image's "-init" layer
        if found.get(path) == "A":
            del found[path]
    for path in list(found):
        parent = os.path.dirname(path)
        while parent != "/" and parent not in found:
            found[parent] = "C"
            parent = os.path.dirname(parent)
    return [Change(found[p], p) for p in sorted(found)]


def _copy_changes(tree: str, lower: str | None) -> list[Change]:
    """The copy snapshotter keeps whole trees: compare with the image's tree."""
    from dockyard.image.snapshots.diff import write_diff

    if lower is None:
        return _finish({"/" + os.path.relpath(os.path.join(d, n), tree): "A"
                        for d, ds, fs in os.walk(tree) for n in ds + fs})
    import io
    import tarfile

    buf = io.BytesIO()
    write_diff(tree, buf, lower)
    buf.seek(0)
    found: dict[str, str] = {}
    with tarfile.open(fileobj=buf) as tf:
        for m in tf:
            base = os.path.basename(m.name)
            if base.startswith(".wh."):
                path = "/" + os.path.join(os.path.dirname(m.name), base[4:])
                found[path] = "D"
            else:
                path = "/" + m.name.rstrip("/")
                if m.isdir() and os.path.isdir(os.path.join(lower, m.name)) and not \
                        os.path.islink(os.path.join(lower, m.name)):
                    continue  # its children say what changed (parents are added below)
                found[path] = "C" if os.path.lexists(os.path.join(lower, m.name)) else "A"
    return _finish(found)


#: what the engine itself adds to every rootfs (mount points and the /etc files it
#: bind-mounts); Docker makes them in a layer below the container's, so diff omits them
_INIT_LAYER = ("/dev", "/proc", "/sys", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf",
               "/dev/console", "/dev/pts", "/dev/shm", "/.dockerenv", "/etc/mtab")


# --- export --------------------------------------------------------------------------

def write_tree(root: str, out: IO[bytes], *, arcroot: str = "") -> None:
    """The whole tree under ``root`` as a tar stream (owners and modes kept, no owner
    names, sockets left out), entries named relative to ``root`` under ``arcroot``."""
    import tarfile

    def clean(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uname = ti.gname = ""
        return ti

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(os.listdir(root)):
            tf.add(os.path.join(root, name), arcname=os.path.join(arcroot, name),
                   filter=clean)


def export(engine: Engine, ref: str, out: IO[bytes]) -> None:
    """``docker export``: the container's filesystem (without its volumes) as a tar."""
    rec = engine.refresh(engine.containers.get(ref))
    with rootfs_mounted(engine, rec) as root:
        write_tree(root, out)


# --- commit --------------------------------------------------------------------------

def commit(engine: Engine, ref: str, repo: str | None, *, changes: list[str],
           message: str = "", author: str = "", pause: bool = True) -> str:
    """``docker commit``: a new image of the container's image layers plus its changes as
    one more layer; its config is the container's with ``changes`` (``-c``) applied.
    Returns the image ID."""
    import json

    from dockyard.engine.containers import Status
    from dockyard.image.config import apply_changes, now_rfc3339
    from dockyard.image.service import LayerBlob
    from dockyard.oci.reference import parse_reference

    target = parse_reference(repo) if repo else None
    rec = engine.refresh(engine.containers.get(ref))
    paused = False
    if pause and rec.status is Status.RUNNING:
        from dockyard.engine import control

        control.pause(engine, rec.id)
        paused = True
    svc = engine._images()
    try:
        image = svc.store.get(rec.image_id)
        base = svc.config(image.id)
        layers = [LayerBlob(lr.blob_digest, lr.media_type,
                            svc.content.info(lr.blob_digest).size)
                  for lr in svc.layers(image)]
        cfg = {k: v for k, v in base.items() if k not in ("config", "container_config")}
        cfg["config"] = _image_config(rec.config)
        apply_changes(cfg, changes)
        created = now_rfc3339()
        cfg["created"] = created
        cfg["container"] = rec.id
        cfg["docker_version"] = "20.10.24+dockyard"
        if author:
            cfg["author"] = author
        elif "author" in cfg:
            del cfg["author"]
        with svc.writing():
            layer = svc.diff_layer(rec.rootfs_key)
            diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or [])
            cfg["rootfs"] = {"type": "layers", "diff_ids": [*diff_ids, layer.digest]}
            entry = {"created": created, "created_by": _created_by(rec.config)}
            if author:
                entry["author"] = author
            if message:
                entry["comment"] = message
            cfg["history"] = [*(base.get("history") or []), entry]
            new = svc.create(json.dumps(cfg, separators=(",", ":")).encode(),
                             [*layers, layer])
            if target is not None:
                svc.store.tag(str(target), new.id)
        from dockyard.engine import events

        events.container(engine.root, rec, "commit", comment=message, imageID=new.id,
                         imageRef=target.familiar() if target is not None else "")
        return new.id
    finally:
        svc.close()
        if paused:
            from dockyard.engine import control

            control.unpause(engine, rec.id)


#: the container config keys an image config carries (image-spec ``config.md``)
_IMAGE_KEYS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
               "Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell")


def _image_config(config: dict[str, object]) -> dict[str, object]:
    return {k: config[k] for k in _IMAGE_KEYS if config.get(k) not in (None, "", [], {})}


def _created_by(config: dict[str, object]) -> str:
    words: list[str] = []
    for key in ("Entrypoint", "Cmd"):
        v = config.get(key)
        if isinstance(v, list):
            words.extend(str(w) for w in v)
    return " ".join(words)


def check_repo(repo: str) -> None:
    """Refuse a bad ``REPO[:TAG]`` before any work."""
    from dockyard.oci.reference import parse_reference

    try:
        parse_reference(repo)
    except InvalidArgument as e:
        raise InvalidArgument(f"invalid reference format: {e}") from None
