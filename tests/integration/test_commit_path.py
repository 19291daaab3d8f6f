"""What ``commit`` and ``build`` will do: a container's changes become a new image."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.image.service import ImageService
from dockyard.image.snapshots import mount_all, unmount
from tests.layertools import entry, tar_bytes

pytestmark = [pytest.mark.integration]


@pytest.mark.parametrize("driver", ["overlayfs", "vfs"])
def test_container_changes_become_a_layer(tmp_path: Path, driver: str) -> None:
    import io

    svc = ImageService(str(tmp_path / "root"))
    if svc.snapshots.name != driver:
        svc.close()
        (tmp_path / "root/image/snapshotter").write_text(driver)
        svc = ImageService(str(tmp_path / "root"))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        with svc.writing():
            base_layer = svc.ingest_layer(io.BytesIO(tar_bytes(
                entry("etc/keep", data=b"k"), entry("etc/drop", data=b"d"))))
            cfg = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                   "rootfs": {"type": "layers", "diff_ids": [base_layer.digest]}}
            base = svc.create(json.dumps(cfg).encode(), [base_layer])
        mount_all(svc.prepare_rootfs("ctr", base.id), str(mnt))
        try:
            os.unlink(mnt / "etc/drop")
            (mnt / "new").write_text("fresh")
        finally:
            unmount(str(mnt))
        layer = svc.diff_layer("ctr")
        svc.release_rootfs("ctr")
        cfg["rootfs"]["diff_ids"] = [base_layer.digest, layer.digest]  # type: ignore[index]
        child = svc.create(json.dumps(cfg).encode(), [base_layer, layer], parent=base.id)
        assert svc.store.children(base.id) == [child.id]
        mount_all(svc.prepare_rootfs("ctr2", child.id), str(mnt))
        try:
            assert sorted(os.listdir(mnt / "etc")) == ["keep"]
            assert (mnt / "new").read_text() == "fresh"
        finally:
            unmount(str(mnt))
        svc.release_rootfs("ctr2")
    finally:
        svc.close()
