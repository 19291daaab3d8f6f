"""One contract suite, run on every snapshotter (STYLE rule 5)."""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.layertools import entry, tar_bytes

from dockyard.errors import Conflict, NotFound
from dockyard.image.snapshots import (
    CopySnapshotter,
    OverlaySnapshotter,
    Snapshotter,
    mount_all,
    unmount,
)
from dockyard.image.snapshots.diff import write_diff
from dockyard.image.unpack import apply_layer
from dockyard.sqlite import connect

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts)")

IMPLS: dict[str, Callable[[str, sqlite3.Connection], Snapshotter]] = {
    "overlay": OverlaySnapshotter, "copy": CopySnapshotter}


@pytest.fixture(params=sorted(IMPLS))
def sn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Snapshotter]:
    conn: sqlite3.Connection = connect(str(tmp_path / "root"))
    yield IMPLS[request.param](str(tmp_path / "root"), conn)
    conn.close()


def layer(sn: Snapshotter, name: str, parent: str, data: bytes) -> None:
    key = f"extract-{name}"
    sn.prepare(key, parent)
    apply_layer(io.BytesIO(data), sn.upper(key), sn.whiteouts)
    sn.commit(name, key)


def mounted_listing(sn: Snapshotter, key: str, target: Path) -> dict[str, str]:
    target.mkdir(exist_ok=True)
    mount_all(sn.mounts(key), str(target))
    try:
        out = {}
        for dirpath, _dirs, files in os.walk(target):
            for f in files:
                p = os.path.join(dirpath, f)
                out[os.path.relpath(p, target)] = open(p).read()  # noqa: SIM115
        return out
    finally:
        unmount(str(target))


L1 = tar_bytes(entry("etc/a", data=b"a1"), entry("etc/b", data=b"b1"),
               entry("opq/old", data=b"o1"), entry("x", data=b"file1"))
L2 = tar_bytes(entry("etc/.wh.a"), entry("opq", "dir"), entry("opq/.wh..wh..opq"),
               entry("opq/new", data=b"n2"), entry("x", "dir"), entry("x/in", data=b"i2"))
L3 = tar_bytes(entry("etc/a", data=b"a3"), entry("x", data=b"file3"),
               entry("opq/.wh.new"), entry("opq/three", data=b"t3"))


def test_lifecycle(sn: Snapshotter) -> None:
    sn.prepare("a")
    assert sn.stat("a").kind == "active"
    sn.commit("A", "a")
    assert not sn.exists("a") and sn.stat("A").kind == "committed"
    sn.prepare("b", "A")
    assert sn.stat("b").parent == "A"
    with pytest.raises(Conflict):
        sn.prepare("c", "b")  # parent must be committed
    with pytest.raises(Conflict):
        sn.remove("A")  # has a child
    with pytest.raises(Conflict):
        sn.prepare("b", "A")
    sn.prepare("other")
    with pytest.raises(Conflict):
        sn.commit("A", "other")
    assert sn.exists("other")
    sn.remove("b")
    sn.remove("other")
    sn.remove("A")
    assert sn.walk() == []
    with pytest.raises(NotFound):
        sn.stat("A")


def test_three_layers_merged_view(sn: Snapshotter, tmp_path: Path) -> None:
    layer(sn, "l1", "", L1)
    layer(sn, "l2", "l1", L2)
    layer(sn, "l3", "l2", L3)
    sn.prepare("ctr", "l3")
    want = {"etc/a": "a3", "etc/b": "b1", "opq/three": "t3", "x": "file3"}
    assert mounted_listing(sn, "ctr", tmp_path / "mnt") == want
    sn.view("v2", "l2")
    assert mounted_listing(sn, "v2", tmp_path / "mnt2") == {
        "etc/b": "b1", "opq/new": "n2", "x/in": "i2"}
    # a container writes, then its diff is a layer with whiteouts
    mnt = tmp_path / "mnt3"
    mnt.mkdir()
    mount_all(sn.mounts("ctr"), str(mnt))
    try:
        os.unlink(mnt / "etc/b")
        (mnt / "new").write_text("fresh")
    finally:
        unmount(str(mnt))
    lower = None
    if sn.whiteouts == "delete":
        lower = sn.upper("l3")
    buf = io.BytesIO()
    write_diff(sn.upper("ctr"), buf, lower)
    layer(sn, "l4", "l3", buf.getvalue())
    sn.prepare("ctr2", "l4")
    assert mounted_listing(sn, "ctr2", tmp_path / "mnt4") == {
        "etc/a": "a3", "new": "fresh", "opq/three": "t3", "x": "file3"}
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()


def test_choice_is_recorded_per_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.image.snapshots import new_snapshotter

    conn = connect(str(tmp_path))
    try:
        monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", "vfs")
        assert new_snapshotter(str(tmp_path), conn).name == "vfs"
        monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", "overlayfs")
        assert new_snapshotter(str(tmp_path), conn).name == "vfs"
        assert (tmp_path / "image/snapshotter").read_text() == "vfs\n"
    finally:
        conn.close()


def test_deep_chain_mounts(sn: Snapshotter, tmp_path: Path) -> None:
    """More layers than fit one page of overlay lowerdir= paths (Docker allows 127)."""
    parent = ""
    for i in range(130):
        layer(sn, f"layer-{i:03d}-" + "x" * 40, parent, tar_bytes(entry(f"f{i}", data=b"%d" % i)))
        parent = f"layer-{i:03d}-" + "x" * 40
    sn.prepare("deep", parent)
    view = mounted_listing(sn, "deep", tmp_path / "mnt")
    assert len(view) == 130 and view["f0"] == "0" and view["f129"] == "129"
    assert no_leftover_mounts(tmp_path)


def no_leftover_mounts(path: Path) -> bool:
    return str(path) not in Path("/proc/self/mountinfo").read_text()
