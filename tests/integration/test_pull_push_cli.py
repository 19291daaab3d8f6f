"""``dockyard pull`` / ``dockyard push`` end to end: image store <-> a real docker-registry
on 127.0.0.1, checked with skopeo and umoci."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from dockyard.cli.progress import human_size
from dockyard.registry import RegistryClient, push
from dockyard.registry.ocidir import OciLayout
from tests.integration.conftest import IMAGE_NAME, USERS, Dy, skopeo_copy
from tests.integration.registry_fixture import (
    MangleProxy,
    Registry,
    add_image,
    add_index,
    free_port,
)
from tests.screen import screen

pytestmark = [pytest.mark.integration, pytest.mark.peer]


def _inspect(target: str, *extra: str) -> dict[str, object]:
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", *extra, target], check=True,
                         capture_output=True, text=True).stdout
    doc: dict[str, object] = json.loads(out)
    return doc


def _manifest(layout: OciLayout) -> dict[str, object]:
    doc: dict[str, object] = json.loads(layout.read_blob(layout.resolve(IMAGE_NAME).digest))
    return doc


def _blobs(root: Path) -> set[str]:
    return {f"sha256:{n}" for n in os.listdir(root / "image" / "blobs" / "sha256")}


def test_push_imported_image(dy: Dy, busybox: str, registry: Registry,
                             tmp_path: Path) -> None:
    name = f"{registry.host}/test/busybox:1"
    dy("tag", "busybox", name, check=True)
    r = dy("push", name, check=True)
    lines = r.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{registry.host}/test/busybox]"
    diff_ids = json.loads(dy("image", "inspect", name, check=True).stdout)[0]["RootFS"]["Layers"]
    assert lines[1:-1] == [f"{d[7:19]}: Pushed" for d in diff_ids]
    digest = lines[-1].split()[2]
    assert lines[-1].startswith("1: digest: sha256:") and lines[-1].split()[3] == "size:"
    inspected = _inspect(f"docker://{name}")
    assert len(inspected["Layers"]) == len(diff_ids)  # gzip copies: see test_push_gzip.py
    assert not set(inspected["Layers"]) & set(diff_ids)
    assert inspected["Digest"] == digest
    # Interop: skopeo copies it out, umoci unpacks it.
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    f"docker://{name}", f"oci:{tmp_path / 'out'}:1"], check=True,
                   capture_output=True)
    subprocess.run(["umoci", "unpack", "--image", f"{tmp_path / 'out'}:1",
                    str(tmp_path / "bundle")], check=True, capture_output=True)
    assert (tmp_path / "bundle" / "rootfs" / "bin" / "busybox").is_file()
    # A second push finds every layer there.
    again = dy("push", name, check=True).stdout.splitlines()
    assert again[1:-1] == [f"{d[7:19]}: Layer already exists" for d in diff_ids]
    assert again[-1] == lines[-1]


def test_pull_save_and_pull_again(dy: Dy, root: Path, registry: Registry,
                                  image_layout: OciLayout, tmp_path: Path) -> None:
    name = f"{registry.host}/test/busybox:1"
    skopeo_copy(image_layout, "1", name)
    manifest = _manifest(image_layout)
    layer = manifest["layers"][0]["digest"]  # type: ignore[index]
    top = image_layout.resolve(IMAGE_NAME).digest
    r = dy("pull", name, check=True)
    assert r.stdout.splitlines() == [
        "1: Pulling from test/busybox", f"{layer[7:19]}: Pull complete", f"Digest: {top}",
        f"Status: Downloaded newer image for {name}", name]
    images = dy("images", check=True).stdout
    assert f"{registry.host}/test/busybox" in images and " 1 " in images
    run = dy("image", "inspect", name, check=True)
    assert json.loads(run.stdout)[0]["Id"] == manifest["config"]["digest"]  # type: ignore[index]
    # The compressed blob is kept as pulled; the layer is unpacked.
    assert layer in _blobs(root)
    # Pulled again through a proxy that logs: up to date, no blob fetched.
    proxy = MangleProxy(registry.host, "pass")
    try:
        via = f"{proxy.host}/test/busybox:1"
        r = dy("pull", via, check=True)  # a new name for content the store has
        assert r.stdout.splitlines()[1:] == [
            f"{layer[7:19]}: Already exists", f"Digest: {top}",
            f"Status: Downloaded newer image for {via}", via]
        proxy.log.clear()
        r = dy("pull", via, check=True)
    finally:
        proxy.stop()
    assert not [p for _m, p, _ in proxy.log if "/blobs/" in p]
    assert r.stdout.splitlines()[-2:] == [f"Status: Image is up to date for {via}", via]
    # save round-trips: rmi, load, same ID.
    archive = tmp_path / "pulled.tar"
    dy("save", "-o", str(archive), name, check=True)
    dy("rmi", name, via, check=True)
    assert dy("load", "-i", str(archive), check=True).stdout == f"Loaded image: {name}\n"
    assert json.loads(dy("image", "inspect", name, check=True).stdout)[0]["Id"] == \
        manifest["config"]["digest"]  # type: ignore[index]


def test_pull_by_digest_and_quiet(dy: Dy, registry: Registry,
                                  image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    top = image_layout.resolve(IMAGE_NAME).digest
    ref = f"{registry.host}/test/busybox@{top}"
    r = dy("pull", ref, check=True)
    assert r.stdout.splitlines()[0] == f"{top}: Pulling from test/busybox"
    assert r.stdout.splitlines()[-1] == ref
    assert dy("image", "inspect", ref, check=True).returncode == 0
    r = dy("pull", "-q", f"{registry.host}/test/busybox:1", check=True)
    assert r.stdout == f"{registry.host}/test/busybox:1\n"


def test_pull_errors(dy: Dy, registry: Registry, image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    r = dy("pull", f"{registry.host}/test/busybox:nope")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == (f"Error: manifest for {registry.host}/test/busybox:nope not found: "
                        "manifest unknown\n")
    r = dy("pull", f"{registry.host}/test/busybox")
    assert (r.returncode, r.stdout) == (1, "Using default tag: latest\n")
    assert r.stderr == (f"Error: manifest for {registry.host}/test/busybox:latest not found: "
                        "manifest unknown\n")
    down = f"127.0.0.1:{free_port()}"
    r = dy("pull", f"{down}/test/busybox:1")
    assert r.returncode == 1
    assert r.stderr.startswith(f"Error: registry {down} is not reachable: ")
    assert r.stderr.count("\n") == 1


def test_pull_and_push_need_login(dy: Dy, busybox: str, basic_registry: Registry,
                                 image_layout: OciLayout, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    user, password = "alice", USERS["alice"]
    name = f"{basic_registry.host}/test/busybox:1"
    skopeo_copy(image_layout, "1", name, f"--dest-creds={user}:{password}")
    r = dy("pull", name)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: unauthorized: ") and r.stderr.count("\n") == 1
    mine = f"{basic_registry.host}/test/mine:1"
    dy("tag", "busybox", mine, check=True)
    r = dy("push", mine)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: unauthorized: ") and r.stderr.count("\n") == 1
    dy("login", "-u", user, "--password-stdin", basic_registry.host, input=password,
       check=True)
    assert dy("pull", "-q", name, check=True).stdout == f"{name}\n"
    assert dy("push", "-q", mine, check=True).stdout == ""
    doc = json.loads(dy("image", "inspect", mine, check=True).stdout)[0]
    got = _inspect(f"docker://{mine}", f"--creds={user}:{password}")
    assert doc["RepoDigests"] == [f"{mine.rpartition(':')[0]}@{got['Digest']}"]


def test_corrupt_blob_leaves_nothing(dy: Dy, root: Path, busybox: str, registry: Registry,
                                     image_layout: OciLayout) -> None:
    skopeo_copy(image_layout, "1", f"{registry.host}/test/busybox:1")
    def listing() -> list[list[str]]:  # REPOSITORY TAG IMAGE-ID; CREATED ages as time passes
        return [ln.split()[:3] for ln in dy("images", check=True).stdout.splitlines()]

    before = listing()
    blobs = _blobs(root)
    proxy = MangleProxy(registry.host, "corrupt")
    try:
        r = dy("pull", f"{proxy.host}/test/busybox:1")
    finally:
        proxy.stop()
    assert r.returncode == 1
    assert r.stderr.startswith("Error: ") and "digest mismatch" in r.stderr
    assert r.stderr.count("\n") == 1
    assert listing() == before
    layer = _manifest(image_layout)["layers"][0]["digest"]  # type: ignore[index]
    assert layer not in _blobs(root)
    assert _blobs(root) == blobs


def test_pull_all_tags_and_platforms(dy: Dy, registry: Registry, image_layout: OciLayout,
                                     layer: tuple[bytes, str]) -> None:
    repo = f"{registry.host}/test/busybox"
    host_desc = image_layout.resolve(IMAGE_NAME)
    other = "arm64" if host_desc.platform and host_desc.platform.get("architecture") != \
        "arm64" else "amd64"
    foreign = add_image(image_layout, "busybox:foreign", *layer, arch=other)
    add_index(image_layout, "busybox:multi", [host_desc, foreign])
    client = RegistryClient(registry.host)
    for tag in ("1", "foreign", "multi"):
        push(client, f"{repo}:{tag}", image_layout, name=f"busybox:{tag}")
    # An index: the host's entry by default, another with --platform.
    r = dy("pull", "-q", f"{repo}:multi", check=True)
    host_id = json.loads(dy("image", "inspect", f"{repo}:multi", check=True).stdout)[0]
    assert host_id["Architecture"] != other
    dy("pull", "-q", "--platform", f"linux/{other}", f"{repo}:multi", check=True)
    got = json.loads(dy("image", "inspect", f"{repo}:multi", check=True).stdout)[0]
    assert got["Architecture"] == other
    # A single manifest for another platform is refused when a platform is asked for.
    r = dy("pull", "--platform", f"linux/{host_id['Architecture']}", f"{repo}:foreign")
    assert r.returncode == 1
    assert r.stderr == (f"Error: image with reference {repo}:foreign was found but does not "
                        f"match the specified platform: wanted "
                        f"linux/{host_id['Architecture']}, actual: linux/{other}\n")
    assert dy("pull", "-a", f"{repo}:1").stderr == \
        "Error: tag can't be used with --all-tags/-a\n"
    r = dy("pull", "-a", repo, check=True)
    assert [ln for ln in r.stdout.splitlines() if "Pulling from" in ln] == [
        f"{t}: Pulling from test/busybox" for t in ("1", "foreign", "multi")]
    assert r.stdout.splitlines()[-2:] == [f"Status: Downloaded newer image for {repo}", repo]
    tags = dy("images", "--format", "{{.Tag}}", repo, check=True).stdout.split()
    assert sorted(tags) == ["1", "foreign", "multi"]


def _dy_at(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root), *args],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return r


def test_push_then_pull_elsewhere_and_skopeo_docker_archive(
        dy: Dy, busybox: str, registry: Registry, tmp_path: Path) -> None:
    """dockyard push -> dockyard pull into another root: same image ID, a working rootfs;
    dockyard save -> skopeo (docker-archive: -> registry, compressing) -> dockyard pull."""
    name = f"{registry.host}/test/busybox:1"
    dy("tag", "busybox", name, check=True)
    dy("push", name, check=True)
    other = tmp_path / "other-root"
    _dy_at(other, "pull", name)
    ids = [json.loads(_dy_at(r, "image", "inspect", name).stdout)[0]["Id"]
           for r in (tmp_path / "root", other)]
    assert ids[0] == ids[1] == busybox
    graph = json.loads(_dy_at(other, "image", "inspect", name).stdout)[0]["GraphDriver"]
    assert (Path(graph["Data"]["UpperDir"]) / "bin" / "busybox").is_file()
    archive = tmp_path / "bb.tar"
    dy("save", "-o", str(archive), "busybox", check=True)
    saved = f"{registry.host}/test/saved:1"
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                    f"docker-archive:{archive}", f"docker://{saved}"], check=True,
                   capture_output=True)
    third = tmp_path / "third-root"
    r = _dy_at(third, "pull", saved)
    assert r.stdout.splitlines()[-2:] == [f"Status: Downloaded newer image for {saved}", saved]
    assert json.loads(_dy_at(third, "image", "inspect", saved).stdout)[0]["Id"] == busybox
    layers = json.loads(_dy_at(third, "image", "inspect", saved).stdout)[0]["RootFS"]
    assert layers["Layers"] == json.loads(
        dy("image", "inspect", "busybox", check=True).stdout)[0]["RootFS"]["Layers"]


def test_concurrent_pulls_of_one_image(root: Path, dy: Dy, registry: Registry,
                                       image_layout: OciLayout) -> None:
    """Two pulls at once into one root: both succeed, one image, one snapshot per layer."""
    name = f"{registry.host}/test/busybox:1"
    skopeo_copy(image_layout, "1", name)
    procs = [subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root), "pull",
                               "-q", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert [out for out, _err in results] == [f"{name}\n"] * 2
    rows = dy("images", "--format", "{{.ID}}", check=True).stdout.split()
    assert len(rows) == 1
    assert os.listdir(root / "image" / "pull-ingest") == []


def _in_pty(root: Path, *args: str, columns: int = 120) -> tuple[int, str, str]:
    """Run dockyard with a pty (``columns`` wide) as its stdout: exit code, everything
    written to the terminal (ONLCR's \\r\\n as \\n), stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root), *args],
                            stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    data = b""
    try:
        while True:
            try:
                block = os.read(master, 1 << 16)
            except OSError as e:  # EIO: the last writer closed the pty
                if e.errno != errno.EIO:
                    raise
                break
            if not block:
                break
            data += block
    finally:
        os.close(master)
    _out, err = proc.communicate(timeout=120)
    return proc.returncode, data.decode().replace("\r\n", "\n"), err.decode()


def test_pull_and_push_progress_on_a_terminal(dy: Dy, root: Path, busybox: str,
                                              registry: Registry, image_layout: OciLayout,
                                              tmp_path: Path) -> None:
    """On a pty: layer rows drawn with a bar, redrawn in place, ending as the plain lines."""
    name = f"{registry.host}/test/busybox:1"
    skopeo_copy(image_layout, "1", name)
    manifest = _manifest(image_layout)
    layer = manifest["layers"][0]["digest"]  # type: ignore[index]
    size = manifest["layers"][0]["size"]  # type: ignore[index]
    assert size > 1 << 17  # more than one 64 KiB block: a frame before the end
    top = image_layout.resolve(IMAGE_NAME).digest
    rc, raw, err = _in_pty(root, "pull", name)
    assert (rc, err) == (0, "")
    assert f"{layer[7:19]}: Downloading [" in raw and "\x1b[1A" in raw
    assert f"/{human_size(size)}" in raw
    assert screen(raw) == [
        "1: Pulling from test/busybox", f"{layer[7:19]}: Pull complete", f"Digest: {top}",
        f"Status: Downloaded newer image for {name}", name]
    rows = [seg for line in raw.split("\n") for seg in line.split("\x1b") if "[" in seg]
    assert rows and all(len(seg) < 120 for seg in rows), raw  # rows cut to the window
    # Push: the busybox image (one uncompressed layer) to a new repository, then again.
    mine = f"{registry.host}/test/mine:1"
    dy("tag", "busybox", mine, check=True)
    diff_ids = json.loads(dy("image", "inspect", mine, check=True).stdout)[0]["RootFS"]["Layers"]
    rc, raw, err = _in_pty(root, "push", mine, columns=80)
    assert (rc, err) == (0, "")
    assert f"{diff_ids[0][7:19]}: Pushing [" in raw
    shown = screen(raw)
    assert shown[:-1] == [f"The push refers to repository [{registry.host}/test/mine]",
                          *[f"{d[7:19]}: Pushed" for d in diff_ids]]
    assert shown[-1].startswith("1: digest: sha256:")
    rc, raw, _err = _in_pty(root, "push", mine)
    assert rc == 0 and "\x1b[" in raw
    assert screen(raw)[1:-1] == [f"{d[7:19]}: Layer already exists" for d in diff_ids]
