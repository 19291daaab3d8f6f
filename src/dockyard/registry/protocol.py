"""What the registry transfer writes into and reads from: small Protocols and descriptors.

The registry package writes only into content (STYLE.md): a puller is handed a
:class:`BlobSink` (the content store, or :class:`~dockyard.registry.ocidir.OciLayout` in
tests), a pusher a :class:`BlobSource`.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from dockyard.errors import InvalidArgument
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "MEDIA_DOCKER_CONFIG",
    "MEDIA_DOCKER_LAYER",
    "MEDIA_DOCKER_MANIFEST",
    "MEDIA_DOCKER_MANIFEST_LIST",
    "MEDIA_OCI_CONFIG",
    "MEDIA_OCI_INDEX",
    "MEDIA_OCI_LAYER",
    "MEDIA_OCI_MANIFEST",
    "BlobSink",
    "BlobSource",
    "Descriptor",
    "Platform",
    "host_platform",
]

MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

#: Index types first: what a puller sends in ``Accept``, in order of preference.
MANIFEST_MEDIA_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_MANIFEST_LIST,
                        MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_MANIFEST_LIST)

# os.uname().machine -> (GOARCH, variant)
_ARCHES = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None), "i386": ("386", None),
    "i686": ("386", None), "aarch64": ("arm64", None), "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


@record(frozen=True)
class Platform:
    """OCI image-index ``platform``: ``os``, ``architecture`` and optional ``variant``."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/arm64/v8`` or ``linux/amd64`` (Docker's ``--platform``)."""
        parts = text.lower().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidArgument(f"invalid platform {text!r}: want os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, other: dict[str, Any] | None) -> bool:
        """Does an index entry's ``platform`` object satisfy this platform?"""
        if not other:
            return False
        if other.get("os") != self.os or other.get("architecture") != self.architecture:
            return False
        if self.variant is None:
            return True
        variant = other.get("variant")
        if self.architecture == "arm64" and self.variant == "v8":
            return variant in (None, "v8")
        return bool(variant == self.variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    """This host's platform, from ``os.uname().machine`` (x86_64 -> linux/amd64)."""
    arch, variant = _ARCHES.get(os.uname().machine, ("amd64", None))
    return Platform("linux", arch, variant)


@record(frozen=True)
class Descriptor:
    """OCI content descriptor: what a manifest says about a blob it references."""

    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = field(default=None, compare=False)
    annotations: dict[str, str] | None = field(default=None, compare=False)

    @classmethod
    def from_json(cls, obj: Any) -> Descriptor:
        if not isinstance(obj, dict) or not isinstance(obj.get("digest"), str) \
                or not isinstance(obj.get("size"), int):
            raise InvalidArgument(f"invalid descriptor in manifest: {str(obj)[:120]}")
        return cls(str(obj.get("mediaType", "")), obj["digest"], obj["size"],
                   obj.get("platform"), obj.get("annotations"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                               "size": self.size}
        if self.platform:
            out["platform"] = self.platform
        if self.annotations:
            out["annotations"] = self.annotations
        return out


@runtime_checkable
class BlobSink(Protocol):
    """Where a pull writes content (containerd ``content.Ingester``).

    Lifecycle, for each blob (layers, configs, manifests, indexes alike):

    1. ``has_blob(digest)``: if true the blob is already committed and is skipped.
    2. ``blob_path_for_ingest(digest)``: a writable path, stable for this digest, in the
       sink's ingest area. It may already hold a partial download from an earlier attempt;
       the writer resumes from its size and verifies the whole file against ``digest``.
       The path is the caller's alone until commit/abort: a sink that cannot promise that
       (another process ingesting the same digest) raises ``Conflict`` here.
    3. ``commit(digest, path)``: the fully written, verified file becomes the blob
       (moved into place; the sink may verify again). After commit ``has_blob`` is true.
       Or ``abort(digest, path)``: the partial file is discarded.
    4. Once every blob an image references is committed: ``set_image(name, descriptor)``
       records the image ``name`` (a full reference) pointing at its root ``descriptor``.
    """

    def has_blob(self, digest: str) -> bool: ...

    def blob_path_for_ingest(self, digest: str) -> str: ...

    def commit(self, digest: str, path: str) -> None: ...

    def abort(self, digest: str, path: str) -> None: ...

    def set_image(self, name: str, descriptor: Descriptor) -> None: ...


@runtime_checkable
class BlobSource(Protocol):
    """Where a push reads content from (containerd ``content.Provider`` + image store).

    ``resolve(name)`` gives the root descriptor (a manifest or an index) of the image
    ``name``, raising ``NotFound``; ``blob_path(digest)`` gives a readable file holding the
    committed blob, raising ``NotFound``. Neither changes the source.
    """

    def resolve(self, name: str) -> Descriptor: ...

    def blob_path(self, digest: str) -> str: ...
