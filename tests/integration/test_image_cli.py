"""The image verbs as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.conftest import Dy

pytestmark = [pytest.mark.integration]


def test_import_and_images(dy: Dy, busybox: str) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", busybox)
    r = dy("images", check=True)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[0].startswith("REPOSITORY   TAG       IMAGE ID       CREATED")
    assert lines[1].split()[:3] == ["busybox", "latest", busybox[7:19]]
    assert lines[1].endswith("MB")
    assert dy("images", "-q", check=True).stdout == f"{busybox[7:19]}\n"
    assert dy("image", "ls", "-q", "--no-trunc", check=True).stdout == f"{busybox}\n"
    r = dy("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=True)
    assert r.stdout == f"busybox:latest {busybox[7:19]}\n"
    r = dy("images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}", check=True)
    assert r.stdout.splitlines() == [
        "REPOSITORY   TAG       IMAGE ID", f"busybox      latest    {busybox[7:19]}"]
    assert "DIGEST" in dy("images", "--digests", check=True).stdout.splitlines()[0]


def test_import_stdin_changes_message(dy: Dy, busybox_tar: Path) -> None:
    r = dy("import", "-m", "hello", "-c", 'CMD ["/bin/sh", "-c", "echo hi"]',
           "-c", "ENV A=1 B=two", "-c", "WORKDIR /tmp", "-c", "ENTRYPOINT /bin/sh",
           "-c", "EXPOSE 80 53/udp", "-c", "LABEL org.x=y", "-c", "USER nobody", "-",
           "app:v1", input=busybox_tar.read_bytes(), check=True)
    (info,) = json.loads(dy("image", "inspect", "app:v1", check=True).stdout)
    assert info["Id"] == r.stdout.strip()
    c = info["Config"]
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert c["Env"] == ["A=1", "B=two"]
    assert c["WorkingDir"] == "/tmp" and c["User"] == "nobody"
    assert c["Entrypoint"] == ["/bin/sh", "-c", "/bin/sh"]
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Labels"] == {"org.x": "y"}
    assert info["Comment"] == "hello"
    r = dy("images", "--filter", "label=org.x=y", "-q", check=True)
    assert r.stdout.strip() == info["Id"][7:19]
    assert dy("images", "--filter", "label=org.x=z", "-q", check=True).stdout == ""


def test_import_platform(dy: Dy, busybox_tar: Path) -> None:
    dy("import", "--platform", "linux/arm64", str(busybox_tar), "armbox", check=True)
    (info,) = json.loads(dy("image", "inspect", "armbox", check=True).stdout)
    assert (info["Os"], info["Architecture"]) == ("linux", "arm64")
    r = dy("import", "--platform", "a/b/c/d", str(busybox_tar))
    assert r.returncode == 1 and r.stderr.startswith("Error: invalid platform")


def test_inspect_shape(dy: Dy, busybox: str) -> None:
    (info,) = json.loads(dy("image", "inspect", "busybox", check=True).stdout)
    want = ["Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Container",
            "ContainerConfig", "DockerVersion", "Author", "Config", "Architecture", "Os",
            "Size", "VirtualSize", "GraphDriver", "RootFS", "Metadata"]
    assert list(info) == want
    assert info["Id"] == busybox and info["RepoTags"] == ["busybox:latest"]
    assert info["Comment"] == "Imported from -"
    assert info["RootFS"]["Type"] == "layers" and len(info["RootFS"]["Layers"]) == 1
    assert info["Os"] == "linux" and info["Architecture"] in ("amd64", "arm64")
    r = dy("image", "inspect", "busybox", "nosuch")
    assert r.returncode == 1 and r.stderr == "Error: No such image: nosuch\n"
    assert len(json.loads(r.stdout)) == 1
    assert dy("image", "inspect", "-f", "{{.Id}}", "busybox", check=True).stdout == (
        busybox + "\n")


def test_tag_and_rmi(dy: Dy, busybox: str) -> None:
    dy("tag", "busybox", "bb:1", check=True)
    dy("tag", busybox[7:14], "localhost:5000/x/y:z", check=True)
    tags = json.loads(dy("image", "inspect", "bb:1", check=True).stdout)[0]["RepoTags"]
    assert set(tags) == {"busybox:latest", "bb:1", "localhost:5000/x/y:z"}
    r = dy("rmi", busybox[7:19])
    assert r.returncode == 1
    assert "unable to delete" in r.stderr and "must be forced" in r.stderr
    r = dy("rmi", "bb:1", check=True)
    assert r.stdout == "Untagged: bb:1\n"
    r = dy("rmi", "localhost:5000/x/y:z", check=True)
    assert r.stdout == "Untagged: localhost:5000/x/y:z\n"
    r = dy("rmi", "busybox", check=True)
    assert r.stdout.splitlines()[:2] == ["Untagged: busybox:latest", f"Deleted: {busybox}"]
    r = dy("rmi", "busybox")
    assert r.returncode == 1 and r.stderr == "Error: No such image: busybox\n"
    assert dy("images", "-q", check=True).stdout == ""
    assert dy("tag", "nosuch", "x").returncode == 1
    r = dy("tag", "x", "Bad:Tag")
    assert r.returncode == 1 and r.stderr.count("\n") == 1


def test_rmi_force_by_prefix_removes_everything(dy: Dy, busybox: str, root: Path) -> None:
    dy("tag", "busybox", "other:1", check=True)
    r = dy("rmi", "-f", busybox[7:11], check=True)
    assert "Untagged: other:1" in r.stdout and f"Deleted: {busybox}" in r.stdout
    assert list((root / "image/blobs/sha256").iterdir()) == []
    assert list((root / "image/snapshots").iterdir()) == []


def test_dangling_and_prune(dy: Dy, busybox: str, busybox_tar: Path) -> None:
    second = dy("import", "-m", "again", str(busybox_tar), "busybox", check=True).stdout.strip()
    assert second != busybox
    r = dy("images", check=True)
    assert "<none>" in r.stdout
    assert dy("images", "-f", "dangling=true", "-q", check=True).stdout == busybox[7:19] + "\n"
    assert dy("images", "-f", "reference=busy*", "-q", check=True).stdout == second[7:19] + "\n"
    assert dy("images", "-f", "bogus=1").returncode == 1
    r = dy("image", "prune", "-f", check=True)
    assert f"deleted: {busybox}" in r.stdout and "Total reclaimed space: " in r.stdout
    assert dy("images", "-q", "--no-trunc", check=True).stdout == second + "\n"
    r = dy("image", "prune", "-a", "-f", check=True)
    assert "untagged: busybox:latest" in r.stdout
    assert dy("images", "-q", check=True).stdout == ""


def test_history(dy: Dy, busybox: str) -> None:
    r = dy("history", "busybox", check=True)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(busybox[7:19]) and lines[1].endswith("Imported from -")
    assert dy("image", "history", "-q", "busybox", check=True).stdout == busybox[7:19] + "\n"


def test_bad_input_one_line_errors(dy: Dy, tmp_path: Path, busybox_tar: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b" + b"not gzip" * 50)
    for args in (["import", str(junk)], ["import", str(tmp_path / "missing.tar")],
                 ["import", "-c", "FROB x", str(busybox_tar)], ["load", "-i", str(junk)],
                 ["save", "-o", str(tmp_path / "o.tar"), "nosuch"],
                 ["import", str(busybox_tar), "UPPER"]):
        r = dy(*args)
        assert r.returncode == 1, args
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert dy("images", "--bogus").returncode == 125
    assert not (tmp_path / "o.tar").exists()
    assert dy("images", "-q", check=True).stdout == ""


@pytest.mark.peer
def test_save_is_read_by_skopeo_and_umoci(dy: Dy, busybox: str, tmp_path: Path) -> None:
    out = tmp_path / "bb.tar"
    dy("save", "-o", str(out), "busybox", check=True)
    info = json.loads(subprocess.run(["skopeo", "inspect", f"docker-archive:{out}"],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["Os"] == "linux" and len(info["Layers"]) == 1
    oci = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{out}", f"oci:{oci}:tag"],
                   check=True)
    subprocess.run(["skopeo", "inspect", f"oci-archive:{out}"], capture_output=True,
                   check=True)
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{oci}:tag", str(bundle)], check=True,
                   capture_output=True)
    rootfs = bundle / "rootfs"
    assert (rootfs / "bin/busybox").stat().st_size > 100_000
    assert (rootfs / "bin/sh").is_symlink() and (rootfs / "etc/passwd").exists()
    back = tmp_path / "back.tar"
    subprocess.run(["skopeo", "copy", "-q", f"oci:{oci}:tag",
                    f"docker-archive:{back}:example.com/back:v2"], check=True)
    r = dy("load", "-i", str(back), check=True)
    assert r.stdout == "Loaded image: example.com/back:v2\n"
    dy("rmi", "-f", busybox, check=True)
    r = dy("load", "-i", str(out), check=True)
    assert r.stdout == "Loaded image: busybox:latest\n"
    dy("rmi", "busybox", check=True)
    r = dy("load", input=out.read_bytes(), check=True)
    assert r.stdout == "Loaded image: busybox:latest\n"
    for fmt in ("gzip", "zstd"):  # OCI archives with compressed layers
        oa = tmp_path / f"{fmt}.tar"
        subprocess.run(["skopeo", "copy", "-q", "--dest-compress", "--dest-compress-format",
                        fmt, f"docker-archive:{out}", f"oci-archive:{oa}:example.com/c:{fmt}"],
                       check=True)
        r = dy("load", "-i", str(oa), check=True)
        assert r.stdout == f"Loaded image: example.com/c:{fmt}\n"
        (info,) = json.loads(dy("image", "inspect", f"example.com/c:{fmt}", check=True).stdout)
        assert info["RootFS"]["Layers"] == json.loads(dy(
            "image", "inspect", "busybox", check=True).stdout)[0]["RootFS"]["Layers"]
    assert dy("images", "-q", "--no-trunc", "busybox", check=True).stdout == busybox + "\n"


def test_load_over_existing_tag_and_filters(dy: Dy, busybox: str, busybox_tar: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "old.tar"
    dy("save", "-o", str(out), "busybox", check=True)
    newer = dy("import", str(busybox_tar), "busybox", check=True).stdout.strip()
    r = dy("load", "-i", str(out), check=True)
    assert r.stdout == (f"The image busybox:latest already exists, renaming the old one with "
                        f"ID {newer} to empty string\nLoaded image: busybox:latest\n")
    ids = dy("images", "-q", "--no-trunc", "-f", f"since={busybox}", check=True).stdout
    assert ids == f"{newer}\n"
    ids = dy("images", "-q", "--no-trunc", "-f", f"before={newer[7:19]}", check=True).stdout
    assert ids == f"{busybox}\n"


def test_prune_removes_dead_extractions(dy: Dy, root: Path, busybox: str) -> None:
    from dockyard.image.service import ImageService

    svc = ImageService(str(root))
    try:
        svc.snapshots.prepare("extract-deadbeef0000-sha256:" + "0" * 64)
        assert len(svc.snapshots.walk()) == 2
    finally:
        svc.close()
    dy("image", "prune", "-f", check=True)
    svc = ImageService(str(root))
    try:
        assert [s.kind for s in svc.snapshots.walk()] == ["committed"]
    finally:
        svc.close()


def test_rmi_respects_container_users(root: Path, busybox: str) -> None:
    from dockyard.engine.images import Images
    from dockyard.errors import Conflict

    images = Images(str(root), users=lambda image_id: ["c0ffee" * 10])
    try:
        with pytest.raises(Conflict, match="must force"):
            images.remove("busybox")
        images.tag("busybox", "second:tag")
        assert images.remove("second:tag") == ["Untagged: second:tag"]
        assert images.remove("busybox", force=True) == ["Untagged: busybox:latest"]
        assert images.resolve(busybox).id == busybox  # still there, dangling
        assert images.prune(all_=True) == ([], 0)
    finally:
        images.close()


def test_two_word_forms(dy: Dy, busybox: str, tmp_path: Path) -> None:
    dy("image", "tag", "busybox", "two:words", check=True)
    assert dy("image", "list", "-q", "two", check=True).stdout == busybox[7:19] + "\n"
    assert dy("image", "history", "-q", "two:words", check=True).stdout.strip() == busybox[7:19]
    dy("image", "save", "-o", str(tmp_path / "t.tar"), "two:words", check=True)
    assert dy("image", "rm", "two:words", check=True).stdout == "Untagged: two:words\n"
    assert dy("image", "load", "-i", str(tmp_path / "t.tar"), check=True).stdout == (
        "Loaded image: two:words\n")
    r = dy("image", "frob")
    assert r.returncode == 125 and "'image frob' is not a dockyard command" in r.stderr
    assert "Manage images" in dy("image", "--help", check=True).stdout


def test_save_selection(dy: Dy, busybox: str, busybox_tar: Path, tmp_path: Path) -> None:
    """docker's: a bare repository saves all its tags; an image named twice is one entry."""
    other = dy("import", "-m", "x", str(busybox_tar), "busybox:2", check=True).stdout.strip()
    dy("tag", "busybox:2", "busybox:two", check=True)
    out = tmp_path / "s.tar"
    dy("save", "-o", str(out), "busybox", "busybox:2", other[7:19], check=True)
    with tarfile.open(out) as tf:
        f = tf.extractfile("manifest.json")
        assert f is not None
        entries = json.load(f)
    assert sorted((e["Config"][-64:], sorted(e["RepoTags"])) for e in entries) == sorted(
        [(busybox[7:], ["busybox:latest"]), (other[7:], ["busybox:2", "busybox:two"])])
