"""Containers end to end: an image's snapshot, Docker's spec, the runtime, the records.

The engine is the one place that knows images, the runtime and the container records
together. A container's rootfs is the image's overlay snapshot mounted under
``EXEC_ROOT/containers/<id>/rootfs``; its bundle's config.json comes from
:func:`dockyard.engine.spec.build_spec`; the OCI runtime runs it as a library (state
under ``EXEC_ROOT/runtime``). The mount lives only while the container runs.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from dockyard.engine.containers import (
    ContainerRecord,
    ContainerStore,
    Status,
    new_id,
    rfc3339_ns,
)
from dockyard.errors import Conflict, DockyardError, NotFound

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence

    from dockyard.engine.run_options import RunOptions
    from dockyard.image.service import ImageService


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

    def close(self) -> None:
        self.containers.close()

    def _images(self) -> ImageService:
        from dockyard.image.service import ImageService

        return ImageService(self.root)

    # --- run ---------------------------------------------------------------------
    def create(self, image: str, opts: RunOptions, name: str = "") -> ContainerRecord:
        """A container record with its bundle written and its rootfs prepared."""
        from dockyard.engine.spec import build_spec
        from dockyard.image.snapshots import mount_all, unmount
        from dockyard.oci import jsontext

        svc = self._images()
        try:
            try:
                rec = svc.resolve(image)
            except NotFound:
                raise NotFound(f"Unable to find image '{image}' locally") from None
            image_config = svc.config(rec.id).get("config") or {}
            cid = new_id()
            bundle = os.path.join(self.exec_root, "containers", cid)
            record = self.containers.create(ContainerRecord(
                id=cid, name=name, image=image, image_id=rec.id,
                config={"Cmd": opts.cmd, "Env": opts.env, "Image": image},
                bundle_dir=bundle, rootfs_key=cid))
            try:
                rootfs = os.path.join(bundle, "rootfs")
                os.makedirs(rootfs, mode=0o711)
                mounts = svc.prepare_rootfs(cid, rec.id)
                mount_all(mounts, rootfs)
                try:
                    # --- network: check the flags, record them, write the /etc files ---
                    from dataclasses import replace

                    from dockyard.engine.network import Networks

                    nets = Networks(self.root)
                    try:
                        prep = nets.prepare(record, opts.net, image_config, self.containers,
                                            opts.hostname)
                    finally:
                        nets.close()
                    opts = replace(opts, network_mode=prep.mode,
                                   hostname=prep.hostname or opts.hostname)
                    # --- end network ---
                    spec = build_spec(opts, image_config, rootfs, container_id=cid,
                                      hostname=opts.hostname, etc_files=prep.etc_files)
                except BaseException:
                    unmount(rootfs)
                    raise
                unmount(rootfs)  # mounted again at start, for as long as it runs
                with open(os.path.join(bundle, "config.json"), "w") as f:
                    f.write(jsontext.dumps(spec))
            except BaseException:
                self._discard(record, svc)
                raise
            return record
        finally:
            svc.close()

    def run_foreground(self, record: ContainerRecord) -> int:
        """Start the container with our stdio and wait for it; its exit status."""
        return self.run_attached(record)

    def run_attached(self, record: ContainerRecord,
                     on_started: Callable[[int], None] | None = None,
                     drain: Sequence[threading.Thread] = ()) -> int:
        """Start the container with our stdio and wait for it; its exit status.

        ``on_started(pid)`` runs once it is recorded running; the ``drain`` threads (the
        readers of its output) are joined before it is recorded exited. A ``rm -f`` may
        remove the record, runtime state and mount meanwhile: that is not an error here.
        """
        from dockyard.image.snapshots import mount_all
        from dockyard.runtime.create import CreateOptions, create
        from dockyard.runtime.delete import delete
        from dockyard.runtime.launch import InitFailed
        from dockyard.runtime.run import wait_init
        from dockyard.runtime.start import start

        rootfs = os.path.join(record.bundle_dir, "rootfs")
        svc = self._images()
        try:
            mount_all(svc.snapshots.mounts(record.rootfs_key), rootfs)
        finally:
            svc.close()
        network = None
        try:
            try:
                c = create(self.runtime_root, record.id, record.bundle_dir, CreateOptions())
                # --- network: wire the new namespace before the init runs ---
                from dockyard.engine.network_attach import attach

                network = attach(self.root, record, c.pid)
                # --- end network ---
                start(self.runtime_root, record.id)
            except InitFailed as e:
                text = str(e)
                status = 127 if ("not found" in text or "no such file" in text) else 126
                self.containers.update_state(record.id, status=Status.EXITED,
                                             exit_code=status, error=text,
                                             finished_at=rfc3339_ns())
                raise ExecFailure(text, status) from None
            self.containers.update_state(record.id, status=Status.RUNNING, pid=c.pid,
                                         started_at=rfc3339_ns())
            if on_started is not None:
                on_started(c.pid)
            code = wait_init(c.pid)
            for t in drain:
                t.join(5)
            try:
                self.containers.update_state(record.id, status=Status.EXITED, pid=0,
                                             exit_code=code, finished_at=rfc3339_ns())
            except NotFound:
                pass  # removed (rm -f) while it ran
            return code
        finally:
            try:
                delete(self.runtime_root, record.id, force=True)
            except DockyardError:
                pass
            if network is not None:  # network: veths, ports, DNS go with the container
                network.close()
            _unmount_if_mounted(rootfs)

    # --- remove ------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False) -> ContainerRecord:
        record = self.containers.get(ref)
        if record.status.is_active and not force:
            raise Conflict(f"You cannot remove a {record.status.value} container "
                           f"{record.id}. Stop the container before attempting removal "
                           "or force remove")
        from dockyard.runtime.delete import delete

        try:  # whatever the record says, the runtime may still hold it (a killed CLI)
            delete(self.runtime_root, record.id, force=True)
        except DockyardError:
            pass
        svc = self._images()
        try:
            self._discard(record, svc)
        finally:
            svc.close()
        return record

    def _discard(self, record: ContainerRecord, svc: ImageService) -> None:
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
        shutil.rmtree(record.bundle_dir, ignore_errors=True)
        self.containers.delete(record.id)


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
