"""What ``pull`` will do: compressed blobs and the registry's manifest kept verbatim."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest

from dockyard.engine.images import Images
from dockyard.errors import InvalidArgument
from dockyard.image.service import ImageService, LayerBlob
from dockyard.oci import image_types as mt
from tests.layertools import entry, tar_bytes

pytestmark = [pytest.mark.integration]


def pulled(svc: ImageService, files: dict[str, bytes]) -> tuple[bytes, bytes, LayerBlob]:
    raw = tar_bytes(*[entry(k, data=v) for k, v in files.items()])
    gz = gzip.compress(raw)
    digest = svc.content.put(gz)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-05-01T00:00:00Z",
                      "rootfs": {"type": "layers",
                                 "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}
                     ).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
                      "config": {"mediaType": mt.DOCKER_CONFIG, "size": len(cfg),
                                 "digest": "sha256:" + hashlib.sha256(cfg).hexdigest()},
                      "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "size": len(gz),
                                  "digest": digest}]}, indent=3).encode()
    return cfg, man, LayerBlob(digest, mt.DOCKER_LAYER_GZIP, len(gz))


def test_create_from_compressed_blobs(tmp_path: Path) -> None:
    svc = ImageService(str(tmp_path / "a"))
    try:
        cfg, man, layer = pulled(svc, {"hello": b"world"})
        rec = svc.create(cfg, [layer], man, mt.DOCKER_MANIFEST)
        assert rec.manifest_digest == "sha256:" + hashlib.sha256(man).hexdigest()
        (chain,) = svc.store.chain_ids(rec.id)
        assert (Path(svc.snapshots.upper(chain)) / "hello").read_bytes() == b"world"
        with pytest.raises(InvalidArgument, match="manifest does not name"):
            svc.create(cfg, [LayerBlob("sha256:" + "0" * 64, mt.OCI_LAYER, 1)], man,
                       mt.DOCKER_MANIFEST)
        svc.store.tag("docker.io/library/pulled:1", rec.id)
        assert svc.resolve(f"pulled@{rec.manifest_digest}").id == rec.id
        svc.gc_blobs()
        assert svc.content.exists(layer.digest)
    finally:
        svc.close()
    a, b = Images(str(tmp_path / "a")), Images(str(tmp_path / "b"))
    try:
        buf = io.BytesIO()
        a.save(["pulled:1"], buf)
        buf.seek(0)
        assert b.load(buf) == ["Loaded image: pulled:1"]
        assert b.resolve("pulled:1").id == rec.id
    finally:
        a.close()
        b.close()
