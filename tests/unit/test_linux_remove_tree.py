"""dockyard.linux.fs.remove_tree: shutil.rmtree(path, ignore_errors=True) without shutil."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dockyard.linux.fs import remove_tree


def make_tree(top: Path, outside: Path) -> None:
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "a" / "f").write_text("x")
    (top / "a" / "b" / "c" / "deep").write_text("y")
    (top / "empty").mkdir()
    os.symlink(outside, top / "a" / "link-dir")
    os.symlink(outside / "keep", top / "link-file")
    os.symlink("/nonexistent", top / "dangling")
    os.mkfifo(top / "fifo")
    (top / "ro").mkdir()
    (top / "ro" / "g").write_text("z")
    (top / "ro").chmod(0o500)


def test_removes_everything_and_follows_no_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("kept")
    top = tmp_path / "tree"
    make_tree(top, outside)
    remove_tree(str(top))
    assert not top.exists() and not top.is_symlink()
    assert (outside / "keep").read_text() == "kept"


def test_missing_paths_files_and_symlinks_are_left_alone_as_shutil_does(tmp_path: Path) -> None:
    remove_tree(str(tmp_path / "missing"))
    f = tmp_path / "file"
    f.write_text("x")
    remove_tree(str(f))
    assert f.read_text() == "x"
    target = tmp_path / "target"
    target.mkdir()
    (target / "inside").write_text("y")
    link = tmp_path / "link"
    os.symlink(target, link)
    remove_tree(str(link))
    assert link.is_symlink() and (target / "inside").read_text() == "y"


def test_importing_it_does_not_import_shutil() -> None:
    code = "import sys, dockyard.linux.fs; print('shutil' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
