import json

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import image_types as mt

D = "sha256:" + "b" * 64


def test_parse_manifest_and_index() -> None:
    m = mt.parse_manifest(json.dumps({
        "schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
        "config": {"mediaType": mt.DOCKER_CONFIG, "digest": D, "size": 3},
        "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D, "size": 9}]}).encode())
    assert m.media_type == mt.DOCKER_MANIFEST and m.config.size == 3
    assert m.layers[0].digest.hex == "b" * 64
    idx = mt.parse_index(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": D, "size": 1,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": mt.OCI_MANIFEST, "digest": D, "size": 2,
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode())
    assert [d.size for d in idx.for_platform(mt.host_platform("x86_64"))] == [2]
    assert [d.size for d in idx.for_platform(mt.host_platform("aarch64"))] == [1]


@pytest.mark.parametrize("doc", [
    b"not json", b"[]", b'{"schemaVersion": 1}',
    json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode(),
    json.dumps({"schemaVersion": 2, "layers": [],
                "config": {"mediaType": "x", "digest": "sha256:1", "size": 1}}).encode(),
    json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "layers": []}).encode(),
])
def test_bad_manifests(doc: bytes) -> None:
    with pytest.raises(InvalidArgument):
        mt.parse_manifest(doc)


def test_parse_platform() -> None:
    assert str(mt.parse_platform("linux/amd64")) == "linux/amd64"
    assert str(mt.parse_platform("linux/arm64")) == "linux/arm64/v8"  # containerd normalises
    assert str(mt.parse_platform("aarch64")) == "linux/arm64/v8"
    assert str(mt.parse_platform("linux/arm/v7")) == "linux/arm/v7"
    for bad in ("", "a/b/c/d", "linux/"):
        with pytest.raises(InvalidArgument):
            mt.parse_platform(bad)
