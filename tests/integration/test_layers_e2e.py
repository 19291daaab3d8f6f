"""Hand-made layers through the CLI, then the image mounted as a container would see it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dockyard.image.unpack import decompressed
from tests.integration.conftest import Dy, no_mounts_under
from tests.layertools import entry, tar_bytes

pytestmark = [pytest.mark.integration]


def docker_archive(path: Path, layers: list[bytes], tag: str) -> None:
    diff_ids = ["sha256:" + hashlib.sha256(decompressed(io.BytesIO(lay)).read()).hexdigest()
                for lay in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "created": "2024-01-01T00:00:00Z",
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    members = {f"l{i}/layer.tar": lay for i, lay in enumerate(layers)}
    members["config.json"] = cfg
    members["manifest.json"] = json.dumps([{"Config": "config.json", "RepoTags": [tag],
                                            "Layers": [f"l{i}/layer.tar"
                                                       for i in range(len(layers))]}]).encode()
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))


L1 = tar_bytes(entry("etc", "dir"), entry("etc/a", data=b"a1"), entry("etc/b", data=b"b1"),
               entry("opq/old", data=b"o1"), entry("x", data=b"file1"),
               entry("d1/f", data=b"linked"), entry("d2/g", "link", link="d1/f"),
               entry("sbin/su", data=b"su", mode=0o4755), entry("tmp", "dir", mode=0o1777),
               entry("attr", data=b"x", xattrs={"user.k": "v"}),
               entry("long/" + "n" * 150, data=b"long"))
L2 = tar_bytes(entry("etc/.wh.a"), entry("opq", "dir"), entry("opq/.wh..wh..opq"),
               entry("opq/new", data=b"n2"), entry("x", "dir"), entry("x/in", data=b"i2"),
               compress="gzip")
L3 = tar_bytes(entry("etc/a", data=b"a3"), entry("x", data=b"file3"),
               entry("opq/.wh.new"), entry("opq/three", data=b"t3"), compress="zstd")

MOUNT_SCRIPT = """
import os, sys, json
from dockyard.image.service import ImageService
from dockyard.image.snapshots import mount_all, unmount
svc = ImageService(sys.argv[1])
target = sys.argv[2]
mounts = svc.prepare_rootfs("ctr-test", sys.argv[3])
mount_all(mounts, target)
try:
    out = {}
    for dp, dirs, files in os.walk(target):
        for f in files:
            p = os.path.join(dp, f)
            st = os.lstat(p)
            out[os.path.relpath(p, target)] = [open(p, "rb").read().decode(), st.st_mode,
                                               st.st_ino, os.listxattr(p)]
    print(json.dumps(out))
finally:
    unmount(target)
    svc.snapshots.remove("ctr-test")
"""


@pytest.mark.parametrize("driver", ["overlayfs", "vfs"])
def test_three_layers_whiteouts_merged(dy: Dy, root: Path, tmp_path: Path,
                                       driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", driver)
    arch = tmp_path / "three.tar"
    docker_archive(arch, [L1, L2, L3], "three:layers")
    assert dy("load", "-i", str(arch), check=True).stdout == "Loaded image: three:layers\n"
    target = tmp_path / "mnt"
    target.mkdir()
    r = subprocess.run([sys.executable, "-c", MOUNT_SCRIPT, str(root), str(target), "three:layers"],
                       capture_output=True, text=True, env={**os.environ})
    assert r.returncode == 0, r.stderr
    view = json.loads(r.stdout)
    content = {k: v[0] for k, v in view.items()}
    assert content == {"etc/a": "a3", "etc/b": "b1", "opq/three": "t3", "x": "file3",
                       "d1/f": "linked", "d2/g": "linked", "sbin/su": "su", "attr": "x",
                       "long/" + "n" * 150: "long"}
    assert view["d1/f"][2] == view["d2/g"][2]  # one inode: a hard link
    assert view["sbin/su"][1] & 0o7777 == 0o4755
    assert "user.k" in view["attr"][3]
    assert no_mounts_under(tmp_path)
    info = json.loads(dy("image", "inspect", "three:layers", check=True).stdout)[0]
    assert len(info["RootFS"]["Layers"]) == 3
    assert info["GraphDriver"]["Name"] == driver


@pytest.mark.parametrize("evil", [
    [entry("../escape", data=b"x")],
    [entry("/abs", data=b"x")],
    [entry("lnk", "sym", link="/"), entry("lnk/tmp/escape", data=b"x")],
    [entry("lnk", "sym", link="../../../.."), entry("lnk/escape", data=b"x")],
])
def test_escaping_layers_rejected_nothing_left(dy: Dy, root: Path, tmp_path: Path,
                                               evil: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    bad = tmp_path / "evil.tar"
    bad.write_bytes(tar_bytes(entry("ok", data=b"fine"), *evil))
    r = dy("import", str(bad), "evil")
    assert r.returncode == 1
    assert r.stderr.startswith("Error: invalid layer entry") and r.stderr.count("\n") == 1
    assert dy("images", "-q", "-a", check=True).stdout == ""
    for sub in ("blobs/sha256", "ingest", "snapshots"):
        assert list((root / "image" / sub).iterdir()) == [], sub
    assert not (tmp_path / "escape").exists() and not Path("/tmp/escape").exists()


def test_concurrent_imports_unpack_once(dy: Dy, root: Path, busybox_tar: Path) -> None:
    cmd = [sys.executable, "-m", "dockyard", "--root", str(root), "import", str(busybox_tar)]
    procs = [subprocess.Popen([*cmd, f"bb:{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(3)]
    outs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len(os.listdir(root / "image/snapshots")) == 1
    assert len(dy("images", "-q", check=True).stdout.split()) == 3
