"""Media types of the OCI image spec and Docker's schema2, and the host platform.

OCI ``media-types.md``; Docker ``manifest-v2-2.md``. A manifest list / index lists
per-platform manifests; a manifest names one config and its ordered layers.
"""

from __future__ import annotations

import json
import os

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest, parse_digest
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_TYPES",
    "LAYER_TYPES",
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "Descriptor",
    "Index",
    "Manifest",
    "Platform",
    "host_platform",
    "parse_index",
    "parse_manifest",
    "parse_platform",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
LAYER_TYPES = frozenset({OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER,
                         DOCKER_LAYER_GZIP})

#: os.uname().machine -> (GOARCH, variant), as in containerd's platforms package.
_ARCH = {
    "x86_64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", ""), "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""), "riscv64": ("riscv64", ""),
}


@record(frozen=True)
class Platform:
    """OCI ``platform`` object: os, architecture, optional variant."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        tail = f"/{self.variant}" if self.variant else ""
        return f"{self.os}/{self.architecture}{tail}"


def parse_platform(text: str) -> Platform:
    """``linux/arm64/v8``, ``linux/amd64``, ``arm64`` (os defaults to linux)."""
    parts = text.strip().lower().split("/")
    if len(parts) == 1:
        parts = ["linux", *parts]
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}: want os/arch[/variant]")
    arch, variant = _ARCH.get(parts[1], (parts[1], ""))
    return Platform(parts[0], arch, parts[2] if len(parts) == 3 else variant)


def host_platform(machine: str | None = None) -> Platform:
    """The platform of this host, e.g. ``linux/amd64`` from ``x86_64``."""
    m = machine or os.uname().machine
    arch, variant = _ARCH.get(m, (m, ""))
    return Platform("linux", arch, variant)


@record(frozen=True)
class Descriptor:
    """image-spec ``descriptor.md``: mediaType, digest and size are REQUIRED."""

    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    @classmethod
    def from_json(cls, d: Any, where: str) -> Descriptor:
        if not isinstance(d, dict):
            raise InvalidArgument(f"{where}: descriptor must be an object")
        media, size = d.get("mediaType"), d.get("size")
        if not isinstance(media, str) or not media:
            raise InvalidArgument(f"{where}: mediaType missing")
        if not isinstance(size, int) or size < 0:
            raise InvalidArgument(f"{where}: size must be a non-negative integer")
        plat = d.get("platform")
        platform = None
        if isinstance(plat, dict):
            platform = Platform(str(plat.get("os", "")), str(plat.get("architecture", "")),
                                str(plat.get("variant", "")))
        ann = d.get("annotations") or {}
        return cls(media, parse_digest(str(d.get("digest", ""))), size,
                   {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {},
                   platform)


@record(frozen=True)
class Manifest:
    """image-spec ``manifest.md`` (and Docker schema2, its twin)."""

    media_type: str
    config: Descriptor
    layers: list[Descriptor]


@record(frozen=True)
class Index:
    """image-spec ``image-index.md`` (and Docker's manifest list)."""

    media_type: str
    manifests: list[Descriptor]

    def for_platform(self, want: Platform) -> list[Descriptor]:
        """Entries for ``want`` (os and architecture; a variant only when both have one),
        or without any platform."""
        return [d for d in self.manifests if d.platform is None or (
            (d.platform.os, d.platform.architecture) == (want.os, want.architecture)
            and (not d.platform.variant or not want.variant
                 or d.platform.variant == want.variant))]


def _load(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError as e:
        raise InvalidArgument(f"invalid {what}: {e}") from e
    if not isinstance(obj, dict) or obj.get("schemaVersion") != 2:
        raise InvalidArgument(f"invalid {what}: schemaVersion must be 2")
    return obj


def parse_manifest(data: bytes, media_type: str = "") -> Manifest:
    obj = _load(data, "manifest")
    media = str(obj.get("mediaType") or media_type or OCI_MANIFEST)
    if media not in MANIFEST_TYPES:
        raise InvalidArgument(f"invalid manifest: unsupported mediaType {media!r}")
    layers = obj.get("layers")
    if not isinstance(layers, list):
        raise InvalidArgument("invalid manifest: layers must be a list")
    return Manifest(media, Descriptor.from_json(obj.get("config"), "manifest config"),
                    [Descriptor.from_json(x, f"manifest layer {i}")
                     for i, x in enumerate(layers)])


def parse_index(data: bytes, media_type: str = "") -> Index:
    obj = _load(data, "index")
    media = str(obj.get("mediaType") or media_type or OCI_INDEX)
    if media not in INDEX_TYPES:
        raise InvalidArgument(f"invalid index: unsupported mediaType {media!r}")
    manifests = obj.get("manifests")
    if not isinstance(manifests, list):
        raise InvalidArgument("invalid index: manifests must be a list")
    return Index(media, [Descriptor.from_json(x, f"index entry {i}")
                         for i, x in enumerate(manifests)])
