"""Pull from and push to a registry, through the image store (Docker's ``distribution``).

The registry package moves blobs; this module connects it to :mod:`dockyard.image`:
a pull writes verified blobs into the content store (:class:`ContentStoreSink`), then
records the image with its pulled manifest kept verbatim, unpacking each layer once per
chain ID (:meth:`ImageService.create`); a push reads the stored manifest and its blobs
(:class:`StoreSource`). Output lines are Docker's, handed to ``out`` as they happen.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable

from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.service import ImageService, LayerBlob
from dockyard.oci import image_types as mt
from dockyard.oci.reference import Reference, parse_reference
from dockyard.record import record
from dockyard.registry.protocol import Descriptor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.image.store import ImageRecord

__all__ = ["LayerBytes", "Output", "StoreSource", "pull_image", "push_image"]

#: Receives one line of progress (no newline).
Output = Callable[[str], None]

#: ``on_bytes(short_id, done, total)``: bytes of a layer moved so far, from worker threads
#: (``short_id`` is the one the layer's lines start with). Never called for the config.
LayerBytes = Callable[[str, int, int], None]

_CONFIG_TYPES = (mt.OCI_CONFIG, mt.DOCKER_CONFIG)


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


_UNCOMPRESSED = {mt.OCI_LAYER: mt.OCI_LAYER_GZIP, mt.DOCKER_LAYER: mt.DOCKER_LAYER_GZIP}


class StoreSource:
    """:class:`~dockyard.registry.protocol.BlobSource` over the image store: an image's
    root descriptor is the manifest a push sends (every image has a stored manifest: a
    pulled one kept verbatim, or the OCI manifest made when it was imported, loaded or
    committed).

    As ``docker push`` does, layers stored uncompressed are sent gzip-compressed: the
    stored manifest is rewritten to name each layer's gzip copy (made once, kept in the
    content store: :meth:`ImageService.gzip_layer`), with the gzip media type *of the
    manifest's own schema* -- ``tar`` -> ``tar+gzip`` in an OCI manifest,
    ``rootfs.diff.tar`` -> ``rootfs.diff.tar.gzip`` in a Docker schema2 one. The schema is
    kept because the config descriptor (its media type, so the image ID) is kept; what
    this store makes is OCI, so imported, loaded and committed images go out as OCI.
    A manifest with no uncompressed layer (anything pulled from a registry) goes out
    verbatim, under its pulled digest. ``diff_ids`` maps each pushed layer digest to its
    DiffID, for Docker's progress lines.
    """

    def __init__(self, svc: ImageService) -> None:
        self.svc = svc
        self.diff_ids: dict[str, str] = {}

    def resolve(self, name: str) -> Descriptor:
        rec = self.svc.resolve(name)
        for lay in self.svc.layers(rec):
            self.diff_ids[lay.blob_digest] = lay.diff_id
        manifest = self.svc.manifest(rec)
        layers = manifest.get("layers") or []
        if not any(d.get("mediaType") in _UNCOMPRESSED for d in layers):
            size = self.svc.content.info(rec.manifest_digest).size
            return Descriptor(rec.manifest_media_type, rec.manifest_digest, size)
        out = []
        for d in layers:
            if d.get("mediaType") in _UNCOMPRESSED:
                gz = self.svc.gzip_layer(d["digest"])
                self.diff_ids[gz.digest] = self.diff_ids.get(d["digest"], d["digest"])
                d = {**d, "mediaType": _UNCOMPRESSED[d["mediaType"]], "digest": gz.digest,
                     "size": gz.size}
            out.append(d)
        data = json.dumps({**manifest, "layers": out}, separators=(",", ":")).encode()
        digest = self.svc.content.put(data)
        self.svc.store.add_push_blob(rec.manifest_digest, digest, len(data))  # referenced
        return Descriptor(rec.manifest_media_type, digest, len(data))

    def blob_path(self, digest: str) -> str:
        if not self.svc.content.exists(digest):
            raise NotFound(f"blob {digest} is not in the content store")
        return self.svc.content.path(digest)


@record(frozen=True)
class _Pulled:
    image: ImageRecord
    digest: str  # what the reference resolved to (an index, if there was one)
    fresh: bool  # something was downloaded, or the name now points elsewhere


def _layer_bytes(on_bytes: LayerBytes | None,
                 names: dict[str, str] | None = None,
                 ) -> Callable[[Descriptor, int], None] | None:
    """Byte progress per layer, keyed by the short id its lines use: the blob digest on
    pull, the DiffID on push (``names`` maps pushed blob digests to DiffIDs)."""
    if on_bytes is None:
        return None
    report = on_bytes
    rename = names if names is not None else {}

    def blob_bytes(d: Descriptor, done: int) -> None:
        if d.media_type not in _CONFIG_TYPES:
            report(_short(rename.get(d.digest, d.digest)), done, d.size)

    return blob_bytes


def _pull_one(svc: ImageService, ref: Reference, platform: str | None,
              out: Output, on_bytes: LayerBytes | None = None) -> _Pulled:
    """Pull ``ref`` (tag or digest) into the store and name it; lines go to ``out``."""
    from dockyard.registry import Platform, RegistryClient
    from dockyard.registry import parse_reference as reg_ref
    from dockyard.registry.storesink import ContentStoreSink
    from dockyard.registry.transfer import pull

    rref = reg_ref(str(ref))
    plat = Platform.parse(platform) if platform else None
    before = svc.store.by_manifest(ref.digest) if ref.digest else svc.store.lookup(str(ref))
    lock = threading.Lock()
    started: list[bool] = []

    def header() -> None:  # Docker prints it once the manifest is resolved
        if not started:
            started.append(True)
            out(f"{ref.digest or ref.tag}: Pulling from {ref.path}")

    def progress(event: str, d: Descriptor) -> None:
        status = {"exists": "Already exists", "fetched": "Pull complete"}.get(event)
        with lock:
            header()
            if status and d.media_type not in _CONFIG_TYPES:
                out(f"{_short(d.digest)}: {status}")

    sink = ContentStoreSink(svc.content, os.path.join(svc.root, "image", "pull-ingest"),
                            lambda _name, _desc: None)
    with RegistryClient.for_reference(rref) as client:
        try:
            result = pull(client, rref, sink, plat, progress=progress,
                          on_bytes=_layer_bytes(on_bytes))
        except NotFound as e:
            if str(e).startswith("no matching manifest"):
                raise
            what = f"{rref.api_host}/{rref.repository}{'@' if ref.digest else ':'}" \
                f"{rref.reference}"
            reason = str(e).removesuffix(f": {what}")
            raise NotFound(f"manifest for {ref.familiar()} not found: {reason}") from e
    header()
    config = svc.content.read(result.config.digest)
    try:
        cfg = json.loads(config)
    except ValueError as e:
        raise InvalidArgument(f"invalid image config {result.config.digest}: {e}") from e
    if not isinstance(cfg, dict):
        raise InvalidArgument(f"invalid image config {result.config.digest}: not an object")
    if plat is not None and not plat.matches(cfg):
        actual = "/".join(str(cfg[k]) for k in ("os", "architecture", "variant") if cfg.get(k))
        raise NotFound(f"image with reference {ref.familiar()} was found but does not "
                       f"match the specified platform: wanted {plat}, actual: {actual}")
    manifest = svc.content.read(result.manifest.digest)
    layers = [LayerBlob(d.digest, d.media_type, d.size) for d in result.layers]
    rec = svc.create(config, layers, manifest, result.manifest.media_type)
    if not ref.digest:
        svc.store.tag(str(ref), rec.id)
    svc.store.add_digest(f"{ref.name}@{result.digest}", rec.id)  # Docker's RepoDigests
    return _Pulled(rec, result.digest, bool(result.fetched) or before != rec.id)


def pull_image(svc: ImageService, name: str, *, all_tags: bool = False,
               platform: str | None = None, out: Output = lambda _line: None,
               on_bytes: LayerBytes | None = None) -> str:
    """``docker pull``: returns the full reference pulled (a repository with ``all_tags``)."""
    explicit = parse_reference(name, default_tag="")
    if all_tags and (explicit.tag or explicit.digest):
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    ref = parse_reference(name)
    refs = [ref]
    if not (all_tags or explicit.tag or explicit.digest):
        out(f"Using default tag: {ref.tag}")
    if all_tags:
        from dockyard.registry import RegistryClient
        from dockyard.registry import parse_reference as reg_ref

        with RegistryClient.for_reference(reg_ref(str(ref))) as client:
            refs = [ref.with_tag(t) for t in sorted(client.list_tags(ref.path))]
        if not refs:
            raise NotFound(f"no tags found for {ref.familiar_name}")
    fresh = False
    try:
        with svc.writing():  # no blob collection between the first blob and the record
            for r in refs:
                pulled = _pull_one(svc, r, platform, out, on_bytes)
                fresh = fresh or pulled.fresh
                out(f"Digest: {pulled.digest}")
    except BaseException:
        svc.gc_blobs()  # no blob of a failed pull stays unreferenced
        raise
    target = ref.familiar_name if all_tags else ref.familiar()
    full = ref.name if all_tags else str(ref)
    out(f"Status: Downloaded newer image for {target}" if fresh
        else f"Status: Image is up to date for {target}")
    return full


def push_image(svc: ImageService, name: str, out: Output = lambda _line: None,
               on_bytes: LayerBytes | None = None) -> None:
    """``docker push NAME[:TAG]``: without a tag, every tag of the repository."""
    from dockyard.registry import RegistryClient
    from dockyard.registry import parse_reference as reg_ref
    from dockyard.registry.transfer import push

    explicit = parse_reference(name, default_tag="")
    if explicit.digest:
        raise InvalidArgument("cannot push a digest reference")
    if explicit.tag:
        refs = [explicit]
    else:
        tags = sorted(t for t in svc.store.all_tags() if parse_reference(t).name == explicit.name)
        refs = [parse_reference(t) for t in tags]
    if not refs or svc.store.lookup(str(refs[0])) is None:
        raise NotFound(f"An image does not exist locally with the tag: {explicit.familiar_name}")
    shown = explicit.name if explicit.domain == "docker.io" else explicit.familiar_name
    out(f"The push refers to repository [{shown}]")
    source = StoreSource(svc)
    lock = threading.Lock()

    def progress(event: str, d: Descriptor) -> None:
        if d.media_type in _CONFIG_TYPES:
            return
        status = {"exists": "Layer already exists", "pushed": "Pushed",
                  "mounted": "Mounted"}.get(event)
        if status:  # Docker names a pushed layer by its DiffID
            with lock:
                out(f"{_short(source.diff_ids.get(d.digest, d.digest))}: {status}")

    with RegistryClient.for_reference(reg_ref(str(refs[0]))) as client:
        for ref in refs:
            # shared gc lock: the gzip copies and the manifest made for the push are
            # not collected by an rmi in another process while they are being sent
            with svc.writing():
                result = push(client, reg_ref(str(ref)), source, progress=progress,
                              on_bytes=_layer_bytes(on_bytes, source.diff_ids))
            image_id = svc.store.lookup(str(ref))
            if image_id is not None:
                svc.store.add_digest(f"{ref.name}@{result.digest}", image_id)
            out(f"{ref.tag}: digest: {result.digest} size: {result.size}")
