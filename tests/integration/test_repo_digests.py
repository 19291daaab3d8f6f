"""RepoDigests: what ``pull`` and ``push`` record, how ``image inspect``, ``images --digests``
and ``rmi`` show and drop them, against a real docker-registry on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.registry import RegistryClient, push
from dockyard.registry.ocidir import OciLayout
from tests.integration.conftest import IMAGE_NAME, Dy
from tests.integration.registry_fixture import Registry, add_index

pytestmark = [pytest.mark.integration, pytest.mark.peer]


def _inspect(dy: Dy, name: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads(dy("image", "inspect", name, check=True).stdout)[0]
    return doc


def test_push_records_digest(dy: Dy, busybox: str, registry: Registry) -> None:
    repo = f"{registry.host}/test/busybox"
    assert _inspect(dy, "busybox")["RepoDigests"] == []
    dy("tag", "busybox", f"{repo}:1", check=True)
    digest = dy("push", f"{repo}:1", check=True).stdout.splitlines()[-1].split()[2]
    assert _inspect(dy, busybox)["RepoDigests"] == [f"{repo}@{digest}"]
    table = dy("images", "--digests", check=True).stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED",
                                "SIZE"]
    rows = sorted(ln.split()[:4] for ln in table[1:])
    assert rows == sorted([["busybox", "latest", "<none>", busybox[7:19]],
                           [repo, "1", digest, busybox[7:19]]])
    assert dy("images", "--format", "{{.Repository}} {{.Digest}}", repo,
              check=True).stdout == f"{repo} {digest}\n"
    # Found by its digest; the last tag of the repository takes the digest with it.
    assert _inspect(dy, f"{repo}@{digest}")["Id"] == busybox
    r = dy("rmi", f"{repo}:1", check=True)
    assert r.stdout == f"Untagged: {repo}:1\nUntagged: {repo}@{digest}\n"
    assert _inspect(dy, busybox)["RepoDigests"] == []


def test_pull_records_served_digest(dy: Dy, registry: Registry, image_layout: OciLayout,
                                    tmp_path: Path) -> None:
    repo = f"{registry.host}/test/busybox"
    host_desc = image_layout.resolve(IMAGE_NAME)
    index = add_index(image_layout, "busybox:multi", [host_desc])
    client = RegistryClient(registry.host)
    push(client, f"{repo}:1", image_layout, name=IMAGE_NAME)
    push(client, f"{repo}:multi", image_layout, name="busybox:multi")
    # A single manifest: its digest.
    out = dy("pull", f"{repo}:1", check=True).stdout
    assert f"Digest: {host_desc.digest}\n" in out
    image_id = _inspect(dy, f"{repo}:1")["Id"]
    assert _inspect(dy, f"{repo}:1")["RepoDigests"] == [f"{repo}@{host_desc.digest}"]
    # An index: the index's digest, as Docker records it, next to the first one.
    dy("pull", "-q", f"{repo}:multi", check=True)
    assert _inspect(dy, f"{repo}:multi")["Id"] == image_id
    assert _inspect(dy, image_id)["RepoDigests"] == [f"{repo}@{host_desc.digest}",
                                                    f"{repo}@{index.digest}"]
    # Two digests for one repository: Docker's table shows neither.
    assert set(dy("images", "--format", "{{.Digest}}", check=True).stdout.split()) == {
        "<none>"}
    # By digest into another root: the digest is the only name.
    other = tmp_path / "other"
    r = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(other), "pull", "-q",
                        f"{repo}@{index.digest}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(other), "images",
                        "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"],
                       capture_output=True, text=True)
    assert r.stdout == f"{repo} <none> {index.digest}\n"
    # rmi of the last tag drops the repository's digests, then the image.
    dy("rmi", f"{repo}:1", check=True)
    r = dy("rmi", f"{repo}:multi", check=True)
    assert r.stdout.splitlines()[:3] == [f"Untagged: {repo}:multi",
                                         f"Untagged: {repo}@{host_desc.digest}",
                                         f"Untagged: {repo}@{index.digest}"]
    assert r.stdout.splitlines()[3] == f"Deleted: {image_id}"
    assert dy("images", "-q", check=True).stdout == ""


def test_a_digest_only_image_is_untagged_but_named(dy: Dy, registry: Registry,
                                                    image_layout: OciLayout) -> None:
    """As moby lists it: an image pulled only by digest shows under dangling=true (it has
    no tag) and under dangling=false (it has a name); a truly nameless image only under
    dangling=true; ``image prune`` removes both, as ``docker image prune`` does."""
    repo = f"{registry.host}/test/busybox"
    desc = image_layout.resolve(IMAGE_NAME)
    push(RegistryClient(registry.host), f"{repo}:1", image_layout, name=IMAGE_NAME)
    dy("pull", "-q", f"{repo}@{desc.digest}", check=True)
    image_id = _inspect(dy, f"{repo}@{desc.digest}")["Id"]
    fmt = ("--format", "{{.Repository}} {{.Tag}}")
    assert dy("images", *fmt, "--filter", "dangling=true", check=True).stdout == \
        f"{repo} <none>\n"
    assert dy("images", *fmt, "--filter", "dangling=false", check=True).stdout == \
        f"{repo} <none>\n"
    assert dy("images", "-q", "--filter", "dangling=true", check=True).stdout != ""
    r = dy("image", "prune", "-f", check=True)
    assert f"deleted: {image_id}" in r.stdout
    assert dy("images", "-q", check=True).stdout == ""
