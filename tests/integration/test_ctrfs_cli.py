"""cp, diff, commit and export as a user types them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import unique_name

pytestmark = pytest.mark.integration


def test_cp_out_of_running_and_stopped(cli: Dy, busybox: str, tmp_path: Path) -> None:
    name = unique_name("cpout")
    cli("run", "-d", "--name", name, busybox, "sh", "-c",
        "mkdir /d; echo hello > /d/f; ln -s / /d/esc; sleep 100", check=True)
    cli("exec", name, "test", "-e", "/d/esc", check=True)
    out = tmp_path / "out"
    out.mkdir()
    cli("cp", f"{name}:/d/f", str(out) + "/", check=True)
    assert (out / "f").read_text() == "hello\n"
    cli("cp", f"{name}:/d", str(out / "dd"), check=True)
    assert (out / "dd" / "f").read_text() == "hello\n"
    assert os.readlink(out / "dd" / "esc") == "/"
    r = cli("cp", f"{name}:/nope", str(out))
    assert r.returncode == 1
    assert r.stderr.strip() == f"Error: No such container:path: {name}:/nope"
    r = cli("cp", "nosuch-ctr-x:/d", str(out))
    assert r.returncode == 1 and "No such container: nosuch-ctr-x" in r.stderr
    cli("cp", f"{name}:/d/esc", str(out / "link"), check=True)
    assert os.readlink(out / "link") == "/"
    cli("exec", name, "ln", "-s", "../d/f", "/d/rel", check=True)
    cli("cp", "-L", f"{name}:/d/rel", str(out / "followed"), check=True)
    assert (out / "followed").read_text() == "hello\n"
    cli("stop", "-t", "1", name, check=True)
    cli("cp", f"{name}:/d/f", str(out / "again"), check=True)
    assert (out / "again").read_text() == "hello\n"
    cli("cp", f"{name}:/d/esc/etc/hostname", str(out / "h"), check=True)  # its own /etc


def test_cp_into_container_stays_inside(cli: Dy, busybox: str, tmp_path: Path) -> None:
    name = unique_name("cpin")
    marker = f"dockyard-escape-{os.getpid()}"
    cli("run", "-d", "--name", name, busybox, "sh", "-c",
        "mkdir /d; ln -s / /d/esc; ln -s ../../../../../../tmp /d/up; sleep 100", check=True)
    src = tmp_path / marker
    src.write_text("data\n")
    try:
        cli("cp", str(src), f"{name}:/d/esc/tmp/", check=True)
        cli("cp", str(src), f"{name}:/d/up/", check=True)
        assert not Path("/tmp", marker).exists()
        r = cli("exec", name, "cat", f"/tmp/{marker}", check=True)
        assert r.stdout == "data\n"
        # a directory into a new name, then its contents into an existing directory
        d = tmp_path / "tree"
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "x").write_text("x\n")
        cli("cp", str(d), f"{name}:/newtree", check=True)
        assert cli("exec", name, "cat", "/newtree/sub/x", check=True).stdout == "x\n"
        cli("cp", str(d) + "/.", f"{name}:/d", check=True)
        assert cli("exec", name, "cat", "/d/sub/x", check=True).stdout == "x\n"
        r = cli("cp", str(d), f"{name}:/newtree/sub/x")
        assert r.returncode == 1 and "cannot copy a directory to a file" in r.stderr
        cli("stop", "-t", "1", name, check=True)
        cli("cp", str(src), f"{name}:/stopped.txt", check=True)
        cli("start", name, check=True)
        assert cli("exec", name, "cat", "/stopped.txt", check=True).stdout == "data\n"
    finally:
        Path("/tmp", marker).unlink(missing_ok=True)


def test_cp_sees_volumes_of_running_container(cli: Dy, busybox: str,
                                              tmp_path: Path) -> None:
    name = unique_name("cpvol")
    vol = unique_name("vol")
    cli("run", "-d", "--name", name, "-v", f"{vol}:/data", busybox, "sh", "-c",
        "echo invol > /data/f; sleep 100", check=True)
    try:
        for _ in range(50):
            if cli("exec", name, "test", "-s", "/data/f").returncode == 0:
                break
        cli("cp", f"{name}:/data/f", str(tmp_path / "f"), check=True)
        assert (tmp_path / "f").read_text() == "invol\n"
        (tmp_path / "g").write_text("g\n")
        cli("cp", str(tmp_path / "g"), f"{name}:/data/", check=True)
        mp = cli("volume", "inspect", "-f", "{{.Mountpoint}}", vol, check=True).stdout.strip()
        assert Path(mp, "g").read_text() == "g\n"
    finally:
        cli("rm", "-f", name)
        cli("volume", "rm", "-f", vol)


def test_cp_tar_streams_and_archive_mode(cli: Dy, busybox: str, root: Path,
                                         tmp_path: Path) -> None:
    name = unique_name("cptar")
    cli("run", "-d", "--name", name, busybox, "sh", "-c",
        "mkdir /d; echo hi > /d/f; chown 1000:1000 /d/f; sleep 100", check=True)
    b = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                        "--exec-root", str(tmp_path / "exec"), "cp", f"{name}:/d", "-"],
                       capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(b.stdout)) as tf:
        members = {m.name: m for m in tf}
        assert set(members) == {"d", "d/f"}
        assert members["d/f"].uid == 1000
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("in/file")
        ti.size, ti.uid, ti.gid = 3, 123, 456
        tf.addfile(ti, io.BytesIO(b"abc"))
    cli("cp", "-a", "-", f"{name}:/tmp", input=buf.getvalue(), check=True)
    r = cli("exec", name, "stat", "-c", "%u:%g %s", "/tmp/in/file", check=True)
    assert r.stdout.strip() == "123:456 3"
    out = tmp_path / "f-plain"
    cli("cp", f"{name}:/d/f", str(out), check=True)
    assert out.stat().st_uid == os.geteuid()
    cli("cp", "-a", f"{name}:/d/f", str(tmp_path / "f-archive"), check=True)
    assert (tmp_path / "f-archive").stat().st_uid == 1000


def test_diff_commit_export(cli: Dy, busybox: str, tmp_path: Path) -> None:
    name = unique_name("diff")
    cli("run", "--name", name, busybox, "sh", "-c",
        "echo hi > /tmp/x; rm /bin/ls; mkdir -p /a/b; echo y > /a/b/c; "
        "echo z >> /etc/passwd", check=True)
    r = cli("diff", name, check=True)
    assert r.stdout.splitlines() == [
        "A /a", "A /a/b", "A /a/b/c", "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd",
        "C /tmp", "A /tmp/x"]
    assert cli("diff", "nosuch-ctr-x").returncode == 1
    tag = f"committed-{os.getpid()}:v1"
    r = cli("commit", "-c", 'CMD ["cat", "/tmp/x"]', "-c", "ENV C=1", "-m", "my msg",
            "-a", "me", name, tag, check=True)
    assert r.stdout.startswith("sha256:")
    r = cli("run", "--rm", tag, check=True)
    assert r.stdout == "hi\n"
    r = cli("run", "--rm", tag, "sh", "-c", "echo $C; ls /bin/ls", )
    assert r.stdout.startswith("1\n") and r.returncode != 0
    r = cli("history", "--no-trunc", "--format", "{{.Comment}}", tag, check=True)
    assert r.stdout.splitlines()[0] == "my msg"
    out = tmp_path / "fs.tar"
    cli("export", "-o", str(out), name, check=True)
    with tarfile.open(out) as tf:
        names = set(tf.getnames())
        assert "tmp/x" in names and "a/b/c" in names and "bin/busybox" in names
        assert "bin/ls" not in names
        f = tf.extractfile("tmp/x")
        assert f is not None and f.read() == b"hi\n"


def test_diff_commit_cp_on_the_copy_snapshotter(cli: Dy, busybox_tar: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", "vfs")
    cli("import", str(busybox_tar), "busybox", check=True)
    name = unique_name("vfs")
    cli("run", "--name", name, "busybox", "sh", "-c",
        "echo hi > /tmp/x; rm /bin/ls; mkdir -p /a/b; echo y > /a/b/c", check=True)
    assert cli("diff", name, check=True).stdout.splitlines() == [
        "A /a", "A /a/b", "A /a/b/c", "C /bin", "D /bin/ls", "C /tmp", "A /tmp/x"]
    tag = f"vfs-commit-{os.getpid()}"
    cli("commit", "-c", "CMD cat /tmp/x", name, tag, check=True)
    assert cli("run", "--rm", tag, check=True).stdout == "hi\n"
    cli("cp", f"{name}:/a", str(tmp_path / "a"), check=True)
    assert (tmp_path / "a" / "b" / "c").read_text() == "y\n"
