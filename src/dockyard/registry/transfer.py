"""Pull an image from a registry into a :class:`BlobSink`; push one from a :class:`BlobSource`.

Pull: resolve the reference to a manifest (choosing the platform's entry when it is an
index), download the config and layers not yet in the sink (three at once, each verified),
then commit the manifest (and index), and only then ``set_image``: a sink never names an
image whose content is incomplete. Push goes the other way: blobs first (skipping those
the registry has), the manifest last.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
from collections.abc import Callable, Iterable

from dockyard.errors import InvalidArgument, NotFound, Unsupported
from dockyard.record import record
from dockyard.registry._ref import Reference, parse_reference
from dockyard.registry.client import DigestMismatch, RegistryClient
from dockyard.registry.protocol import (
    INDEX_MEDIA_TYPES,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_MANIFEST,
    BlobSink,
    BlobSource,
    Descriptor,
    Platform,
    host_platform,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BlobBytes", "Progress", "PullResult", "PushResult", "pull", "push",
           "select_manifest"]

_IMAGE_MANIFESTS = (MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)


@record(frozen=True)
class PullResult:
    reference: str
    digest: str  # what the reference resolved to: the index if there was one
    manifest: Descriptor  # the platform's image manifest, recorded with set_image
    config: Descriptor
    layers: tuple[Descriptor, ...]
    fetched: tuple[str, ...]  # digests downloaded (those the sink had are not)


#: ``progress(event, descriptor)``, called from worker threads as blobs move. Pull events:
#: ``"exists"`` (already in the sink), ``"fetching"``, ``"fetched"`` (verified, committed).
#: Push events: ``"exists"`` (the registry has it), ``"pushing"``, ``"pushed"``, ``"mounted"``.
Progress = Callable[[str, Descriptor], None]

#: ``on_bytes(descriptor, done)``: bytes of a blob moved so far, called from the worker
#: thread moving it: with 0 right after its ``"fetching"``/``"pushing"`` event, then after
#: each block. Optional: without it nothing is counted.
BlobBytes = Callable[[Descriptor, int], None]


def _quiet(event: str, d: Descriptor) -> None:
    pass


@record(frozen=True)
class PushResult:
    reference: str
    digest: str
    size: int
    pushed: tuple[str, ...]  # blob digests uploaded or mounted (not those it had)


def _as_ref(ref: Reference | str) -> Reference:
    return ref if isinstance(ref, Reference) else parse_reference(ref)


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise InvalidArgument(f"invalid manifest JSON for {what}: {e}") from e
    if not isinstance(doc, dict):
        raise InvalidArgument(f"invalid manifest for {what}: not an object")
    return doc


def select_manifest(index: dict[str, Any], platform: Platform) -> Descriptor:
    """The first index entry for ``platform`` (image-spec ``image-index.md``)."""
    for entry in index.get("manifests") or []:
        if isinstance(entry, dict) and platform.matches(entry.get("platform")):
            return Descriptor.from_json(entry)
    raise NotFound(f"no matching manifest for {platform} in the manifest list entries")


def _image_parts(data: bytes, what: str) -> tuple[Descriptor, tuple[Descriptor, ...]]:
    doc = _json(data, what)
    layers = doc.get("layers")
    if "config" not in doc or not isinstance(layers, list):
        raise InvalidArgument(f"invalid image manifest for {what}: no config or layers")
    return Descriptor.from_json(doc["config"]), tuple(Descriptor.from_json(x) for x in layers)


def _run_all(jobs: Iterable[Callable[[], None]], max_workers: int) -> None:
    """Run ``jobs`` on a pool; on the first failure cancel what has not started, let the
    running ones finish, and raise that failure."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(job) for job in jobs]
        _done, pending = concurrent.futures.wait(
            futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        concurrent.futures.wait(futures)
    for f in futures:
        err = None if f.cancelled() else f.exception()
        if err is not None:
            raise err


def _bound(on_bytes: BlobBytes | None, d: Descriptor) -> Callable[[int], None] | None:
    return None if on_bytes is None else functools.partial(on_bytes, d)


def _commit_bytes(sink: BlobSink, digest: str, data: bytes) -> None:
    if sink.has_blob(digest):
        return
    path = sink.blob_path_for_ingest(digest)
    with open(path, "wb") as f:
        f.write(data)
    sink.commit(digest, path)


def pull(client: RegistryClient, ref: Reference | str, sink: BlobSink,
         platform: Platform | None = None, *, max_workers: int = 3,
         progress: Progress = _quiet, on_bytes: BlobBytes | None = None) -> PullResult:
    """Pull ``ref`` for ``platform`` (default: this host's) into ``sink``."""
    ref = _as_ref(ref)
    repo, what = ref.repository, str(ref)
    top = client.get_manifest(repo, ref.reference)
    index_data: bytes | None = None
    if top.media_type in INDEX_MEDIA_TYPES:
        entry = select_manifest(_json(top.data, what), platform or host_platform())
        index_data = top.data
        image = client.get_manifest(repo, entry.digest)
        plat = entry.platform
    else:
        image, plat = top, None
    if image.media_type not in _IMAGE_MANIFESTS:
        hint = " (Docker schema 1 is not supported)" if "v1+" in image.media_type else ""
        raise Unsupported(f"unsupported manifest type {image.media_type!r} for {what}{hint}")
    config, layers = _image_parts(image.data, what)
    wanted: dict[str, Descriptor] = {}
    for d in (config, *layers):
        if d.digest in wanted:
            continue
        if sink.has_blob(d.digest):
            progress("exists", d)
        else:
            wanted[d.digest] = d

    def fetch(d: Descriptor) -> None:
        progress("fetching", d)
        if on_bytes is not None:
            on_bytes(d, 0)
        path = sink.blob_path_for_ingest(d.digest)
        try:
            client.fetch_blob(repo, d.digest, path, d.size, _bound(on_bytes, d))
        except DigestMismatch:
            sink.abort(d.digest, path)
            raise
        # On Unavailable the partial file stays in the ingest area: a later pull resumes it.
        sink.commit(d.digest, path)
        progress("fetched", d)

    _run_all([functools.partial(fetch, d) for d in wanted.values()], max_workers)
    _commit_bytes(sink, image.digest, image.data)
    if index_data is not None:
        _commit_bytes(sink, top.digest, index_data)
    manifest = Descriptor(image.media_type, image.digest, len(image.data), plat)
    sink.set_image(what, manifest)
    return PullResult(what, top.digest, manifest, config, layers, tuple(wanted))


def push(client: RegistryClient, ref: Reference | str, source: BlobSource, *,
         name: str | None = None, max_workers: int = 3, chunk_size: int | None = None,
         mount_from: str | None = None, progress: Progress = _quiet,
         on_bytes: BlobBytes | None = None) -> PushResult:
    """Push the image ``name`` (default: ``str(ref)``) of ``source`` to ``ref``.

    Blobs the repository has are skipped; with ``mount_from`` (a repository on the same
    registry) the registry is asked to mount each missing blob from there before uploading.
    """
    ref = _as_ref(ref)
    root = source.resolve(str(ref) if name is None else name)
    pushed: list[str] = []

    def push_blob(d: Descriptor) -> None:
        if client.blob_exists(ref.repository, d.digest):
            progress("exists", d)
            return
        progress("pushing", d)
        if on_bytes is not None:
            on_bytes(d, 0)
        mounted = client.push_blob(ref.repository, d.digest, source.blob_path(d.digest),
                                   d.size, chunk_size=chunk_size, mount_from=mount_from,
                                   on_bytes=_bound(on_bytes, d))
        pushed.append(d.digest)
        progress("mounted" if mounted else "pushed", d)

    def push_manifest(d: Descriptor, reference: str) -> None:
        with open(source.blob_path(d.digest), "rb") as f:
            data = f.read()
        if d.media_type in INDEX_MEDIA_TYPES:
            for child in _json(data, str(ref)).get("manifests") or []:
                push_manifest(Descriptor.from_json(child), Descriptor.from_json(child).digest)
        elif d.media_type in _IMAGE_MANIFESTS:
            config, layers = _image_parts(data, str(ref))
            unique = {x.digest: x for x in (config, *layers)}
            _run_all([functools.partial(push_blob, x) for x in unique.values()], max_workers)
        else:
            raise Unsupported(f"cannot push manifest type {d.media_type!r} ({d.digest})")
        digest = client.put_manifest(ref.repository, reference, data, d.media_type)
        if digest != d.digest:
            raise DigestMismatch(f"manifest {d.digest} in the source hashes to {digest}")

    push_manifest(root, ref.digest or ref.tag or "latest")
    return PushResult(str(ref), root.digest, root.size, tuple(pushed))

