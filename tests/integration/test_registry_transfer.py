"""Pull and push against a real docker-registry on 127.0.0.1, checked with skopeo/umoci."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, NotFound, Unavailable
from dockyard.record import replace
from dockyard.registry import DigestMismatch, Platform, RegistryClient, pull, push
from dockyard.registry.ocidir import OciLayout
from dockyard.registry.protocol import (
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    Descriptor,
    host_platform,
)
from tests.integration.conftest import IMAGE_NAME, skopeo_copy
from tests.integration.registry_fixture import (
    MangleProxy,
    Registry,
    add_image,
    add_index,
    free_port,
    tls_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.peer]


def _skopeo_inspect(target: str, *extra: str) -> dict[str, object]:
    out = subprocess.run(["skopeo", "inspect", *extra, target], check=True,
                         capture_output=True, text=True).stdout
    doc: dict[str, object] = json.loads(out)
    return doc


def _layer_digest(layout: OciLayout) -> str:
    manifest = json.loads(layout.read_blob(layout.resolve(IMAGE_NAME).digest))
    return str(manifest["layers"][0]["digest"])


def test_pull_image_pushed_by_skopeo(registry: Registry, image_layout: OciLayout,
                                     tmp_path: Path) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    sink = OciLayout(str(tmp_path / "pulled"))
    events: list[tuple[str, str]] = []
    result = pull(RegistryClient(registry.host), f"{registry.host}/test/busybox:1", sink,
                  progress=lambda event, d: events.append((event, d.digest)))
    assert sorted(events) == sorted(
        [(e, d.digest) for e in ("fetching", "fetched") for d in (result.config,
                                                                   *result.layers)])

    assert result.digest == image_layout.resolve(IMAGE_NAME).digest
    assert [d.digest for d in result.layers] == [_layer_digest(image_layout)]
    assert sink.has_blob(result.layers[0].digest) and sink.has_blob(result.config.digest)
    assert not os.path.exists(os.path.join(sink.path, ".ingest"))
    # Interop: skopeo and umoci read what was pulled.
    inspected = _skopeo_inspect(f"oci:{sink.path}:1")
    assert inspected["Digest"] == result.digest
    assert inspected["Layers"] == [result.layers[0].digest]
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{sink.path}:1", str(bundle)], check=True,
                   capture_output=True)
    assert (bundle / "rootfs" / "bin" / "busybox").is_file()
    assert os.readlink(bundle / "rootfs" / "bin" / "sh") == "busybox"
    # Blobs already present are not downloaded again.
    events.clear()
    again = pull(RegistryClient(registry.host), f"{registry.host}/test/busybox:1", sink,
                 progress=lambda event, d: events.append((event, d.digest)))
    assert again.fetched == ()
    assert {e for e, _ in events} == {"exists"}


def test_push_then_skopeo_inspect(registry: Registry, image_layout: OciLayout) -> None:
    client = RegistryClient(registry.host)
    result = push(client, f"{registry.host}/test/pushed:2", image_layout, name=IMAGE_NAME)
    assert len(result.pushed) == 2
    inspected = _skopeo_inspect(f"docker://{registry.host}/test/pushed:2", "--tls-verify=false")
    assert inspected["Digest"] == result.digest
    assert inspected["Layers"] == [_layer_digest(image_layout)]
    assert client.list_tags("test/pushed") == ["2"]
    for tag in ("3", "4"):
        client.put_manifest("test/pushed", tag, image_layout.read_blob(result.digest),
                            MEDIA_OCI_MANIFEST)
    assert sorted(client.list_tags("test/pushed", page_size=1)) == ["2", "3", "4"]
    head = client.head_manifest("test/pushed", "2")
    assert (head.digest, head.media_type) == (result.digest, MEDIA_OCI_MANIFEST)
    # Blobs the registry has are skipped.
    assert push(client, f"{registry.host}/test/pushed:5", image_layout,
                name=IMAGE_NAME).pushed == ()


def test_chunked_upload_and_cross_repo_mount(registry: Registry,
                                             image_layout: OciLayout) -> None:
    client = RegistryClient(registry.host)
    digest = _layer_digest(image_layout)
    path = image_layout.blob_path(digest)
    assert not client.blob_exists("test/chunked", digest)
    client.push_blob("test/chunked", digest, path, chunk_size=256 * 1024)
    assert client.blob_exists("test/chunked", digest)
    client.push_blob("test/mounted", digest, path, mount_from="test/chunked")
    assert client.blob_exists("test/mounted", digest)


def test_index_platform_selection(registry: Registry, image_layout: OciLayout,
                                  layer: tuple[bytes, str], tmp_path: Path) -> None:
    host_arch = host_platform().architecture
    other_arch = "s390x" if host_arch != "s390x" else "ppc64le"
    mine = replace(image_layout.resolve(IMAGE_NAME), annotations=None,
                               platform={"os": "linux", "architecture": host_arch})
    other = add_image(image_layout, "busybox:other", b"not really a layer", layer[1],
                      arch=other_arch)
    add_index(image_layout, "busybox:multi", [mine, other])
    client = RegistryClient(registry.host)
    ref = f"{registry.host}/test/multi:1"
    pushed = push(client, ref, image_layout, name="busybox:multi")
    assert client.get_manifest("test/multi", "1").media_type == MEDIA_OCI_INDEX

    sink = OciLayout(str(tmp_path / "other"))
    got = pull(client, ref, sink, Platform.parse(f"linux/{other_arch}"))
    assert got.digest == pushed.digest
    assert got.manifest.digest == other.digest
    assert sink.read_blob(got.layers[0].digest) == b"not really a layer"
    assert sink.has_blob(pushed.digest)  # the index is kept beside the chosen manifest
    default = pull(client, ref, OciLayout(str(tmp_path / "host")))
    assert default.manifest.digest == mine.digest
    with pytest.raises(NotFound, match="no matching manifest for linux/riscv64"):
        pull(client, ref, sink, Platform.parse("linux/riscv64"))


def test_unknown_tag_is_not_found(registry: Registry, image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    with pytest.raises(NotFound) as err:
        RegistryClient(registry.host).get_manifest("test/busybox", "nope")
    assert str(err.value) == f"manifest unknown: {registry.host}/test/busybox:nope"


def test_registry_down_is_unavailable() -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(Unavailable) as err:
        RegistryClient(host).get_manifest("test/busybox", "1")
    assert str(err.value).startswith(f"registry {host} is not reachable: ")
    assert "\n" not in str(err.value)


def test_corrupted_blob_is_rejected_and_not_committed(registry: Registry,
                                                      image_layout: OciLayout,
                                                      tmp_path: Path) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    proxy = MangleProxy(registry.host, "corrupt")
    try:
        sink = OciLayout(str(tmp_path / "sink"))
        with pytest.raises(DigestMismatch, match="digest mismatch"):
            pull(RegistryClient(proxy.host), f"{proxy.host}/test/busybox:1", sink)
    finally:
        proxy.stop()
    assert not sink.has_blob(_layer_digest(image_layout))
    assert sink.images() == []
    assert os.listdir(os.path.join(sink.path, "blobs", "sha256")) == []
    assert not os.path.exists(os.path.join(sink.path, ".ingest"))


def test_lying_manifest_digest_is_rejected(registry: Registry,
                                           image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    proxy = MangleProxy(registry.host, "lie-digest")
    try:
        with pytest.raises(DigestMismatch, match="manifest digest mismatch"):
            RegistryClient(proxy.host).get_manifest("test/busybox", "1")
    finally:
        proxy.stop()


def test_truncated_download_resumes_with_range(registry: Registry, image_layout: OciLayout,
                                               tmp_path: Path) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    proxy = MangleProxy(registry.host, "truncate-once")
    try:
        sink = OciLayout(str(tmp_path / "sink"))
        result = pull(RegistryClient(proxy.host), f"{proxy.host}/test/busybox:1", sink)
    finally:
        proxy.stop()
    layer = _layer_digest(image_layout)
    assert proxy.cuts == 1
    ranged = [r for m, p, r in proxy.log if m == "GET" and p.endswith(layer) and r]
    assert len(ranged) == 1 and ranged[0].startswith("bytes=") and ranged[0] != "bytes=0-"
    assert sink.read_blob(layer) == image_layout.read_blob(layer)
    assert result.layers[0].digest == layer


def test_interrupted_pull_keeps_partial_and_next_pull_resumes(
        registry: Registry, image_layout: OciLayout, tmp_path: Path) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    layer = _layer_digest(image_layout)
    sink = OciLayout(str(tmp_path / "sink"))
    cutter = MangleProxy(registry.host, "truncate-always")
    try:
        with pytest.raises(Unavailable, match=r"interrupted|ended early"):
            pull(RegistryClient(cutter.host), f"{cutter.host}/test/busybox:1", sink)
    finally:
        cutter.stop()
    partial = sink.blob_path_for_ingest(layer)
    kept = os.path.getsize(partial)
    assert 0 < kept < len(image_layout.read_blob(layer))
    assert sink.images() == []

    proxy = MangleProxy(registry.host, "pass")
    try:
        pull(RegistryClient(proxy.host), f"{proxy.host}/test/busybox:1", sink)
    finally:
        proxy.stop()
    assert [r for m, p, r in proxy.log if m == "GET" and p.endswith(layer)] == [
        f"bytes={kept}-"]
    assert sink.read_blob(layer) == image_layout.read_blob(layer)


def test_corrupt_partial_file_is_redownloaded(registry: Registry, image_layout: OciLayout,
                                              tmp_path: Path) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    layer = _layer_digest(image_layout)
    sink = OciLayout(str(tmp_path / "sink"))
    Path(sink.blob_path_for_ingest(layer)).write_bytes(b"garbage" * 100)
    pull(RegistryClient(registry.host), f"{registry.host}/test/busybox:1", sink)
    assert sink.read_blob(layer) == image_layout.read_blob(layer)


def test_unknown_blob_and_head_of_unknown_tag(registry: Registry,
                                              image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    client = RegistryClient(registry.host)
    with pytest.raises(NotFound, match=r"^manifest unknown: "):
        client.head_manifest("test/busybox", "nope")
    missing = "sha256:" + "0" * 64
    assert not client.blob_exists("test/busybox", missing)
    with pytest.raises(NotFound, match=r"^blob unknown"):
        client.fetch_blob("test/busybox", missing, str(Path(image_layout.path) / "x"))


def test_tls_registry(tls_registry: Registry, image_layout: OciLayout, tmp_path: Path) -> None:
    host = tls_registry.host
    ca = str(tls_registry.log.parent / "tls.crt")
    # Loopback: HTTPS without verification (Docker's default insecure 127.0.0.0/8).
    pushed = push(RegistryClient(host), f"{host}/test/tls:1", image_layout, name=IMAGE_NAME)
    # With a CA bundle the certificate is verified, and plain HTTP is never tried.
    client = RegistryClient(host, ca_file=ca)
    assert client.get_manifest("test/tls", "1").digest == pushed.digest
    other = tls_config(tmp_path, "other")["certificate"]
    with pytest.raises(Unavailable) as err:
        RegistryClient(host, ca_file=other).get_manifest("test/tls", "1")
    assert str(err.value).startswith(f"registry {host}: TLS certificate verification failed")


def test_registry_ignoring_range_restarts_the_download(
        registry: Registry, image_layout: OciLayout, tmp_path: Path) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    layer = _layer_digest(image_layout)
    sink = OciLayout(str(tmp_path / "sink"))
    Path(sink.blob_path_for_ingest(layer)).write_bytes(image_layout.read_blob(layer)[:5000])
    proxy = MangleProxy(registry.host, "ignore-range")
    try:
        pull(RegistryClient(proxy.host), f"{proxy.host}/test/busybox:1", sink)
    finally:
        proxy.stop()
    assert [r for m, p, r in proxy.log if m == "GET" and p.endswith(layer)] == ["bytes=5000-"]
    assert sink.read_blob(layer) == image_layout.read_blob(layer)


def test_busy_registry_is_retried(registry: Registry, image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    proxy = MangleProxy(registry.host, "busy-once")
    try:
        got = RegistryClient(proxy.host).get_manifest("test/busybox", "1")
    finally:
        proxy.stop()
    assert got.digest == image_layout.resolve(IMAGE_NAME).digest
    assert [m for m, p, _ in proxy.log if "/manifests/" in p] == ["GET", "GET"]


def test_push_of_corrupt_source_blob_is_refused(registry: Registry, image_layout: OciLayout
                                               ) -> None:
    layer = _layer_digest(image_layout)
    path = image_layout.blob_path(layer)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"X")
    with pytest.raises(InvalidArgument) as err:
        push(RegistryClient(registry.host), f"{registry.host}/test/bad:1", image_layout,
             name=IMAGE_NAME)
    assert str(err.value) == f"provided digest did not match uploaded content: " \
        f"{registry.host}/test/bad@{layer}"
    with pytest.raises(NotFound):
        RegistryClient(registry.host).get_manifest("test/bad", "1")


def test_byte_counts_of_pulls_and_pushes(registry: Registry, image_layout: OciLayout,
                                         tmp_path: Path) -> None:
    """``on_bytes`` sees each blob's count grow to its size: downloads (resumed after a cut),
    monolithic and chunked uploads."""
    client = RegistryClient(registry.host)
    counts: dict[str, list[int]] = {}

    def on_bytes(d: Descriptor, done: int) -> None:
        counts.setdefault(d.digest, []).append(done)

    result = push(client, f"{registry.host}/test/counted:1", image_layout, name=IMAGE_NAME,
                  on_bytes=on_bytes)
    layer = _layer_digest(image_layout)
    size = os.path.getsize(image_layout.blob_path(layer))
    assert set(counts) == set(result.pushed)
    assert counts[layer][0] == 0 and counts[layer][-1] == size and len(counts[layer]) > 2
    assert counts[layer] == sorted(counts[layer])
    counts.clear()
    push(client, f"{registry.host}/test/chunked:1", image_layout, name=IMAGE_NAME,
         chunk_size=256 * 1024, on_bytes=on_bytes)
    assert counts[layer] == [*range(0, size, 256 * 1024), size]
    counts.clear()
    proxy = MangleProxy(registry.host, "truncate-once")
    try:
        pulled = pull(RegistryClient(proxy.host), f"{proxy.host}/test/counted:1",
                      OciLayout(str(tmp_path / "sink")), on_bytes=on_bytes)
    finally:
        proxy.stop()
    assert proxy.cuts == 1
    assert set(counts) == {pulled.config.digest, layer}
    assert counts[layer][-1] == size and counts[layer] == sorted(counts[layer])
