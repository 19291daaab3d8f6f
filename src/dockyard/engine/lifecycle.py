"""Containers end to end: an image's snapshot, Docker's spec, the runtime, the records.

The engine is the one place that knows images, the runtime and the container records
together. A container's rootfs is the image's overlay snapshot mounted under
``EXEC_ROOT/containers/<id>/rootfs``; its bundle's config.json comes from
:func:`dockyard.engine.spec.build_spec` (a copy is kept in ``ROOT/containers/<id>``, with
the json-file log, so the container starts again after a host restart emptied the exec
root); the OCI runtime runs it as a library (state under ``EXEC_ROOT/runtime``). The mount
lives only while the container runs.

Whoever runs a container (its monitor, or the CLI of a foreground ``run``) holds an
exclusive lock on ``<bundle>/monitor.lock`` for as long as it does: a second ``start``
finds it taken, and a record that says running while nobody holds it is stale (the
monitor was killed, the host restarted). The verbs that act on a running container
(stop, kill, pause, update, top...) live in :mod:`dockyard.engine.control`.
"""

from __future__ import annotations

import os

from dockyard.engine.containers import (
    ContainerRecord,
    ContainerStore,
    Status,
    new_id,
    rfc3339_ns,
)
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.linux.fs import remove_tree

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from dockyard.engine.network_attach import Attached
    from dockyard.engine.run_options import RunOptions
    from dockyard.engine.volumes import ContainerMounts, Volumes
    from dockyard.image.service import ImageService
    from dockyard.image.store import ImageRecord
    from dockyard.runtime.launch import Spawned

#: The static init bind-mounted at /sbin/docker-init for ``--init`` (Debian's ``tini``).
INIT_BINARY = "/usr/bin/tini-static"
PULL_POLICIES = ("always", "missing", "never")


class ExecFailure(DockyardError):
    """The container's command could not be run: Docker's exit status 126 or 127."""

    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.status = status


class Engine:
    def __init__(self, root: str, exec_root: str) -> None:
        self.root = root
        self.exec_root = exec_root
        self.runtime_root = os.path.join(exec_root, "runtime")
        self.containers = ContainerStore(root)
        #: network: what :func:`network_attach.attach` made for containers run here
        self._networks: dict[str, Attached] = {}

    def close(self) -> None:
        self.containers.close()

    def _images(self) -> ImageService:
        from dockyard.image.service import ImageService

        return ImageService(self.root)

    def state_dir(self, cid: str) -> str:
        """``ROOT/containers/<id>``: what outlives a host restart (log, spec copy)."""
        return os.path.join(self.root, "containers", cid)

    # --- create ------------------------------------------------------------------
    def _resolve_image(self, svc: ImageService, image: str, pull: str,
                       platform: str | None) -> ImageRecord:
        if pull not in PULL_POLICIES:
            raise InvalidArgument(f'invalid pull option: \'{pull}\': must be one of '
                                  '"always", "missing" or "never"')
        if pull == "always":
            self._pull(svc, image, platform)
        try:
            rec = svc.resolve(image)
        except NotFound:
            if pull == "never":
                raise NotFound(f"No such image: {image}") from None
            if pull == "missing" and _has_registry_host(image):
                self._pull(svc, image, platform)
                return svc.resolve(image)
            raise NotFound(f"Unable to find image '{image}' locally") from None
        if platform:
            want = platform.lower().split("/")
            have = [rec.os or "linux", rec.architecture] + ([rec.variant] if rec.variant
                                                            else [])
            if want != have[:len(want)]:
                raise NotFound(f"image with reference {image} was found but does not match "
                               f"the specified platform: wanted {platform}, actual: "
                               f"{'/'.join(have)}")
        return rec

    @staticmethod
    def _pull(svc: ImageService, image: str, platform: str | None) -> None:
        from dockyard.engine.distribution import pull_image

        pull_image(svc, image, platform=platform)

    def create(self, image: str, opts: RunOptions, name: str = "", *, detach: bool = True,
               client_env: Mapping[str, str] | None = None, pull: str = "missing",
               platform: str | None = None, keep_mounted: bool = False) -> ContainerRecord:
        """A container record with its bundle written and its rootfs prepared.
        ``keep_mounted``: leave the rootfs mounted for a start that follows at once
        (``run``); a ``create`` unmounts it (``start`` mounts it, ``rm`` unmounts it)."""
        from dockyard.engine.container_config import docker_config, host_config
        from dockyard.engine.logfile import parse_log_opts
        from dockyard.engine.spec import build_spec
        from dockyard.image.snapshots import mount_all, unmount
        from dockyard.oci import jsontext
        from dockyard.runtime.cgroups import prime_migration

        # The kernel's wait at a container's first cgroup move (see prime_migration) runs
        # while the container is made; a start right after it finds the fast path.
        prime_migration()
        parse_log_opts(opts.log_opts)
        init_path = None
        if opts.init:
            if not os.path.exists(INIT_BINARY):
                raise InvalidArgument(f"--init: {INIT_BINARY} is missing (Debian package "
                                      "tini)")
            init_path = INIT_BINARY
        svc = self._images()
        try:
            rec = self._resolve_image(svc, image, pull, platform)
            image_config = svc.config(rec.id).get("config") or {}
            cid = new_id()
            config = docker_config(opts, image, image_config, cid, detach=detach,
                                   client_env=client_env)
            hostcfg = host_config(opts)
            bundle = os.path.join(self.exec_root, "containers", cid)
            state = self.state_dir(cid)
            # volumes: resolve -v/--mount/--volumes-from/VOLUME, creating volumes
            vm = self._resolve_volumes(opts, image_config)
            config["Volumes"] = {**(config.get("Volumes") or {}), **vm.config_volumes} or None
            hostcfg.update(vm.host_config)
            try:
                record = self.containers.create(ContainerRecord(
                    id=cid, name=name, image=image, image_id=rec.id, config=config,
                    host_config=hostcfg, bundle_dir=bundle, rootfs_key=cid,
                    log_path=os.path.join(state, f"{cid}-json.log")))
            except BaseException:
                self._discard_volumes(vm)
                raise
            try:
                os.makedirs(state, mode=0o700, exist_ok=True)
                rootfs = os.path.join(bundle, "rootfs")
                os.makedirs(rootfs, mode=0o711)
                mounts = svc.prepare_rootfs(cid, rec.id)
                mount_all(mounts, rootfs)
                try:
                    # --- network: check the flags, record them, write the /etc files ---
                    from dockyard.engine.network import Networks
                    from dockyard.record import replace

                    nets = Networks(self.root)
                    try:
                        prep = nets.prepare(record, opts.net, image_config, self.containers,
                                            opts.hostname, state)
                    finally:
                        nets.close()
                    opts = replace(opts, network_mode=prep.mode,
                                   hostname=prep.hostname or opts.hostname)
                    # --- end network ---
                    self._seed_volumes(vm, rootfs)
                    spec = build_spec(vm.spec_options(opts), image_config, rootfs,
                                      container_id=cid, binds=vm.binds,
                                      etc_files=prep.etc_files,
                                      hostname=opts.hostname, init_path=init_path,
                                      host_cpus=os.cpu_count(), client_env=client_env,
                                      host_capabilities=_bounding_set()
                                      if opts.privileged else None)
                except BaseException:
                    unmount(rootfs)
                    raise
                if not keep_mounted:
                    unmount(rootfs)  # mounted again at start, for as long as it runs
                text = jsontext.dumps(spec)
                for d in (bundle, state):
                    with open(os.path.join(d, "config.json"), "w") as f:
                        f.write(text)
            except BaseException:
                self._discard(record, svc, volumes=True)
                raise
            _event(self.root, record, "create")
            return record
        finally:
            svc.close()

    # --- run ---------------------------------------------------------------------
    def lock_monitor(self, record: ContainerRecord) -> int | None:
        """Take ``<bundle>/monitor.lock``: its fd (hold it while the container runs), or
        ``None`` when someone else runs the container already."""
        import fcntl

        os.makedirs(record.bundle_dir, mode=0o711, exist_ok=True)
        fd = os.open(os.path.join(record.bundle_dir, "monitor.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def monitor_alive(self, record: ContainerRecord) -> bool:
        """Whether a monitor (or a foreground CLI) holds the container."""
        from dockyard.engine.monitor import monitor_holds

        return monitor_holds(record)

    def refresh(self, record: ContainerRecord) -> ContainerRecord:
        """A record that says running while nobody runs it becomes exited (a killed
        monitor, a host restart): what ``ps -a`` and ``start`` must see."""
        if not record.status.is_active or self.monitor_alive(record):
            return record
        from dockyard.runtime.state import Container

        try:
            if Container.load(self.runtime_root, record.id).init_alive():
                return record  # its monitor died but the container still runs
        except (NotFound, Conflict, InvalidArgument):
            pass
        try:
            return self.containers.transition(
                record.id, [record.status], Status.EXITED, pid=0,
                exit_code=record.exit_code or 255 if record.status is not Status.RESTARTING
                else record.exit_code, finished_at=rfc3339_ns())
        except (Conflict, NotFound):
            return self.containers.get(record.id)

    def refresh_all(self) -> None:
        """:meth:`refresh` every record that says it runs."""
        for rec in self.containers.all():
            if rec.status.is_active:
                self.refresh(rec)

    def _bundle_ready(self, record: ContainerRecord) -> str:
        """The bundle's rootfs path, with the bundle rebuilt if the exec root was emptied."""
        rootfs = os.path.join(record.bundle_dir, "rootfs")
        os.makedirs(rootfs, mode=0o711, exist_ok=True)
        config = os.path.join(record.bundle_dir, "config.json")
        if not os.path.exists(config):
            import shutil

            shutil.copyfile(os.path.join(self.state_dir(record.id), "config.json"), config)
        return rootfs

    def launch(self, record: ContainerRecord, console_fd: int = -1,
               spawned: Spawned | None = None) -> int:
        """Mount the rootfs, create and start the container through the runtime and
        record it running; its init's pid. A command that cannot run: the record says
        exited with 126/127 and :class:`ExecFailure` is raised. ``console_fd``: the
        console socket of a ``Tty`` container (see :mod:`dockyard.engine.attach`).
        ``spawned``: the runtime's stage 1, forked early by the caller (see
        :mod:`dockyard.engine.early_start`), who aborts it if it goes unused."""
        from dockyard.image.snapshots import mount_all
        from dockyard.runtime.create import CreateOptions, create
        from dockyard.runtime.delete import delete
        from dockyard.runtime.launch import InitFailed
        from dockyard.runtime.start import start

        rootfs = self._bundle_ready(record)
        try:  # the runtime state of an earlier run whose monitor was killed
            delete(self.runtime_root, record.id, force=True)
        except (DockyardError, OSError):
            pass
        if not _mounted(rootfs):
            svc = self._images()
            try:
                mount_all(svc.snapshots.mounts(record.rootfs_key), rootfs)
            finally:
                svc.close()
        try:
            self._volumes_started(record, True)
            c = create(self.runtime_root, record.id, record.bundle_dir,
                       CreateOptions(console_fd=console_fd, spawned=spawned))
            # --- network: wire the new namespace before the init runs ---
            from dockyard.engine.network_attach import attach

            self._networks[record.id] = attach(self.root, record, c.pid)
            # --- end network ---
            start(self.runtime_root, record.id)
        except InitFailed as e:
            self.cleanup_run(record)
            text = str(e)
            status = 127 if ("not found" in text or "no such file" in text) else 126
            self.containers.update_state(record.id, status=Status.EXITED, pid=0,
                                         exit_code=status, error=text,
                                         finished_at=rfc3339_ns())
            raise ExecFailure(text, status) from None
        except BaseException:
            self.cleanup_run(record)
            raise
        self.containers.update_state(record.id, status=Status.RUNNING, pid=c.pid,
                                     started_at=rfc3339_ns(), exit_code=0, error="",
                                     oom_killed=False)
        _event(self.root, record, "start")
        return c.pid

    def oom_killed(self, record: ContainerRecord) -> bool:
        """Whether the kernel's OOM killer killed a process of the container's cgroup
        (memory.events ``oom_kill`` on v2, memory.oom_control on v1); before cleanup."""
        from dockyard.runtime.state import Container

        try:
            return Container.load(self.runtime_root, record.id).cgroup().oom_kill_count() > 0
        except (DockyardError, OSError, KeyError):
            return False

    def cleanup_run(self, record: ContainerRecord) -> None:
        """Delete the runtime state (killing what is left) and unmount the rootfs."""
        from dockyard.runtime.delete import delete

        try:
            delete(self.runtime_root, record.id, force=True)
        except (DockyardError, OSError):
            pass
        # --- network: its veths, published ports and DNS listener go with it ---
        from dockyard.engine.network_attach import Attached

        self._networks.pop(record.id, Attached(self.root, record.id)).close()
        # --- end network ---
        _unmount_if_mounted(os.path.join(record.bundle_dir, "rootfs"))
        self._volumes_started(record, False)

    def run_foreground(self, record: ContainerRecord, spawned: Spawned | None = None) -> int:
        """Start the container with our stdio and wait for it; its exit status.
        ``spawned``: as for :meth:`launch`."""
        return self.run_attached(record, spawned=spawned)

    def run_attached(self, record: ContainerRecord,
                     on_started: Callable[[int], None] | None = None,
                     drain: Sequence[threading.Thread] = (),
                     spawned: Spawned | None = None) -> int:
        """Start the container with our stdio and wait for it; its exit status.

        ``on_started(pid)`` runs once it is recorded running; the ``drain`` threads (the
        readers of its output) are joined before it is recorded exited. A ``rm -f`` may
        remove the record, runtime state and mount meanwhile: that is not an error here.
        """
        from dockyard.runtime.run import wait_init

        lock = self.lock_monitor(record)
        if lock is None:
            raise Conflict(f"container {record.id} is already running")
        try:
            pid = self.launch(record, spawned=spawned)
            try:
                if on_started is not None:
                    on_started(pid)
                code = wait_init(pid)
                for t in drain:
                    t.join(5)
                oom = self.oom_killed(record)
            finally:
                self.cleanup_run(record)
            _event(self.root, record, "die", exitCode=str(code))
            try:
                self.containers.update_state(record.id, status=Status.EXITED, pid=0,
                                             exit_code=code, oom_killed=oom,
                                             finished_at=rfc3339_ns())
            except NotFound:
                pass  # removed (rm -f) while it ran
            return code
        finally:
            os.close(lock)

    def start(self, ref: str, attach_fd: int = -1) -> tuple[ContainerRecord, dict[str, object]]:
        """``docker start`` (detached): a monitor runs the container. Returns the record
        and what the monitor reported (``started``, or ``status`` and ``error``).
        Starting a running container does nothing. The engine is closed here."""
        from dockyard.engine.monitor import spawn_monitor

        try:
            record = self.refresh(self.containers.get(ref))
            if record.status is Status.PAUSED:
                raise Conflict("cannot start a paused container, try unpause instead")
            if record.status in (Status.RUNNING, Status.RESTARTING):
                return record, {"started": True}
            if not record.status.can_start:
                raise Conflict(f"cannot start a container in the {record.status.value} "
                               "state")
            record = self.containers.update_state(record.id, manual_stop=False,
                                                  restart_count=0)
        except BaseException:
            self.close()
            raise
        return record, spawn_monitor(self, record, attach_fd=attach_fd)

    # --- remove ------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> ContainerRecord:
        """``rm [-f] [-v]``: ``volumes`` also removes its anonymous volumes."""
        record = self.refresh(self.containers.get(ref))
        if record.status.is_active and not force:
            raise Conflict(f"You cannot remove a {record.status.value} container "
                           f"{record.id}. Stop the container before attempting removal "
                           "or force remove")
        if record.status.is_active:  # its monitor must not restart it meanwhile
            try:
                self.containers.update_state(record.id, manual_stop=True)
            except NotFound:
                pass
        from dockyard.runtime.delete import delete

        try:  # whatever the record says, the runtime may still hold it (a killed CLI)
            delete(self.runtime_root, record.id, force=True)
        except DockyardError:
            pass
        svc = self._images()
        try:
            self._discard(record, svc, volumes)
        finally:
            svc.close()
        _event(self.root, record, "destroy")
        return record

    def _discard(self, record: ContainerRecord, svc: ImageService,
                 volumes: bool = False) -> None:
        from dockyard.engine.network import Networks

        nets = Networks(self.root)  # network: its addresses, ports and records go too
        try:
            nets.release(record.id)
        finally:
            nets.close()
        _unmount_if_mounted(os.path.join(record.bundle_dir, "rootfs"))
        try:
            svc.release_rootfs(record.rootfs_key)
        except NotFound:
            pass
        remove_tree(record.bundle_dir)
        remove_tree(self.state_dir(record.id))
        try:
            self.containers.delete(record.id)
        except NotFound:
            pass  # removed by a racing rm -f or --rm monitor
        if volumes:
            self._remove_anonymous_volumes(record)

    # --- volumes (engine/volumes.py) ---------------------------------------------
    def _volumes(self) -> Volumes:
        from dockyard.engine.volumes import Volumes

        return Volumes(self.root, self.containers)

    def _resolve_volumes(self, opts: RunOptions,
                         image_config: Mapping[str, Any]) -> ContainerMounts:
        from dockyard.engine.volumes import resolve_mounts

        vols = self._volumes()
        try:
            return resolve_mounts(vols, opts, image_config, opts.volumes, opts.mounts,
                                  opts.volumes_from)
        finally:
            vols.close()

    def _discard_volumes(self, vm: ContainerMounts) -> None:
        from dockyard.engine.volumes import discard_created

        vols = self._volumes()
        try:
            discard_created(vols, vm)
        finally:
            vols.close()

    def _seed_volumes(self, vm: ContainerMounts, rootfs: str) -> None:
        from dockyard.engine.volumes import seed_volumes

        if vm.seed:
            vols = self._volumes()
            try:
                seed_volumes(vols, vm, rootfs)
            finally:
                vols.close()

    def _volumes_started(self, record: ContainerRecord, started: bool) -> None:
        """Mount (before start) or unmount (after exit) its volumes with driver options."""
        from dockyard.engine.volumes import activate_volumes, deactivate_volumes, volume_names

        names = volume_names(record)
        if not names:
            return
        from dockyard.engine import events

        for name in names:
            events.record(self.root, "volume", "mount" if started else "unmount", name,
                          {"container": record.id, "driver": "local"})
        vols = self._volumes()
        try:
            if started:
                activate_volumes(vols, record.id, names)
            else:
                deactivate_volumes(vols, record.id, names)
        finally:
            vols.close()

    def _remove_anonymous_volumes(self, record: ContainerRecord) -> None:
        from dockyard.engine.volumes import remove_anonymous

        vols = self._volumes()
        try:
            remove_anonymous(vols, record)
        finally:
            vols.close()


def _event(root: str, record: ContainerRecord, action: str, **extra: str) -> None:
    from dockyard.engine import events

    events.container(root, record, action, **extra)


def _bounding_set() -> list[str]:
    """The capabilities of our bounding set (``CapBnd`` of /proc/self/status)."""
    from dockyard.runtime.capabilities import mask_to_names

    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return mask_to_names(int(line.split()[1], 16))
    return []


def _has_registry_host(image: str) -> bool:
    """Only references naming a registry (``HOST:PORT/...``) can be pulled here: there is
    no default registry to fall back on."""
    first = image.partition("/")[0]
    return "/" in image and ("." in first or ":" in first or first == "localhost")


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return f" {path} " in f.read()


def _unmount_if_mounted(path: str) -> None:
    """Unmount ``path`` if it is a mount point; a detached container's monitor and
    ``rm -f`` may race to do it, and losing that race is not an error."""
    from dockyard.image.snapshots import unmount

    if not _mounted(path):
        return
    try:
        unmount(path)
    except (OSError, DockyardError):
        if _mounted(path):
            raise
