"""Seeding a volume keeps owners, modes, times, xattrs, symlinks and hard links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.volume import copy_tree, is_empty_dir


def test_copy_tree_keeps_metadata(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files away")
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("data")
    os.chown(src / "sub" / "f", 1234, 5678)
    os.chmod(src / "sub" / "f", 0o640)
    os.chmod(src / "sub", 0o1750)
    os.link(src / "sub" / "f", src / "hard")
    os.symlink("sub/f", src / "link")
    os.mkfifo(src / "fifo", 0o600)
    os.utime(src / "sub" / "f", ns=(1_000_000_000, 2_000_000_000))
    try:
        os.setxattr(src / "sub" / "f", "user.tag", b"v1")
        xattrs = True
    except OSError:
        xattrs = False
    os.chmod(src, 0o711)
    dst.mkdir()
    assert is_empty_dir(str(dst)) and is_empty_dir(str(tmp_path / "absent"))
    copy_tree(str(src), str(dst))
    st = os.stat(dst / "sub" / "f")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 5678, 0o640)
    assert st.st_mtime_ns == 2_000_000_000
    assert os.stat(dst / "sub").st_mode & 0o7777 == 0o1750
    assert os.stat(dst).st_mode & 0o7777 == 0o711
    assert os.stat(dst / "hard").st_ino == st.st_ino
    assert os.readlink(dst / "link") == "sub/f"
    assert (dst / "fifo").is_fifo()
    if xattrs:
        assert os.getxattr(dst / "sub" / "f", "user.tag") == b"v1"
    assert not is_empty_dir(str(dst))
