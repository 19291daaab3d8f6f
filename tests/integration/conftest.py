from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"

Dy = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs from Debian's busybox-static, as a tar."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static not installed")
    d = tmp_path_factory.mktemp("bb")
    root = d / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "tmp").mkdir(mode=0o1777)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", root / "bin" / a)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    out = d / "busybox.tar"
    with tarfile.open(out, "w") as tf:
        for p in sorted(root.iterdir()):
            tf.add(p, arcname=p.name)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def dy(root: Path) -> Dy:
    def run(*args: str, input: bytes | str | None = None, check: bool = False,
            ) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        b = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root), *args],
                           input=data, capture_output=True)
        r = subprocess.CompletedProcess(b.args, b.returncode, b.stdout.decode(),
                                        b.stderr.decode())
        assert "Traceback" not in r.stderr, r.stderr
        if check:
            assert r.returncode == 0, r.stderr
        return r

    return run


@pytest.fixture
def busybox(dy: Dy, busybox_tar: Path) -> str:
    r = dy("import", str(busybox_tar), "busybox", check=True)
    return r.stdout.strip()


def no_mounts_under(path: Path) -> bool:
    return str(path) not in Path("/proc/self/mountinfo").read_text()
