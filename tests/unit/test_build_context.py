"""The build context: paths stay inside it; COPY's source and destination rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.build.context import BuildContext, open_context
from dockyard.build.dockerignore import IgnoreMatcher
from dockyard.build.files import plan_copy
from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.rootpath import scoped


def _ctx(root: Path, ignore: list[str] | None = None) -> BuildContext:
    return BuildContext(str(root), "", "Dockerfile", IgnoreMatcher(ignore or []))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "d" / "e").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    (root / "d" / "e" / "f").write_text("f")
    os.symlink("d/e", root / "in_link")
    os.symlink("../../outside", root / "d" / "out_rel")
    os.symlink("/etc", root / "abs_link")
    (tmp_path / "outside").write_text("secret")
    return root


def test_resolve_stays_inside(tree: Path) -> None:
    ctx = _ctx(tree)
    assert ctx.resolve("a.txt") == str(tree / "a.txt")
    assert ctx.resolve("/a.txt") == str(tree / "a.txt")
    assert ctx.resolve("./d/../a.txt") == str(tree / "a.txt")
    assert ctx.resolve("in_link/f") == str(tree / "d" / "e" / "f")
    for bad in ("../outside", "d/out_rel", "abs_link/passwd", "../../x"):
        with pytest.raises(InvalidArgument, match="outside the build context"):
            ctx.resolve(bad)


def test_image_roots_scope_symlinks(tree: Path) -> None:
    ctx = BuildContext(str(tree), "", "", IgnoreMatcher([]), in_image=True)
    assert ctx.resolve("abs_link/passwd") == str(tree / "etc" / "passwd")
    assert scoped(str(tree), "/d/out_rel") == str(tree / "outside")


def test_walk_skips_ignored_but_finds_exceptions(tree: Path) -> None:
    ctx = _ctx(tree, ["d", "!d/e/f", "*.txt"])
    got = [os.path.relpath(p, tree) for p in ctx.walk(str(tree))]
    assert got == ["abs_link", "d/e/f", "in_link"]


def test_plan_copy_rules(tree: Path) -> None:
    ctx = _ctx(tree)
    p = plan_copy(ctx, ["a.txt"], "x", "/work", "COPY")
    assert p.dest == "/work/x" and not p.dest_is_dir
    p = plan_copy(ctx, ["a.txt"], ".", "/work", "COPY")
    assert p.dest == "/work/" and p.dest_is_dir
    p = plan_copy(ctx, ["*.txt"], "/out/", "/", "COPY")
    assert [n for _, n in p.sources] == ["a.txt", "b.txt"]
    with pytest.raises(InvalidArgument, match="destination must be a directory"):
        plan_copy(ctx, ["*.txt"], "/out", "/", "COPY")
    with pytest.raises(InvalidArgument, match="destination must be a directory"):
        plan_copy(ctx, ["a.txt", "b.txt"], "/out", "/", "COPY")
    with pytest.raises(NotFound, match="no source files were specified"):
        plan_copy(ctx, ["*.nope"], "/out/", "/", "COPY")
    with pytest.raises(NotFound, match="stat nope: file does not exist"):
        plan_copy(ctx, ["nope"], "/out/", "/", "ADD")
    with pytest.raises(NotFound, match=r"excluded by \.dockerignore"):
        plan_copy(_ctx(tree, ["a.txt"]), ["a.txt"], "/out/", "/", "COPY")


def test_open_context_dockerfile_anywhere_and_stdin(tree: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "Other.Dockerfile"
    elsewhere.write_text("FROM scratch\n")
    (tree / ".dockerignore").write_text("*.txt\n")
    with open_context(str(tree), str(elsewhere), None, str(tmp_path)) as ctx:
        assert ctx.dockerfile == "FROM scratch\n" and ctx.ignore.excluded("a.txt")
    import io

    with open_context("-", None, io.BytesIO(b"FROM scratch\nENV A=1\n"),
                      str(tmp_path)) as ctx:
        assert ctx.dockerfile.endswith("ENV A=1\n") and ctx.owned
        root = ctx.root
    assert not os.path.exists(root)
    with pytest.raises(NotFound, match="no such file"):
        open_context(str(tree), str(tmp_path / "nope"), None, str(tmp_path))
