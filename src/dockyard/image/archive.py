"""``save``/``load``: Docker image archives, which are also OCI image layouts.

What ``save`` writes (the layout of Docker 25's ``docker save``, read by ``docker load``,
``skopeo copy docker-archive:`` and ``skopeo copy oci-archive:``)::

    oci-layout                {"imageLayoutVersion": "1.0.0"}      (image-spec layout.md)
    index.json                OCI index: one manifest per image and tag, annotated with
                              io.containerd.image.name and org.opencontainers.image.ref.name
    blobs/sha256/<hex>        configs, manifests, layers as stored (see below)
    manifest.json             [{"Config": "blobs/sha256/<hex>", "RepoTags": [...],
                                "Layers": ["blobs/sha256/<hex>", ...]}]   (docker)
    repositories              {"busybox": {"latest": "<top layer hex>"}}  (docker legacy)

``load`` reads that, older Docker archives (``<id>/layer.tar``) and plain OCI layout
archives (layers gzip, zstd or plain). Layers are written as stored: uncompressed for
imported and loaded images, compressed as pulled. A zstd layer, which Docker 20.10's
``docker load`` cannot read, is written a second time uncompressed (named by its DiffID)
for manifest.json; index.json's manifest keeps the pulled blob.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile

from dockyard.errors import InvalidArgument
from dockyard.image.unpack import decompressed
from dockyard.oci import image_types as mt
from dockyard.oci.reference import Reference, parse_reference
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, BinaryIO

    from dockyard.image.service import ImageService
    from dockyard.image.store import ImageRecord

__all__ = ["LoadedImage", "load_archive", "save_archive"]


@record(frozen=True)
class LoadedImage:
    image: ImageRecord
    tags: list[str]  # familiar names that now point at it
    replaced: list[tuple[str, str]]  # (familiar name, image ID it pointed at before)


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(data))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _select(svc: ImageService, names: list[str]) -> list[tuple[ImageRecord, list[Reference]]]:
    """The images and tags ``docker save names`` writes (moby image/tarexport/save.go,
    parseNames): ``repo:tag`` that tag; a bare ``repo`` every tag of that repository,
    whichever images they name; an ID or ID prefix the image without tags. An image
    named twice is written once, with the tags of both names."""
    chosen: dict[str, list[Reference]] = {}

    def add(image_id: str, refs: list[Reference]) -> None:
        have = chosen.setdefault(image_id, [])
        have.extend(r for r in refs if r not in have)

    for n in names:
        try:
            bare = parse_reference(n, default_tag="")
        except InvalidArgument:
            bare = None
        if bare is not None and not bare.tag and not bare.digest:
            in_repo = sorted((r, i) for r, i in svc.store.all_tags().items()
                             if parse_reference(r).name == bare.name)
            for r, image_id in in_repo:
                add(image_id, [parse_reference(r)])
            if in_repo:
                continue
        rec = svc.resolve(n)
        ref = None if bare is None else parse_reference(n)
        if ref is not None and svc.store.lookup(str(ref)) == rec.id:
            add(rec.id, [ref])  # saved by name: just that tag, as docker does
        elif n.removeprefix("sha256:") and rec.id.removeprefix("sha256:").startswith(
                n.removeprefix("sha256:")):
            add(rec.id, [])
        else:
            add(rec.id, [parse_reference(t) for t in svc.store.tags(rec.id)])
    return [(svc.store.get(i), refs) for i, refs in chosen.items()]


def _blob_path(digest: str) -> str:
    return f"blobs/sha256/{digest.partition(':')[2]}"


def save_archive(svc: ImageService, names: list[str], out: BinaryIO) -> None:
    """Write the images ``names`` (repositories, tags or IDs) to ``out`` as one archive."""
    images = _select(svc, names)
    written: set[str] = set()
    index: list[dict[str, Any]] = []
    manifest_json: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _add_bytes(tf, "oci-layout", _dumps({"imageLayoutVersion": "1.0.0"}))

        def blob(digest: str) -> str:
            path = _blob_path(digest)
            if digest not in written:
                written.add(digest)
                info = svc.content.info(digest)
                ti = tarfile.TarInfo(path)
                ti.size, ti.mode = info.size, 0o644
                with svc.content.open(digest) as f:
                    tf.addfile(ti, f)
            return path

        def docker_layer(desc: dict[str, Any], diff_id: str) -> str:
            """manifest.json's file for a layer. Compressed layers (pulled) are written as
            they are, and docker load, skopeo and our load detect gzip; docker 20.10 reads
            no zstd ("archive/tar: invalid tar header"), so such a layer is also written
            uncompressed, named by its DiffID, for manifest.json."""
            path = blob(desc["digest"])
            if desc.get("mediaType") != mt.OCI_LAYER_ZSTD:
                return path
            plain = _blob_path(diff_id)
            if diff_id not in written:
                written.add(diff_id)
                with svc.content.open(desc["digest"]) as f, tempfile.TemporaryFile() as tmp:
                    shutil.copyfileobj(decompressed(f), tmp, 1 << 20)
                    ti = tarfile.TarInfo(plain)
                    ti.size, ti.mode = tmp.tell(), 0o644
                    tmp.seek(0)
                    tf.addfile(ti, tmp)
            return plain

        for rec, refs in images:
            manifest = svc.manifest(rec)
            diff_ids = svc.config(rec.id)["rootfs"]["diff_ids"]
            layer_paths = [docker_layer(lay, d) for lay, d in
                           zip(manifest["layers"], diff_ids, strict=True)]
            config_path = blob(rec.id)
            blob(rec.manifest_digest)
            desc = {"mediaType": rec.manifest_media_type, "digest": rec.manifest_digest,
                    "size": svc.content.info(rec.manifest_digest).size}
            targets: list[Reference | None] = list(refs) or [None]
            for ref in targets:
                d: dict[str, Any] = dict(desc)
                if ref is not None:
                    d["annotations"] = {"io.containerd.image.name": str(ref),
                                        "org.opencontainers.image.ref.name": ref.tag}
                index.append(d)
            manifest_json.append({"Config": config_path,
                                  "RepoTags": [r.familiar() for r in refs] or None,
                                  "Layers": layer_paths})
            for r in refs:
                top = layer_paths[-1].rpartition("/")[2] if layer_paths else ""
                repositories.setdefault(r.familiar_name, {})[r.tag] = top
        _add_bytes(tf, "index.json", _dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                             "manifests": index}))
        _add_bytes(tf, "manifest.json", _dumps(manifest_json))
        if repositories:
            _add_bytes(tf, "repositories", _dumps(repositories))


def _member(tf: tarfile.TarFile, name: str) -> IO[bytes]:
    name = name.removeprefix("./")
    try:
        f = tf.extractfile(name)
    except KeyError:
        f = None
    if f is None:
        raise InvalidArgument(f"invalid archive: missing {name}")
    return f


def _json(tf: tarfile.TarFile, name: str) -> Any:
    try:
        return json.loads(_member(tf, name).read())
    except ValueError as e:
        raise InvalidArgument(f"invalid archive: {name}: {e}") from e


def load_archive(svc: ImageService, src: BinaryIO) -> list[LoadedImage]:
    """Load every image of a seekable archive ``src``; tag them as recorded."""
    try:
        tf = tarfile.open(fileobj=src, mode="r:*")  # noqa: SIM115
    except tarfile.TarError as e:
        raise InvalidArgument("invalid archive: not a tar archive") from e
    with tf, svc.writing():
        names = {n.removeprefix("./") for n in tf.getnames()}
        if "manifest.json" in names:
            return [_load_docker(svc, tf, e) for e in _json(tf, "manifest.json")]
        if "index.json" in names:
            return _load_oci(svc, tf)
        raise InvalidArgument("invalid archive: neither manifest.json nor index.json found")


def _tag_all(svc: ImageService, rec: ImageRecord, names: list[str]) -> LoadedImage:
    tags = []
    replaced = []
    for n in names:
        ref = parse_reference(n)
        old = svc.store.tag(str(ref), rec.id)
        if old:
            replaced.append((ref.familiar(), old))
        tags.append(ref.familiar())
    return LoadedImage(svc.store.get(rec.id), tags, replaced)


def _load_docker(svc: ImageService, tf: tarfile.TarFile, entry: dict[str, Any]
                 ) -> LoadedImage:
    try:
        config = _member(tf, entry["Config"]).read()
        layers = [svc.ingest_layer(_member(tf, p)) for p in entry["Layers"]]  # type: ignore[arg-type]
        tags = list(entry.get("RepoTags") or [])
    except (KeyError, TypeError) as e:
        raise InvalidArgument(f"invalid archive: manifest.json: {e}") from e
    return _tag_all(svc, svc.create(config, layers), tags)


def _load_oci(svc: ImageService, tf: tarfile.TarFile) -> list[LoadedImage]:
    out: list[LoadedImage] = []

    def blob(digest: str) -> bytes:
        return _member(tf, f"blobs/{digest.replace(':', '/')}").read()

    def visit(desc: mt.Descriptor, name: str) -> None:
        ann = desc.annotations
        name = ann.get("io.containerd.image.name") or name or \
            ann.get("org.opencontainers.image.ref.name", "")
        if desc.media_type in mt.INDEX_TYPES:
            index = mt.parse_index(blob(desc.digest), desc.media_type)
            for d in index.for_platform(mt.host_platform()):
                visit(d, name)
            return
        manifest = mt.parse_manifest(blob(desc.digest), desc.media_type)
        config = blob(manifest.config.digest)
        layers = [svc.ingest_layer(_member(tf, f"blobs/{lay.digest.replace(':', '/')}"))  # type: ignore[arg-type]
                  for lay in manifest.layers]
        rec = svc.create(config, layers)
        tags = []
        if name and ("/" in name or ":" in name):  # a bare ref.name is only a tag
            try:
                tags = [parse_reference(name).familiar()]
            except InvalidArgument:
                tags = []
        out.append(_tag_all(svc, rec, tags))

    index = mt.parse_index(_member(tf, "index.json").read())
    for d in index.manifests:
        visit(d, "")
    return out
