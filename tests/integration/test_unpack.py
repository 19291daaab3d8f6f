"""Layer application into a plain directory (root needed for chown/mknod)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.image.unpack import apply_layer
from tests.layertools import entry, tar_bytes

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def apply(dest: Path, data: bytes, whiteouts: str = "overlay") -> str:
    dest.mkdir(exist_ok=True)
    return str(apply_layer(io.BytesIO(data), str(dest), whiteouts).diff_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("compress", ["", "gzip", "zstd"])
def test_compressions_and_diff_id(tmp_path: Path, compress: str) -> None:
    raw = tar_bytes(entry("a", data=b"hi"))
    diff_id = apply(tmp_path / "d", tar_bytes(entry("a", data=b"hi"), compress=compress))
    assert diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (tmp_path / "d/a").read_bytes() == b"hi"


def test_metadata(tmp_path: Path) -> None:
    apply(tmp_path / "d", tar_bytes(
        entry("bin", "dir", mode=0o750, uid=7, gid=8, mtime=1_000_000),
        entry("bin/su", data=b"x", mode=0o4755, uid=0, gid=0),
        entry("bin/sg", data=b"x", mode=0o2755, uid=5, gid=6),
        entry("tmp", "dir", mode=0o1777),
        entry("bin/sh", "sym", link="su", uid=3, gid=3),
        entry("dev/null", "chr", mode=0o666, dev=(1, 3)),
        entry("dev/fifo", "fifo", mode=0o600),
        entry("x", data=b"v", xattrs={"user.color": "blue"}),
    ))
    d = tmp_path / "d"
    st = os.lstat(d / "bin")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (
        0o750, 7, 8, 1_000_000)
    assert stat.S_IMODE(os.lstat(d / "bin/su").st_mode) == 0o4755
    sg = os.lstat(d / "bin/sg")
    assert (stat.S_IMODE(sg.st_mode), sg.st_uid) == (0o2755, 5)
    assert stat.S_IMODE(os.lstat(d / "tmp").st_mode) == 0o1777
    assert os.readlink(d / "bin/sh") == "su" and os.lstat(d / "bin/sh").st_uid == 3
    nul = os.lstat(d / "dev/null")
    assert stat.S_ISCHR(nul.st_mode) and nul.st_rdev == os.makedev(1, 3)
    assert stat.S_ISFIFO(os.lstat(d / "dev/fifo").st_mode)
    assert os.getxattr(d / "x", "user.color") == b"blue"
    assert os.lstat(d / "x").st_mtime == 1_600_000_000


def test_hardlinks_across_dirs_and_long_names(tmp_path: Path) -> None:
    long = "/".join(["d" * 60, "e" * 60, "f" * 70])
    apply(tmp_path / "d", tar_bytes(
        entry("a/file", data=b"shared"), entry("b/c/link", "link", link="a/file"),
        entry(long, data=b"long")))
    d = tmp_path / "d"
    assert os.lstat(d / "a/file").st_ino == os.lstat(d / "b/c/link").st_ino
    assert os.lstat(d / "a/file").st_nlink == 2
    assert (d / long).read_bytes() == b"long"


def test_size_counts_like_docker(tmp_path: Path) -> None:
    """docker's overlay2 layer size: lstat sizes, each inode once (du of the diff)."""
    (tmp_path / "d").mkdir()
    stats = apply_layer(io.BytesIO(tar_bytes(
        entry("dir", "dir"), entry("dir/f", data=b"abc"), entry("hard", "link", link="dir/f"),
        entry("sym", "sym", link="dir/f"), entry("fifo", "fifo"), entry(".wh.gone"))),
        str(tmp_path / "d"))
    assert stats.size == 3 + len("dir/f")


def test_sparse_file(tmp_path: Path) -> None:
    src = tmp_path / "sparse"
    with open(src, "wb") as f:
        f.seek(10 << 20)
        f.write(b"end")
    tarpath = tmp_path / "s.tar"
    subprocess.run(["tar", "--sparse", "-cf", str(tarpath), "-C", str(tmp_path), "sparse"],
                   check=True)
    with tarfile.open(tarpath) as tf:
        assert tf.getmember("sparse").issparse()
    apply(tmp_path / "d", tarpath.read_bytes())
    out = tmp_path / "d/sparse"
    assert out.stat().st_size == (10 << 20) + 3
    assert out.stat().st_blocks * 512 < (1 << 20)
    with open(out, "rb") as f:
        f.seek(10 << 20)
        assert f.read() == b"end"


def test_replace_file_by_dir_and_back(tmp_path: Path) -> None:
    d = tmp_path / "d"
    apply(d, tar_bytes(entry("x", data=b"file")), "delete")
    apply(d, tar_bytes(entry("x", "dir"), entry("x/y", data=b"in")), "delete")
    assert (d / "x/y").read_bytes() == b"in"
    apply(d, tar_bytes(entry("x", data=b"again")), "delete")
    assert (d / "x").read_bytes() == b"again"


def test_whiteouts_overlay_format(tmp_path: Path) -> None:
    apply(tmp_path / "d", tar_bytes(entry("etc", "dir"), entry("etc/.wh.gone"),
                                    entry("opq", "dir"), entry("opq/.wh..wh..opq"),
                                    entry(".wh..wh.plnk", "dir")))
    d = tmp_path / "d"
    wh = os.lstat(d / "etc/gone")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(d / "opq", "trusted.overlay.opaque") == b"y"
    assert not (d / ".wh..wh.plnk").exists()
    assert sorted(os.listdir(d)) == ["etc", "opq"]


def test_whiteouts_delete_format(tmp_path: Path) -> None:
    d = tmp_path / "d"
    apply(d, tar_bytes(entry("a/keep", data=b"1"), entry("a/gone", data=b"2"),
                       entry("o/old", data=b"3")), "delete")
    apply(d, tar_bytes(entry("a/.wh.gone"), entry("o", "dir"), entry("o/new", data=b"4"),
                       entry("o/.wh..wh..opq")), "delete")
    assert sorted(os.listdir(d / "a")) == ["keep"]
    assert sorted(os.listdir(d / "o")) == ["new"]


@pytest.mark.parametrize("evil", [
    [entry("../escape", data=b"x")],
    [entry("/abs", data=b"x")],
    [entry("a/../../escape", data=b"x")],
    [entry("lnk", "sym", link="/tmp"), entry("lnk/escape", data=b"x")],
    [entry("lnk", "sym", link="../.."), entry("lnk/escape", data=b"x")],
    [entry("h", "link", link="../../etc/passwd")],
    [entry("l", "sym", link="/etc"), entry("h", "link", link="l/passwd")],
    [entry("d", "dir"), entry("d/l", "sym", link="/"), entry("d/l/etc/escape", data=b"x")],
])
def test_escapes_rejected(tmp_path: Path, evil: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    before = set(os.listdir("/tmp"))
    (tmp_path / "a/b").mkdir(parents=True)
    with pytest.raises(InvalidArgument, match="invalid layer entry"):
        apply(tmp_path / "a/b/d", tar_bytes(*evil))
    assert not (tmp_path / "a/escape").exists() and not (tmp_path / "escape").exists()
    assert set(os.listdir("/tmp")) - before == set()


@pytest.mark.parametrize("comp", ["bz2", "xz"])
def test_bzip2_and_xz(tmp_path: Path, comp: str) -> None:
    import bz2
    import lzma

    raw = tar_bytes(entry("a", data=b"hi"))
    data = bz2.compress(raw) if comp == "bz2" else lzma.compress(raw)
    assert apply(tmp_path / "d", data) == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_link_to_directory_is_a_layer_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="invalid layer entry 'l'"):
        apply(tmp_path / "d", tar_bytes(entry("dir", "dir"), entry("l", "link", link="dir")))


def test_dir_replaced_within_one_layer_and_dir_mtimes(tmp_path: Path) -> None:
    apply(tmp_path / "d", tar_bytes(entry("x", "dir", mtime=5), entry("x/y", data=b"1"),
                                    entry("x", data=b"now a file", mtime=7),
                                    entry("p", "dir", mtime=11), entry("p/q", "dir", mtime=13),
                                    entry("p/q/r", data=b"r")))
    d = tmp_path / "d"
    assert (d / "x").read_bytes() == b"now a file" and os.lstat(d / "x").st_mtime == 7
    assert os.lstat(d / "p").st_mtime == 11 and os.lstat(d / "p/q").st_mtime == 13


def test_layer_cannot_set_overlay_xattrs(tmp_path: Path) -> None:
    apply(tmp_path / "d", tar_bytes(
        entry("dir", "dir", xattrs={"trusted.overlay.redirect": "/etc",
                                    "trusted.overlay.opaque": "y", "user.ok": "1"})))
    assert os.listxattr(tmp_path / "d/dir") == ["user.ok"]


def test_corrupt_archive(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="invalid layer archive"):
        apply(tmp_path / "d", b"\x1f\x8b" + b"garbage" * 100)


def test_diff_round_trip_overlay_format(tmp_path: Path) -> None:
    """upper dir -> write_diff -> apply_layer gives the same tree, whiteouts included."""
    from dockyard.image.snapshots.diff import write_diff

    src = tmp_path / "src"
    apply(src, tar_bytes(entry("etc", "dir", mode=0o750, uid=3), entry("etc/gone"),
                         entry("etc/.wh.gone"), entry("opq", "dir"), entry("opq/.wh..wh..opq"),
                         entry("opq/kept", data=b"k"), entry("a/f", data=b"x", mode=0o4755),
                         entry("b/hl", "link", link="a/f"), entry("s", "sym", link="a/f"),
                         entry("x", data=b"v", xattrs={"user.k": "v"}),
                         entry("dev/null", "chr", dev=(1, 3))))
    buf = io.BytesIO()
    diff_id = write_diff(str(src), buf)
    assert diff_id == "sha256:" + hashlib.sha256(buf.getvalue()).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        names = tf.getnames()
    assert "etc/.wh.gone" in names and "opq/.wh..wh..opq" in names
    dst = tmp_path / "dst"
    apply(dst, buf.getvalue())

    def snapshot(root: Path) -> dict[str, tuple[int, int, int, bytes, list[str]]]:
        out = {}
        for dirpath, dirs, files in os.walk(root):
            for n in dirs + files:
                p = os.path.join(dirpath, n)
                st = os.lstat(p)
                data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else b""  # noqa: SIM115
                out[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_rdev, data,
                                                 sorted(os.listxattr(p, follow_symlinks=False)))
        return out

    assert snapshot(dst) == snapshot(src)
    assert os.lstat(dst / "a/f").st_ino == os.lstat(dst / "b/hl").st_ino
