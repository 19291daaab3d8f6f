"""Volumes for the engine: the ``volume`` verbs, and a container's mounts resolved at create.

A container's mounts are resolved once, when it is created, as dockerd's
``registerMountPoints`` and ``createContainerOSSpecificSettings`` do: ``--volumes-from`` first,
then ``-v`` binds and volumes, then ``--mount``s (a later one replaces an inherited one at the
same destination; two of the user's own at one destination is an error), then anonymous
volumes for ``-v /path`` and the image's ``VOLUME``s not already mounted. New named volumes are
created; an empty volume is seeded with the image's content at its mount point (unless
``nocopy``). The result is stored in the container record:
``host_config["DockyardMountPoints"]`` holds Docker's ``.Mounts`` entries (``Type``, ``Name``,
``Source``, ``Destination``, ``Driver``, ``Mode``, ``RW``, ``Propagation``), beside Docker's own
``Binds``, ``Mounts``, ``Tmpfs`` and ``VolumesFrom`` keys. Who uses a volume is read from the
records; a volume with driver options is mounted while a container using it runs.
"""

from __future__ import annotations

import contextlib
import os

from dockyard.engine.mount_specs import (
    MountSpec,
    parse_mount,
    parse_volume,
    parse_volumes_from,
    spec_error,
    tmpfs_data,
)
from dockyard.engine.run_options import BindMount, RunOptions
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.record import field, record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    import builtins
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from typing import Any

    from dockyard.engine.containers import ContainerRecord, ContainerStore
    from dockyard.volume import LocalDriver, VolumeRecord, VolumeStore

__all__ = [
    "ContainerMounts",
    "Volumes",
    "activate_volumes",
    "deactivate_volumes",
    "mount_points",
    "resolve_mounts",
    "seed_volumes",
]

MOUNT_POINTS = "DockyardMountPoints"


def mount_points(record: ContainerRecord) -> list[dict[str, Any]]:
    """The container's Docker ``.Mounts`` entries."""
    return list(record.host_config.get(MOUNT_POINTS) or [])


def dir_size(path: str) -> int:
    """Bytes of the regular files under ``path``, each inode once (Docker's ``directory.Size``)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for top, _dirs, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(top, f))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def _truthy(value: str) -> bool:
    v = value.lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise InvalidArgument(f"Invalid filter 'dangling=[{value}]'")


class Volumes:
    """The local driver's volumes of one root: create, list, inspect, remove, prune."""

    def __init__(self, root: str, containers: ContainerStore | None = None) -> None:
        self.root = root
        self._driver: LocalDriver | None = None
        self._store: VolumeStore | None = None
        self._containers = containers
        self._own_containers = containers is None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if self._own_containers and self._containers is not None:
            self._containers.close()

    @property
    def driver(self) -> LocalDriver:
        """The local driver (the volume package is imported on first use: most containers
        have no volumes)."""
        if self._driver is None:
            from dockyard.volume import LocalDriver

            self._driver = LocalDriver(self.root)
        return self._driver

    @property
    def store(self) -> VolumeStore:
        """The volume records (opened on first use: most containers have no volumes)."""
        if self._store is None:
            from dockyard.volume import VolumeStore

            self._store = VolumeStore(self.root)
        return self._store

    @property
    def containers(self) -> ContainerStore:
        if self._containers is None:
            from dockyard.engine.containers import ContainerStore

            self._containers = ContainerStore(self.root)
        return self._containers

    # create -----------------------------------------------------------------
    def create(self, name: str = "", driver: str = "local",
               labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None,
               anonymous: bool = False) -> tuple[VolumeRecord, bool]:
        """The volume ``name`` (a generated one if empty), created unless it exists; whether
        it was created. An existing one is returned as it is, as Docker does."""
        if driver != "local":
            raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin '
                           f'"{driver}" not found')
        from dockyard.volume import (
            VolumeRecord,
            anonymous_name,
            parse_driver_options,
            validate_name,
        )

        name = validate_name(name) if name else anonymous_name()
        opts = parse_driver_options(name, options or {})
        with self.store.tx() as c:
            found = self.store.find(c, name)
            if found is not None:
                return found, False
            rec = VolumeRecord(name=name, driver=driver, labels=dict(labels or {}),
                               options=opts, anonymous=anonymous)
            self.driver.create(name)
            self.store.insert(c, rec)
        _vol_event(self.root, "create", name)
        return rec, True

    # read -------------------------------------------------------------------
    def get(self, name: str) -> VolumeRecord:
        return self.store.get(name)

    def inspect(self, name: str) -> dict[str, Any]:
        """``docker volume inspect``: Docker's keys, in Docker's order."""
        rec = self.get(name)
        return {
            "CreatedAt": rec.created_at, "Driver": rec.driver, "Labels": rec.labels or None,
            "Mountpoint": self.driver.path(rec.name), "Name": rec.name,
            "Options": rec.options or None, "Scope": "local",
        }

    def users(self) -> dict[str, list[str]]:
        """Volume name -> IDs of the containers (any state) that mount it."""
        out: dict[str, list[str]] = {}
        for c in reversed(self.containers.all()):
            for mp in mount_points(c):
                if mp.get("Type") == "volume" and c.id not in out.setdefault(mp["Name"], []):
                    out[mp["Name"]].append(c.id)
        return out

    def list(self, filters: Iterable[str] = ()) -> list[VolumeRecord]:
        """``docker volume ls --filter``: ``dangling=``, ``name=``, ``label=K[=V]``,
        ``driver=``; values of one key are alternatives, keys must all match."""
        want: dict[str, list[str]] = {}
        for f in filters:
            key, sep, value = f.partition("=")
            if not sep or key not in ("dangling", "name", "label", "driver"):
                raise InvalidArgument(f"Invalid filter '{key}'")
            if key == "dangling":
                _truthy(value)  # a bad value is an error even with no volume to test
            want.setdefault(key, []).append(value)
        users = self.users() if "dangling" in want else {}
        out = []
        for rec in self.store.all():
            if "dangling" in want and not any(
                    _truthy(v) == (rec.name not in users) for v in want["dangling"]):
                continue
            if "name" in want and not any(v in rec.name for v in want["name"]):
                continue
            if "driver" in want and rec.driver not in want["driver"]:
                continue
            if "label" in want and not all(_label_matches(rec.labels, v)
                                           for v in want["label"]):
                continue
            out.append(rec)
        return out

    def size(self, name: str) -> int:
        return dir_size(self.driver.path(name))

    # remove -----------------------------------------------------------------
    def remove(self, name: str, force: bool = False) -> None:
        """``docker volume rm [-f]``: a volume some container uses is refused unless
        ``force``; ``force`` also ignores a missing one."""
        users = self.users().get(name, [])
        with self.store.tx() as c:
            if self.store.find(c, name) is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            if users and not force:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self.driver.remove(name)
            self.store.delete(c, name)
        _vol_event(self.root, "destroy", name)

    def prune(self, all_volumes: bool = False,
              filters: Iterable[str] = ()) -> tuple[builtins.list[str], int]:
        """Remove unused volumes: anonymous ones only unless ``all_volumes`` (Docker 23's
        ``volume prune [-a]``). Returns the names removed and the bytes reclaimed."""
        label_filters = []
        for f in filters:
            key, _, value = f.partition("=")
            if key not in ("label", "label!"):
                raise InvalidArgument(f"Invalid filter '{key}'")
            label_filters.append((key == "label", value))
        users = self.users()
        removed: builtins.list[str] = []
        reclaimed = 0
        for rec in self.store.all():
            if rec.name in users or not (all_volumes or rec.anonymous):
                continue
            if not all(_label_matches(rec.labels, v) == pos for pos, v in label_filters):
                continue
            size = self.size(rec.name)
            try:
                self.remove(rec.name)
            except (Conflict, NotFound):
                continue  # taken or removed meanwhile
            removed.append(rec.name)
            reclaimed += size
        return removed, reclaimed


def _vol_event(root: str, action: str, name: str, **extra: str) -> None:
    from dockyard.engine import events

    events.record(root, "volume", action, name, {**extra, "driver": "local"})


def _label_matches(labels: Mapping[str, str], spec: str) -> bool:
    k, sep, v = spec.partition("=")
    return k in labels and (not sep or labels[k] == v)


# --- a container's mounts ----------------------------------------------------------

@record
class ContainerMounts:
    """What :func:`resolve_mounts` decided for one container."""

    points: list[dict[str, Any]] = field(default_factory=list)
    binds: list[BindMount] = field(default_factory=list)
    #: ``--mount type=tmpfs`` destinations -> mount data
    tmpfs: dict[str, str] = field(default_factory=dict)
    #: (destination, volume directory) to seed from the image when empty
    seed: list[tuple[str, str]] = field(default_factory=list)
    #: volumes made for this container (removed again if the create fails)
    created: list[str] = field(default_factory=list)
    host_config: dict[str, Any] = field(default_factory=dict)
    config_volumes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def spec_options(self, opts: RunOptions) -> RunOptions:
        """``opts`` with the ``--mount`` tmpfs mounts beside ``--tmpfs``'s."""
        return replace(opts, tmpfs={**opts.tmpfs, **self.tmpfs}) if self.tmpfs else opts


def _point(kind: str, source: str, dest: str, rw: bool, *, name: str = "",
           mode: str = "", propagation: str = "") -> dict[str, Any]:
    p: dict[str, Any] = {"Type": kind}
    if kind == "volume":
        p["Name"] = name
    p.update({"Source": source, "Destination": dest})
    if kind == "volume":
        p["Driver"] = "local"
    p.update({"Mode": mode, "RW": rw, "Propagation": propagation})
    return p


def resolve_mounts(vols: Volumes, opts: RunOptions, image_config: Mapping[str, Any],
                   volumes: Sequence[str] = (), mounts: Sequence[str] = (),
                   volumes_from: Sequence[str] = ()) -> ContainerMounts:
    """Resolve the mount flags of a new container (see the module's docstring); creates the
    volumes it needs. On an error, volumes made here are removed again."""
    out = ContainerMounts()
    try:
        _resolve(vols, out, opts, image_config, volumes, mounts, volumes_from)
    except BaseException:
        discard_created(vols, out)
        raise
    out.points.sort(key=lambda p: p["Destination"])
    return out


def discard_created(vols: Volumes, out: ContainerMounts) -> None:
    for name in out.created:
        with contextlib.suppress(DockyardError):
            vols.remove(name, force=True)


def _resolve(vols: Volumes, out: ContainerMounts, opts: RunOptions,
             image_config: Mapping[str, Any], volumes: Sequence[str], mounts: Sequence[str],
             volumes_from: Sequence[str]) -> None:
    by_dest: dict[str, dict[str, Any]] = {}
    copy_ok: dict[str, bool] = {}  # volumes to seed from the image (moby's CopyData)
    tmpfs_by_dest: dict[str, str] = {}
    # 1. --volumes-from: the other container's mount points, with its or the given RW.
    for raw in volumes_from:
        ref, readonly = parse_volumes_from(raw)
        other = vols.containers.get(ref)
        for mp in mount_points(other):
            # as moby copies them: no Mode, and read-write only if both say so
            mp = {**mp, "Mode": "", "RW": bool(mp["RW"]) and not readonly}
            by_dest[mp["Destination"]] = mp
            if mp["Type"] == "tmpfs":
                tmpfs_by_dest[mp["Destination"]] = _inherited_tmpfs(other, mp)
    # 2. -v with a source, then --mount; anonymous -v go to Config.Volumes.
    own: set[str] = set(os.path.normpath(d) for d in opts.tmpfs)
    anonymous: list[str] = []
    binds: list[str] = []
    specs: list[MountSpec] = []
    for raw in volumes:
        spec = parse_volume(raw)
        if spec.type == "volume" and not spec.source:
            anonymous.append(spec.target)
            out.config_volumes[spec.target] = {}
            continue
        binds.append(raw)
        specs.append(spec)
    specs.extend(parse_mount(raw) for raw in mounts)
    for spec in specs:
        if spec.target in own:
            raise InvalidArgument(f"Duplicate mount point: {spec.target}")
        own.add(spec.target)
        if spec.type == "tmpfs":
            tmpfs_by_dest[spec.target] = tmpfs_data(spec)
            by_dest[spec.target] = _point("tmpfs", "", spec.target, not spec.readonly)
            continue
        if spec.type == "bind":
            if not os.path.exists(spec.source):
                if not spec.create_source:
                    raise spec_error("bind", f"bind source path does not exist: {spec.source}")
                os.makedirs(spec.source, 0o755, exist_ok=True)
            by_dest[spec.target] = _point("bind", spec.source, spec.target, not spec.readonly,
                                          mode=spec.mode, propagation=spec.propagation)
            continue
        rec, made = vols.create(spec.source, labels=spec.volume_labels,
                                options=spec.volume_options, anonymous=not spec.source)
        if made:
            out.created.append(rec.name)
        mode = spec.mode or "z"  # moby's setBindModeIfNull for the local driver
        by_dest[spec.target] = _point("volume", vols.driver.path(rec.name), spec.target,
                                      not spec.readonly, name=rec.name, mode=mode)
        copy_ok[spec.target] = not spec.nocopy
    # 3. anonymous volumes: -v /path and the image's VOLUMEs not mounted otherwise.
    image_volumes = [os.path.normpath(d) for d in (image_config.get("Volumes") or {})]
    for dest in [*anonymous, *image_volumes]:
        # a relative one stays so in .Mounts (as Docker shows it), under / in the container
        dest = os.path.normpath(dest)
        if dest in by_dest or dest in own or "/" + dest in by_dest or "/" + dest in own:
            continue
        rec, _ = vols.create(anonymous=True)
        out.created.append(rec.name)
        by_dest[dest] = _point("volume", vols.driver.path(rec.name), dest, True,
                               name=rec.name)
        copy_ok[dest] = True
    for dest, mp in sorted(by_dest.items()):
        out.points.append(mp)
        if mp["Type"] == "tmpfs":
            out.tmpfs[dest] = tmpfs_by_dest.get(dest, "")
            continue
        kind_volume = mp["Type"] == "volume"
        if not kind_volume:
            check_propagation(mp["Source"], mp["Propagation"])
        out.binds.append(BindMount(mp["Source"], os.path.join("/", dest), readonly=not mp["RW"],
                                   propagation="" if kind_volume else mp["Propagation"]))
        if kind_volume and copy_ok.get(dest, False):  # not for --volumes-from's
            out.seed.append((dest, mp["Source"]))
    hc: dict[str, Any] = {"Binds": binds or None, "VolumesFrom": list(volumes_from) or None}
    api = [s.api for s in specs if s.api is not None]
    if api:
        hc["Mounts"] = api
    if opts.tmpfs:
        hc["Tmpfs"] = dict(opts.tmpfs)
    hc[MOUNT_POINTS] = out.points
    out.host_config = hc


def _inherited_tmpfs(other: ContainerRecord, mp: Mapping[str, Any]) -> str:
    """The mount data of a ``--mount type=tmpfs`` of ``other`` (``--volumes-from``)."""
    dest = mp["Destination"]
    api: dict[str, Any] = next((m for m in other.host_config.get("Mounts") or []
                if m.get("Type") == "tmpfs" and os.path.normpath(m.get("Target", "")) == dest),
               {})
    t = api.get("TmpfsOptions") or {}
    return tmpfs_data(MountSpec(type="tmpfs", target=dest, readonly=not mp["RW"],
                                tmpfs_size=int(t.get("SizeBytes", 0)), tmpfs_mode=t.get("Mode")))


def _source_mount(path: str) -> tuple[str, list[str]]:
    """The mount point holding ``path`` and its mountinfo optional fields (``shared:N``,
    ``master:N``): the longest mount point that is a prefix of its real path."""
    path = os.path.realpath(path)
    best, fields = "/", []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head = line.split(" - ", 1)[0].split(" ")
            point = head[4].replace("\\040", " ").replace("\\134", "\\")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, fields = point, head[6:]
    return best, fields


def check_propagation(source: str, propagation: str) -> None:
    """moby ``ensureShared``/``ensureSharedOrSlave``: a ``shared`` bind needs a shared source
    mount, a ``slave`` one a shared or slave source mount."""
    if propagation not in ("shared", "rshared", "slave", "rslave"):
        return
    point, fields = _source_mount(source)
    shared = any(f.startswith("shared:") for f in fields)
    slave = any(f.startswith("master:") for f in fields)
    if propagation.endswith("shared") and not shared:
        raise InvalidArgument(f"path {source} is mounted on {point} but it is not a shared "
                              "mount")
    if propagation.endswith("slave") and not (shared or slave):
        raise InvalidArgument(f"path {source} is mounted on {point} but it is not a shared "
                              "or slave mount")


def seed_volumes(vols: Volumes, cm: ContainerMounts, rootfs: str) -> None:
    """Copy what the image has at each new volume's mount point into it, if it is empty
    (resolved inside the rootfs: a symlink in the image cannot point the copy at the host).
    A volume with driver options is mounted for the copy, as Docker's local driver does."""
    from dockyard.linux import fs
    from dockyard.volume import copy_tree, is_empty_dir

    by_path = {vols.driver.path(n): n for n in {p.get("Name", "") for p in cm.points} if n}
    rootfd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for dest, volume_dir in cm.seed:
            try:
                fd = fs.open_in_root(rootfd, dest, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                continue  # nothing (or no directory) there in the image
            try:
                name = by_path.get(volume_dir, "")
                with _volume_lock(volume_dir), _mounted_for(vols, name, "seed-" + name):
                    if is_empty_dir(volume_dir):
                        copy_tree(fs.fd_path(fd), volume_dir)
            finally:
                os.close(fd)
    finally:
        os.close(rootfd)


@contextlib.contextmanager
def _volume_lock(volume_dir: str) -> Iterator[None]:
    """Serialise the seeding of one volume: two containers created at once copy once."""
    import fcntl

    fd = os.open(os.path.dirname(volume_dir), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _mounted_for(vols: Volumes, name: str, holder: str) -> Any:
    if not name:
        yield
        return
    activate_volumes(vols, holder, [name])
    try:
        yield
    finally:
        deactivate_volumes(vols, holder, [name])


def _driver_mounted(vols: Volumes, names: Iterable[str]) -> list[VolumeRecord]:
    out = []
    for n in names:
        try:
            rec = vols.get(n)
        except NotFound:
            continue
        if vols.driver.needs_mount(rec.options):
            out.append(rec)
    return out


def volume_names(record: ContainerRecord) -> list[str]:
    return [p["Name"] for p in mount_points(record) if p.get("Type") == "volume"]


def activate_volumes(vols: Volumes, holder: str, names: Iterable[str]) -> None:
    """Before a container starts: mount the volumes with driver options it uses (the first
    user mounts them; ``holder`` is its ID)."""
    done: list[str] = []
    try:
        for rec in _driver_mounted(vols, names):
            with vols.store.tx() as c:
                if vols.store.activate(c, rec.name, holder):
                    try:
                        vols.driver.mount(rec.name, rec.options)
                    except OSError as e:
                        raise InvalidArgument(
                            f"error while mounting volume '{vols.driver.path(rec.name)}': "
                            f"failed to mount local volume: {e}") from e
            done.append(rec.name)
    except BaseException:
        deactivate_volumes(vols, holder, done)
        raise


def deactivate_volumes(vols: Volumes, holder: str, names: Iterable[str]) -> None:
    """After a container stopped: the last user of a mounted volume unmounts it. Holders
    whose container is no longer running (a killed monitor never said so) are forgotten."""
    recs = _driver_mounted(vols, names)
    if not recs:
        return
    running = {c.id for c in vols.containers.all() if c.status.is_active and c.id != holder}
    for rec in recs:
        with vols.store.tx() as c:
            stale = [h for h in vols.store.holders(c, rec.name)
                     if h != holder and h not in running and not h.startswith("seed-")]
            for h in stale:
                vols.store.deactivate(c, rec.name, h)
            if vols.store.deactivate(c, rec.name, holder):
                vols.driver.unmount(rec.name)


def remove_anonymous(vols: Volumes, record: ContainerRecord) -> None:
    """``rm -v`` / ``run --rm``: remove the container's anonymous volumes that no other
    container uses (Docker's ``removeMountPoints``; named volumes stay)."""
    names = volume_names(record)
    users = vols.users() if names else {}
    for name in names:
        try:
            rec = vols.get(name)
        except NotFound:
            continue
        if rec.anonymous and not [u for u in users.get(name, []) if u != record.id]:
            with contextlib.suppress(DockyardError):
                vols.remove(name, force=True)


def volume_usage(root: str) -> tuple[int, int, int, int]:
    """``system df``'s Local Volumes row: (total, in use, size, size of the unused)."""
    vols = Volumes(root)
    try:
        users = vols.users()
        total = active = size = free = 0
        for rec in vols.store.all():
            n = vols.size(rec.name)
            total += 1
            size += n
            if rec.name in users:
                active += 1
            else:
                free += n
        return total, active, size, free
    finally:
        vols.close()


def prune_volumes(root: str, all_volumes: bool = False) -> tuple[list[str], int]:
    """``system prune --volumes``: the unused anonymous (``all_volumes``: all) volumes."""
    vols = Volumes(root)
    try:
        return vols.prune(all_volumes)
    finally:
        vols.close()
