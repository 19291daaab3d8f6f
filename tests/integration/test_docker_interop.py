"""dockyard's image archives against the real Docker: Debian's docker.io 20.10, private.

Each direction is checked: ``dockyard save`` -> ``docker load`` (and ``docker run``), and
``docker save`` -> ``dockyard load`` (docker 20.10 writes the legacy ``<v1 id>/layer.tar``
layout, with symlinks for layers shared between images), and a layer chain with a
whiteout built by docker's classic builder is unpacked and mounted by dockyard.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Dy, no_mounts_under
from tests.integration.dockerd import Dockerd
from tests.layertools import entry, tar_bytes

pytestmark = [pytest.mark.integration, pytest.mark.peer]

MOUNT_AND_LIST = """
import json, os, sys
from dockyard.image.service import ImageService
from dockyard.image.snapshots import mount_all, unmount
root, target, image = sys.argv[1:4]
svc = ImageService(root)
mount_all(svc.prepare_rootfs("interop", image), target)
try:
    print(json.dumps({os.path.relpath(os.path.join(dp, n), target): os.path.islink(
        os.path.join(dp, n)) or open(os.path.join(dp, n), "rb").read().decode(errors="replace")
        for dp, dirs, files in os.walk(target) for n in files if not dp.endswith("/bin")
        or n in ("vi", "sh")}))
finally:
    unmount(target)
    svc.release_rootfs("interop")
    svc.close()
"""


@pytest.fixture
def docker(dockerd: Dockerd) -> Iterator[Dockerd]:
    """The session's daemon, emptied of containers and images after each test."""
    try:
        yield dockerd
    finally:
        dockerd.empty()


def docker_inspect(docker: Dockerd, name: str) -> dict[str, Any]:
    (info,) = json.loads(docker.docker("image", "inspect", name).stdout)
    assert isinstance(info, dict)
    return info


def dy_inspect(dy: Dy, name: str) -> dict[str, Any]:
    (info,) = json.loads(dy("image", "inspect", name, check=True).stdout)
    assert isinstance(info, dict)
    return info


def mounted_files(root: Path, image: str, tmp_path: Path) -> dict[str, str | bool]:
    """The image's merged root as dockyard mounts it for a container: path -> content
    (or True for a symlink), leaving out busybox's applet links but bin/sh and bin/vi."""
    target = tmp_path / "mnt"
    target.mkdir()
    r = subprocess.run([sys.executable, "-c", MOUNT_AND_LIST, str(root), str(target), image],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert no_mounts_under(target)
    files: dict[str, str | bool] = json.loads(r.stdout)
    return files


def run_ok(docker: Dockerd, *args: str) -> str:
    """``docker run --rm --network none`` (no bridge here); the daemon runs containers
    in this sandbox through its managed containerd and runc."""
    return docker.docker("run", "--rm", "--network", "none", *args).stdout


# --- dockyard -> docker ----------------------------------------------------------------

def test_dockyard_save_loads_and_runs_in_docker(docker: Dockerd, dy: Dy, busybox: str,
                                                tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    dy("save", "-o", str(out), "busybox:latest", check=True)
    assert docker.docker("load", "-i", str(out)).stdout == "Loaded image: busybox:latest\n"
    theirs, ours = docker_inspect(docker, "busybox:latest"), dy_inspect(dy, "busybox:latest")
    assert theirs["RootFS"]["Layers"] == ours["RootFS"]["Layers"]
    assert len(theirs["RootFS"]["Layers"]) == 1
    assert theirs["Id"] == ours["Id"] == busybox  # the config travelled byte for byte
    assert theirs["Size"] == ours["Size"]  # busybox's applet symlinks count
    assert (theirs["Os"], theirs["Architecture"]) == (ours["Os"], ours["Architecture"])
    args = ("images", "--no-trunc", "--format",
            "{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Size}}|{{.CreatedAt}}")
    assert dy(*args, check=True).stdout == docker.docker(*args).stdout
    assert run_ok(docker, "busybox:latest", "echo", "hi") == "hi\n"


def test_dockyard_save_two_images_and_by_id(docker: Dockerd, dy: Dy, busybox: str,
                                           busybox_tar: Path, tmp_path: Path) -> None:
    other = dy("import", "-c", "ENV X=1", str(busybox_tar), "example.com/ns/other:v2",
               check=True).stdout.strip()
    both = tmp_path / "both.tar"
    dy("save", "-o", str(both), "busybox", "example.com/ns/other:v2", check=True)
    assert docker.docker("load", "-i", str(both)).stdout == (
        "Loaded image: busybox:latest\nLoaded image: example.com/ns/other:v2\n")
    assert docker_inspect(docker, "example.com/ns/other:v2")["Id"] == other
    docker.docker("rmi", "busybox:latest", "example.com/ns/other:v2")
    by_id = tmp_path / "id.tar"
    dy("save", "-o", str(by_id), busybox[7:19], check=True)
    assert docker.docker("load", "-i", str(by_id)).stdout == f"Loaded image ID: {busybox}\n"
    assert docker_inspect(docker, busybox)["RepoTags"] == []



def pulled_image(root: Path, layer: bytes, fmt: str, name: str) -> str:
    """An image as ``pull`` stores it: the layer blob compressed (``fmt``) as a registry
    served it, an OCI manifest naming it; returns the image ID."""
    import gzip
    import hashlib

    import zstandard

    from dockyard.image.service import ImageService, LayerBlob
    from dockyard.oci import image_types as mt
    from dockyard.oci.reference import parse_reference

    blob = gzip.compress(layer) if fmt == "gzip" else zstandard.ZstdCompressor().compress(layer)
    media_type = mt.OCI_LAYER_GZIP if fmt == "gzip" else mt.OCI_LAYER_ZSTD
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "created": "2024-05-01T00:00:00Z",
                      "rootfs": {"type": "layers",
                                 "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
                     ).encode()
    svc = ImageService(str(root))
    try:
        with svc.writing():
            digest = svc.content.put(blob)
            man = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                              "config": {"mediaType": mt.OCI_CONFIG, "size": len(cfg),
                                         "digest": "sha256:" + hashlib.sha256(cfg).hexdigest()},
                              "layers": [{"mediaType": media_type, "size": len(blob),
                                          "digest": digest}]}).encode()
            rec = svc.create(cfg, [LayerBlob(digest, media_type, len(blob))], man,
                             mt.OCI_MANIFEST)
            svc.store.tag(str(parse_reference(name)), rec.id)
        return rec.id
    finally:
        svc.close()


@pytest.mark.parametrize("fmt", ["gzip", "zstd"])
def test_dockyard_save_of_compressed_layers_loads_in_docker(
        docker: Dockerd, dy: Dy, root: Path, busybox_tar: Path, tmp_path: Path,
        fmt: str) -> None:
    """Pulled layers stay compressed in dockyard and are saved as stored; docker 20.10
    detects gzip in a layer file but reads no zstd, so manifest.json names an
    uncompressed copy of a zstd layer (index.json's manifest keeps the zstd blob)."""
    image_id = pulled_image(root, busybox_tar.read_bytes(), fmt, f"example.com/c:{fmt}")
    out = tmp_path / "out.tar"
    dy("save", "-o", str(out), f"example.com/c:{fmt}", check=True)
    with tarfile.open(out) as tf:
        def read(name: str) -> bytes:
            f = tf.extractfile(name)
            assert f is not None
            return f.read()

        (layer,) = json.loads(read("manifest.json"))[0]["Layers"]
        (manifest,) = json.loads(read("index.json"))["manifests"]
        (pulled,) = json.loads(read("blobs/" + manifest["digest"].replace(":", "/")))["layers"]
        head = read(layer)[:4]
        assert head.startswith(b"\x1f\x8b") if fmt == "gzip" else head != b"\x28\xb5\x2f\xfd"
        assert read("blobs/" + pulled["digest"].replace(":", "/"))[:2] in (b"\x1f\x8b",
                                                                         b"\x28\xb5")
    assert docker.docker("load", "-i", str(out)).stdout == f"Loaded image: example.com/c:{fmt}\n"
    theirs = docker_inspect(docker, f"example.com/c:{fmt}")
    assert theirs["Id"] == image_id
    assert theirs["RootFS"]["Layers"] == dy_inspect(dy, f"example.com/c:{fmt}")["RootFS"]["Layers"]
    assert run_ok(docker, f"example.com/c:{fmt}", "echo", fmt) == f"{fmt}\n"

# --- docker -> dockyard ----------------------------------------------------------------

def test_docker_save_loads_into_dockyard_and_back(docker: Dockerd, dy: Dy, busybox_tar: Path,
                                                  tmp_path: Path) -> None:
    docker.docker("import", "-m", "from docker", "-c", "ENV FOO=bar", "-c", 'CMD ["/bin/sh"]',
                  str(busybox_tar), "dimp:v1")
    theirs = docker_inspect(docker, "dimp:v1")
    saved = tmp_path / "y.tar"
    docker.docker("save", "-o", str(saved), "dimp:v1")
    assert dy("load", "-i", str(saved), check=True).stdout == "Loaded image: dimp:v1\n"
    rows = dy("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}", check=True).stdout
    assert rows == f"dimp v1 {theirs['Id'][7:19]}\n"
    ours = dy_inspect(dy, "dimp:v1")
    assert ours["Id"] == theirs["Id"]
    assert ours["RootFS"]["Layers"] == theirs["RootFS"]["Layers"]
    assert ours["Config"]["Env"] == theirs["Config"]["Env"] == ["FOO=bar"]
    assert ours["Config"]["Cmd"] == theirs["Config"]["Cmd"] == ["/bin/sh"]
    assert ours["Comment"] == "from docker" and ours["Created"] == theirs["Created"]
    assert ours["Size"] == theirs["Size"]

    docker.docker("rmi", "dimp:v1")
    back = tmp_path / "back.tar"
    dy("save", "-o", str(back), "dimp:v1", check=True)
    assert docker.docker("load", "-i", str(back)).stdout == "Loaded image: dimp:v1\n"
    assert docker_inspect(docker, "dimp:v1")["Id"] == theirs["Id"]
    assert run_ok(docker, "dimp:v1", "sh", "-c", "echo $FOO") == "bar\n"


def test_docker_save_of_images_sharing_a_layer(docker: Dockerd, dy: Dy, busybox_tar: Path,
                                               tmp_path: Path) -> None:
    """docker 20.10 writes a layer shared by two images once; the second image's
    ``<v1 id>/layer.tar`` is a symlink to the first's."""
    first = docker.docker("import", str(busybox_tar), "twin:a").stdout.strip()
    second = docker.docker("import", "-m", "again", str(busybox_tar), "twin:b").stdout.strip()
    saved = tmp_path / "twins.tar"
    docker.docker("save", "-o", str(saved), "twin:a", "twin:b")
    listing = subprocess.run(["tar", "tvf", str(saved)], capture_output=True, text=True,
                             check=True).stdout
    assert "layer.tar -> ../" in listing  # the case this test is about
    r = dy("load", "-i", str(saved), check=True)
    assert sorted(r.stdout.splitlines()) == ["Loaded image: twin:a", "Loaded image: twin:b"]
    assert dy_inspect(dy, "twin:a")["Id"] == first
    assert dy_inspect(dy, "twin:b")["Id"] == second
    assert dy_inspect(dy, "twin:b")["RootFS"] == dy_inspect(dy, "twin:a")["RootFS"]


# --- layer chains ----------------------------------------------------------------------

@pytest.mark.parametrize("driver", ["overlayfs", "vfs"])
def test_docker_built_chain_with_whiteout_mounts_in_dockyard(
        docker: Dockerd, dy: Dy, root: Path, busybox_tar: Path, tmp_path: Path, driver: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", driver)  # before the root's first use
    dy("import", str(busybox_tar), "busybox", check=True)
    base = tmp_path / "base.tar"
    dy("save", "-o", str(base), "busybox:latest", check=True)
    docker.docker("load", "-i", str(base))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox:latest\n"
        "RUN echo a > /a && ln /a /h && ln -s /a /s"
        " && touch \"/$(printf 'caf\\303\\251')\" \"/$(printf 'bad\\377')\"\n"
        "RUN rm /bin/vi \"/$(printf 'bad\\377')\"\n")
    docker.docker("build", "-q", "-t", "multi:v1", str(ctx), env={"DOCKER_BUILDKIT": "0"})
    theirs = docker_inspect(docker, "multi:v1")
    assert len(theirs["RootFS"]["Layers"]) == 3
    saved = tmp_path / "multi.tar"
    docker.docker("save", "-o", str(saved), "multi:v1")
    dy("rmi", "busybox", check=True)  # everything comes from docker's archive
    assert dy("load", "-i", str(saved), check=True).stdout == "Loaded image: multi:v1\n"
    ours = dy_inspect(dy, "multi:v1")
    assert ours["RootFS"]["Layers"] == theirs["RootFS"]["Layers"]
    assert ours["GraphDriver"]["Name"] == driver
    # the same image, shown the same; docker's Parent is that of its local build
    same = theirs.keys() - {"GraphDriver", "Metadata", "Parent"}
    assert {k: ours[k] for k in same} == {k: theirs[k] for k in same}
    assert ours["DockerVersion"]
    assert ours["ContainerConfig"]["Cmd"][2].startswith("rm /bin/vi")
    for human, fields in (("true", "{{.CreatedBy}}|{{.Size}}|{{.Comment}}"),
                          ("false", "{{.CreatedBy}}|{{.Size}}|{{.CreatedAt}}")):
        args = ("history", "--no-trunc", f"--human={human}", "--format", fields, "multi:v1")
        assert dy(*args, check=True).stdout == docker.docker(*args).stdout
    files = mounted_files(root, "multi:v1", tmp_path)
    assert files["a"] == files["h"] == "a\n" and files["s"] is True
    assert "bin/vi" not in files  # the third layer's .wh.vi
    assert "café" in files and os.fsdecode(b"bad\xff") not in files  # not UTF-8, whited out
    assert files["bin/sh"] is True and "etc/passwd" in files


@pytest.mark.parametrize("driver", ["overlayfs", "vfs"])
def test_dockyard_diff_with_whiteouts_is_read_by_docker(
        docker: Dockerd, root: Path, tmp_path: Path, driver: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer dockyard computes from a container's changes (``diff_layer``, what commit
    and build use): docker applies its whiteouts and opaque directory the same way."""
    from dockyard.image.service import ImageService
    from dockyard.image.snapshots import mount_all, unmount
    from dockyard.oci.reference import parse_reference

    monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", driver)
    svc = ImageService(str(root))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        with svc.writing():
            lower = svc.ingest_layer(io.BytesIO(tar_bytes(
                entry("etc", "dir"), entry("etc/keep", data=b"k"), entry("etc/drop", data=b"d"),
                entry("opq", "dir"), entry("opq/old", data=b"o"))))
            cfg: dict[str, Any] = {
                "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                "config": {}, "rootfs": {"type": "layers", "diff_ids": [lower.digest]}}
            base = svc.create(json.dumps(cfg).encode(), [lower])
        mount_all(svc.prepare_rootfs("ctr", base.id), str(mnt))
        try:
            os.unlink(mnt / "etc/drop")
            os.unlink(mnt / "opq/old")
            os.rmdir(mnt / "opq")
            (mnt / "opq").mkdir()
            (mnt / "opq/new").write_text("n")
            for name in (b"caf\xc3\xa9", b"bad\xff", b"l" * 200):  # PAX path records
                Path(os.fsdecode(bytes(mnt) + b"/opq/" + name)).write_text("x")
        finally:
            unmount(str(mnt))
        upper = svc.diff_layer("ctr")
        svc.release_rootfs("ctr")
        cfg["rootfs"]["diff_ids"].append(upper.digest)
        with svc.writing():
            child = svc.create(json.dumps(cfg).encode(), [lower, upper], parent=base.id)
            svc.store.tag(str(parse_reference("changed:v1")), child.id)
    finally:
        svc.close()
    out = tmp_path / "changed.tar"
    subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root), "save",
                    "-o", str(out), "changed:v1"], check=True)
    assert docker.docker("load", "-i", str(out)).stdout == "Loaded image: changed:v1\n"
    assert docker_inspect(docker, "changed:v1")["RootFS"]["Layers"] == [lower.digest,
                                                                       upper.digest]
    # the image has no shell: read docker's merged view through a container's export
    ctr = docker.docker("create", "changed:v1", "none").stdout.strip()
    tree = tmp_path / "tree.tar"
    docker.docker("export", "-o", str(tree), ctr)
    with tarfile.open(tree) as tf:
        names = tf.getnames()
    assert "etc/keep" in names and "opq/new" in names
    assert {"opq/café", os.fsdecode(b"opq/bad\xff"), "opq/" + "l" * 200} <= set(names)
    assert "etc/drop" not in names and "opq/old" not in names


# --- what save selects -----------------------------------------------------------------

def repo_tags(archive: Path) -> list[list[str]]:
    with tarfile.open(archive) as tf:
        f = tf.extractfile("manifest.json")
        assert f is not None
        return sorted(sorted(e["RepoTags"] or []) for e in json.load(f))


def test_save_of_a_repository_takes_all_its_tags_like_docker(
        docker: Dockerd, dy: Dy, busybox_tar: Path, tmp_path: Path) -> None:
    """``save REPO`` writes every tag of REPO, on whichever images; one entry per image."""
    one = dy("import", str(busybox_tar), "bx", check=True).stdout.strip()
    two = dy("import", "-m", "two", str(busybox_tar), "bx:1", check=True).stdout.strip()
    dy("tag", "bx:1", "bx:one", check=True)
    dy("tag", "bx:1", "other:1", check=True)
    ours = tmp_path / "ours.tar"
    dy("save", "-o", str(ours), "bx", "bx:1", check=True)
    r = docker.docker("load", "-i", str(ours))
    assert sorted(r.stdout.splitlines()) == [
        "Loaded image: bx:1", "Loaded image: bx:latest", "Loaded image: bx:one"]
    assert docker_inspect(docker, "bx:one")["Id"] == two
    assert docker_inspect(docker, "bx:latest")["Id"] == one
    theirs = tmp_path / "theirs.tar"
    docker.docker("tag", "bx:1", "other:1")
    docker.docker("save", "-o", str(theirs), "bx", "bx:1")
    assert repo_tags(ours) == repo_tags(theirs) == [["bx:1", "bx:one"], ["bx:latest"]]
