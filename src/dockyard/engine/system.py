"""``dockyard system check`` and ``system prune``: a root's state, checked and cleaned.

:func:`check` walks what a crash, a killed CLI or a hand edit can leave behind, in an
order where each repair can only create work for a later step:

1. image rows whose config, manifest or layer blobs, or layer snapshots, are missing
   (repair: forget the image; its tags go with it);
2. tags that point at no image (repair: drop the tag);
3. container records whose bundle directory or rootfs snapshot is gone (repair: remove
   the container through :meth:`Engine.remove`); a ``created`` one younger than a minute
   is being set up by a ``run`` (record first, then bundle and snapshot): a note only;
4. snapshots no image or container uses, stale ``extract-*`` ones included (repair: remove,
   children first) -- skipped while another process writes an image;
5. blobs no image or manifest references (repair: delete) -- skipped likewise;
6. partial writes: content ingests (``image/ingest``) and downloads (``image/pull-ingest``).
   One whose lock a live process holds is in progress and left alone. An unnamed content
   ingest whose lock is free is garbage. A named (resumable) one -- every pull download --
   whose lock is free is a *partial download (resumable)* while younger than
   :data:`GRACE_SECONDS`: a later pull of the same blob continues it, so it is reported as
   a note, not a problem, and kept; older than that it is stale (repair: delete).

"Another process writes an image" is the image service's ``gc`` lock: imports, loads and
pulls hold it shared from the first blob to the image record; this module takes it
exclusive without waiting. When it is busy, steps 4-5 are skipped with a note (their
in-flight blobs and ``extract-*`` snapshots would look unreferenced) and ``--repair``
refuses with :class:`Conflict`.
"""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import os
import time

from dockyard.engine.containers import ContainerStore, Status
from dockyard.errors import Conflict, DockyardError, NotFound
from dockyard.image.service import ImageService
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["GRACE_SECONDS", "DiskUsage", "Finding", "PruneReport", "check", "disk_usage",
           "prune"]

#: How long a resumable partial download is kept for a later pull to continue.
GRACE_SECONDS = 3600.0


@record(frozen=True)
class Finding:
    """One line of ``system check``. ``problem`` is false for notes (a resumable download,
    a skipped step), which do not make the check fail."""

    text: str
    problem: bool = True
    repaired: bool = False

    def line(self) -> str:
        if not self.problem:
            return f"note: {self.text}"
        return f"repaired: {self.text}" if self.repaired else self.text


def _epoch(rfc3339: str) -> float:
    """``2026-11-23T08:17:55.988990275Z`` -> seconds since the epoch (0 if unreadable)."""
    try:
        return float(calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return 0.0


@contextlib.contextmanager
def _try_flock(path: str) -> Iterator[bool]:
    """Yields whether an exclusive lock on ``path`` was free (it is held meanwhile); a
    missing file counts as free."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class _Checker:
    def __init__(self, svc: ImageService, containers: ContainerStore, root: str,
                 exec_root: str, repair: bool, grace: float) -> None:
        self.svc = svc
        self.containers = containers
        self.root = root
        self.exec_root = exec_root
        self.repair = repair
        self.grace = grace
        self.out: list[Finding] = []

    def found(self, text: str) -> None:
        """Record a problem (with ``repair``, the caller has just fixed it)."""
        self.out.append(Finding(text, True, self.repair))

    def note(self, text: str) -> None:
        self.out.append(Finding(text, problem=False))

    # 1. images ------------------------------------------------------------------
    def images(self) -> None:
        store = self.svc.store
        for rec in store.all():
            missing = []
            if not self.svc.content.exists(rec.id):
                missing.append("config blob missing")
            if not self.svc.content.exists(rec.manifest_digest):
                missing.append("manifest blob missing")
            for chain in store.chain_ids(rec.id):
                try:
                    lay = store.layer(chain)
                except NotFound:
                    missing.append(f"layer {chain} not recorded")
                    continue
                if not self.svc.content.exists(lay.blob_digest):
                    missing.append(f"layer blob {lay.blob_digest} missing")
                if not self.svc.snapshots.exists(chain):
                    missing.append(f"layer snapshot {chain} missing")
            if not missing:
                continue
            if self.repair:
                with self.svc.store.tx() as c:
                    for child in store.children(rec.id):  # keep the children, unparented
                        c.execute("UPDATE images SET parent = '' WHERE id = ?", (child,))
                store.delete_image(rec.id)
            for m in missing:
                self.found(f"image {rec.id}: {m}")

    # 2. tags --------------------------------------------------------------------
    def tags(self) -> None:
        conn = self.svc.conn
        rows = conn.execute("SELECT ref, image_id FROM image_tags WHERE image_id NOT IN "
                            "(SELECT id FROM images)").fetchall()
        for ref, image_id in rows:
            if self.repair:
                conn.execute("DELETE FROM image_tags WHERE ref = ?", (ref,))
            self.found(f"tag {ref}: image {image_id} missing")

    # 3. containers --------------------------------------------------------------
    def container_records(self) -> None:
        for rec in self.containers.all():
            gone = []
            if not rec.bundle_dir or not os.path.isdir(rec.bundle_dir):
                gone.append(f"bundle {rec.bundle_dir or '(none)'} missing")
            if not rec.rootfs_key or not self.svc.snapshots.exists(rec.rootfs_key):
                gone.append("rootfs snapshot missing")
            if not gone:
                continue
            if rec.status is Status.CREATED and time.time() - _epoch(rec.created) < 60:
                self.note(f"container {rec.id}: being created")  # bundle comes next
                continue
            if self.repair:
                from dockyard.engine.lifecycle import Engine

                engine = Engine(self.root, self.exec_root)
                try:
                    engine.remove(rec.id, force=True)
                finally:
                    engine.close()
            for g in gone:
                self.found(f"container {rec.id}: {g}")

    # 4. snapshots ---------------------------------------------------------------
    def snapshots(self) -> None:
        sn = self.svc.snapshots
        infos = {i.key: i for i in sn.walk()}
        keep: set[str] = set()
        roots = {r[0] for r in self.svc.conn.execute("SELECT chain_id FROM image_layers")}
        roots |= {c.rootfs_key for c in self.containers.all() if c.rootfs_key}
        for info in infos.values():
            if info.kind == "active" and info.key.startswith("extract-"):
                chain = info.key.split("-", 2)[2]
                lock = os.path.join(self.svc.lock_dir, chain.partition(":")[2])
                with _try_flock(lock) as free:
                    if not free:
                        roots.add(info.key)  # a live extraction
        for key in roots:
            while key and key in infos and key not in keep:
                keep.add(key)
                key = infos[key].parent
        unused = [i for i in infos.values() if i.key not in keep]
        # children first: a snapshot with children cannot be removed
        for info in sorted(unused, key=lambda i: i.id, reverse=True):
            what = ("stale extraction" if info.key.startswith("extract-")
                    else f"{info.kind} snapshot")
            if self.repair:
                sn.remove(info.key)
            self.found(f"snapshot {info.key}: {what} no image or container uses")

    # 5. blobs -------------------------------------------------------------------
    def blobs(self) -> None:
        used = self.svc.store.used_blobs()
        for rec in self.svc.store.all():  # layers as a (pulled) manifest names them
            try:
                used.update(d["digest"] for d in self.svc.manifest(rec).get("layers", []))
            except (NotFound, ValueError, KeyError, TypeError):
                continue
        for info in list(self.svc.content.walk()):
            if info.digest in used:
                continue
            if self.repair:
                with contextlib.suppress(NotFound):
                    self.svc.content.delete(info.digest)
            self.found(f"blob {info.digest}: not referenced by any image ({info.size} bytes)")

    # 6. partial writes ----------------------------------------------------------
    def partials(self) -> None:
        now = time.time()
        ingest = self.svc.content.ingest_dir
        for name in sorted(os.listdir(ingest)):
            path = os.path.join(ingest, name)
            self._partial(path, path, f"ingest {name}", resumable=len(name) == 64, now=now)
        pulls = os.path.join(self.root, "image", "pull-ingest")
        if not os.path.isdir(pulls):
            return
        names = sorted(os.listdir(pulls))
        for name in names:
            path = os.path.join(pulls, name)
            if name.endswith(".lock"):
                if name.removesuffix(".lock") not in names:
                    with _try_flock(path) as free:
                        if free:  # left by a killed pull after its file was committed
                            with contextlib.suppress(FileNotFoundError):
                                os.unlink(path)
                continue
            digest = name.replace("-", ":", 1)
            self._partial(path, f"{path}.lock", f"download {digest}", resumable=True,
                          now=now)

    def _partial(self, path: str, lock: str, what: str, resumable: bool,
                 now: float) -> None:
        with _try_flock(lock) as free:
            if not free:
                return  # being written by a live process
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return
            age = now - st.st_mtime
            if resumable and age < self.grace:
                self.note(f"partial {what} ({st.st_size} bytes, resumable)")
                return
            if self.repair:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                if lock != path:  # unlink while locked, as the sink does
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(lock)
            why = "stale" if resumable else "abandoned"
            self.found(f"partial {what}: {why} ({st.st_size} bytes, "
                       f"{int(age)}s old)")


def check(root: str, exec_root: str, repair: bool = False,
          grace: float = GRACE_SECONDS) -> list[Finding]:
    """Check (and with ``repair`` fix) the root's state; see the module docstring."""
    svc = ImageService(root)
    containers = ContainerStore(root)
    try:
        c = _Checker(svc, containers, root, exec_root, repair, grace)
        gc_fd = os.open(os.path.join(svc.lock_dir, "gc"),
                        os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(gc_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                quiet = True
            except BlockingIOError:
                quiet = False
            if not quiet and repair:
                raise Conflict("system check --repair: an image is being written by "
                               "another process; try again when it finishes")
            c.images()
            c.tags()
            c.container_records()
            if quiet:
                c.snapshots()
                c.blobs()
            else:
                c.note("an image is being written: unused snapshots and blobs not checked")
            c.partials()
        finally:
            os.close(gc_fd)
        return c.out
    finally:
        containers.close()
        svc.close()


@record(frozen=True)
class PruneReport:
    containers: list[str]
    images: list[str]
    reclaimed: int
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)


def prune(root: str, exec_root: str, all_images: bool = False,
          volumes: bool = False) -> PruneReport:
    """``docker system prune``: stopped containers, then (``volumes``) unused anonymous
    volumes (Docker 23; ``all_images`` also every unused named one), then dangling
    (``all_images``: every unused) images; networks no container is on. Build cache: none
    to prune yet."""
    from dockyard.engine.images import Images
    from dockyard.engine.lifecycle import Engine

    engine = Engine(root, exec_root)
    removed: list[str] = []
    reclaimed = 0
    try:
        svc = ImageService(root)
        try:
            for rec in engine.containers.all():
                if rec.status.is_active:
                    continue
                try:
                    size = svc.snapshots.usage(rec.rootfs_key) if rec.rootfs_key else 0
                except NotFound:
                    size = 0
                try:
                    engine.remove(rec.id)
                except DockyardError:
                    continue  # started or removed meanwhile
                removed.append(rec.id)
                reclaimed += size
        finally:
            svc.close()
        from dockyard.engine.network import Networks

        nets = Networks(root)  # networks no container is on
        try:
            pruned_networks = nets.prune()
        finally:
            nets.close()
        pruned_volumes: list[str] = []
        if volumes:
            from dockyard.engine.volumes import prune_volumes

            pruned_volumes, freed_volumes = prune_volumes(root, all_images)
            reclaimed += freed_volumes
        images = Images(root, users=engine.containers.users_of_image)
        try:
            lines, freed = images.prune(all_images)
        finally:
            images.close()
    finally:
        engine.close()
    return PruneReport(removed, lines, reclaimed + freed, pruned_volumes, pruned_networks)


@record(frozen=True)
class DiskUsage:
    """``docker system df``'s rows: (total, active, size, reclaimable) per type."""

    images: tuple[int, int, int, int]
    containers: tuple[int, int, int, int]
    volumes: tuple[int, int, int, int] = (0, 0, 0, 0)


def disk_usage(root: str) -> DiskUsage:
    """Images: a layer shared by several images counts once; active = used by a
    container; reclaimable = what no container's image uses. Containers: their own
    (writable) snapshots; reclaimable = those of containers not running."""
    svc = ImageService(root)
    containers = ContainerStore(root)
    try:
        recs = containers.all()
        used_images = {c.image_id for c in recs}
        sizes: dict[str, int] = {}
        active_layers: set[str] = set()
        images = svc.store.all()
        for img in images:
            for chain in svc.store.chain_ids(img.id):
                with contextlib.suppress(NotFound):
                    sizes[chain] = svc.store.layer(chain).size
                if img.id in used_images:
                    active_layers.add(chain)
        total = sum(sizes.values())
        active = sum(1 for img in images if img.id in used_images)
        img_row = (len(images), active, total,
                   total - sum(sizes.get(ch, 0) for ch in active_layers))
        c_size = c_free = 0
        for c in recs:
            try:
                n = svc.snapshots.usage(c.rootfs_key) if c.rootfs_key else 0
            except NotFound:
                n = 0
            c_size += n
            c_free += 0 if c.status.is_active else n
        running = sum(1 for c in recs if c.status.is_active)
        from dockyard.engine.volumes import volume_usage

        return DiskUsage(img_row, (len(recs), running, c_size, c_free), volume_usage(root))
    finally:
        containers.close()
        svc.close()
