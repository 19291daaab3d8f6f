"""``dockyard push`` of an image stored uncompressed sends gzip layers, as ``docker push``
does; the image ID is unchanged, the gzip copy is made once and reused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.registry_fixture import Registry

pytestmark = [pytest.mark.integration, pytest.mark.peer]


def _skopeo(*args: str) -> str:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True).stdout.decode()


def _dy_at(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root), *args],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return r


def test_push_sends_gzip_layers(dy: Dy, root: Path, busybox: str, registry: Registry,
                                tmp_path: Path) -> None:
    name = f"{registry.host}/test/gz:1"
    dy("tag", "busybox", name, check=True)
    first = dy("push", name, check=True).stdout.splitlines()
    doc = json.loads(dy("image", "inspect", name, check=True).stdout)[0]
    diff_ids = doc["RootFS"]["Layers"]
    assert first[1:-1] == [f"{d[7:19]}: Pushed" for d in diff_ids]  # named by DiffID
    raw = json.loads(_skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{name}"))
    # the stored manifest is OCI (imported), so the pushed one is OCI with gzip layers
    assert raw["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert raw["config"]["digest"] == busybox
    assert [lay["mediaType"] for lay in raw["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+gzip"] * len(diff_ids)
    assert first[-1].split()[2] == doc["RepoDigests"][0].partition("@")[2]
    # each layer blob in the registry is gzip, smaller than the tar it holds
    blobs = root / "image" / "blobs" / "sha256"
    out = tmp_path / "layout"
    _skopeo("--insecure-policy", "copy", "-q", "--src-tls-verify=false",
            f"docker://{name}", f"oci:{out}:1")
    for lay in raw["layers"]:
        data = (out / "blobs" / "sha256" / lay["digest"][7:]).read_bytes()
        assert data[:2] == b"\x1f\x8b" and len(data) == lay["size"]
        assert (blobs / lay["digest"][7:]).is_file()  # kept for the next push
    # The same image ID in a fresh root; its rootfs works.
    other = tmp_path / "other"
    _dy_at(other, "pull", "-q", name)
    again = json.loads(_dy_at(other, "image", "inspect", name).stdout)[0]
    assert again["Id"] == busybox and again["RootFS"]["Layers"] == diff_ids
    # A second push (another tag, same layers) reuses the gzip copy: nothing to upload.
    name2 = f"{registry.host}/test/gz:2"
    dy("tag", "busybox", name2, check=True)
    made = {lay["digest"]: (blobs / lay["digest"][7:]).stat().st_ino for lay in raw["layers"]}
    second = dy("push", name2, check=True).stdout.splitlines()
    assert second[1:-1] == [f"{d[7:19]}: Layer already exists" for d in diff_ids]
    assert second[-1].split()[2] == first[-1].split()[2]  # the same manifest digest
    assert {d: (blobs / d[7:]).stat().st_ino for d in made} == made  # not made again
    # system check sees no stray blob; rmi of the image leaves no blob behind
    assert dy("system", "check", check=True).stdout == "no problems found\n"
    dy("rmi", "-f", busybox, check=True)
    assert list(blobs.iterdir()) == []
