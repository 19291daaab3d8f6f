from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry import Platform, host_platform
from dockyard.registry.protocol import Descriptor
from dockyard.registry.transfer import select_manifest


def test_platform_parse_and_match() -> None:
    p = Platform.parse("linux/arm64/v8")
    assert (p.os, p.architecture, p.variant) == ("linux", "arm64", "v8")
    assert p.matches({"os": "linux", "architecture": "arm64"})
    assert Platform.parse("linux/arm/v7").matches(
        {"os": "linux", "architecture": "arm", "variant": "v7"})
    assert not Platform.parse("linux/arm/v7").matches(
        {"os": "linux", "architecture": "arm", "variant": "v6"})
    assert not Platform().matches({"os": "windows", "architecture": "amd64"})
    assert str(p) == "linux/arm64/v8"
    with pytest.raises(InvalidArgument):
        Platform.parse("linux")


def test_host_platform_is_linux() -> None:
    assert host_platform().os == "linux"


def test_select_manifest() -> None:
    d = "sha256:" + "1" * 64
    e = "sha256:" + "2" * 64
    index = {"manifests": [
        {"digest": d, "size": 1, "mediaType": "m",
         "platform": {"os": "unknown", "architecture": "unknown"}},
        {"digest": e, "size": 2, "mediaType": "m",
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]}
    assert select_manifest(index, Platform()) == Descriptor("m", e, 2)
    with pytest.raises(NotFound, match="no matching manifest for linux/ppc64le"):
        select_manifest(index, Platform.parse("linux/ppc64le"))


def test_descriptor_from_json_rejects_garbage() -> None:
    with pytest.raises(InvalidArgument):
        Descriptor.from_json({"digest": 3})


def test_sniff_media_type() -> None:
    from dockyard.registry.client import _sniff_media_type

    assert _sniff_media_type(b'{"schemaVersion":2,"manifests":[]}') == \
        "application/vnd.oci.image.index.v1+json"
    assert _sniff_media_type(b'{"schemaVersion":2,"config":{},"layers":[]}') == \
        "application/vnd.oci.image.manifest.v1+json"
    assert _sniff_media_type(b'{"mediaType":"x"}') == "x"
    assert _sniff_media_type(b"[]") is None
    assert _sniff_media_type(b"nope") is None
