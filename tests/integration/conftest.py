from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import make_busybox_rootfs
from tests.integration.runtimes import DOCKYARD_RUNTIME, Runtime, remove_test_cgroup_parents

Dy = Callable[..., subprocess.CompletedProcess[str]]


# --- OCI runtimes --------------------------------------------------------------------

def _runtime(name: str, tmp_path: Path) -> Runtime:
    if name == "dockyard":
        return Runtime("dockyard", list(DOCKYARD_RUNTIME), tmp_path / "state-dockyard")
    runc = shutil.which("runc")
    if runc is None:
        pytest.skip("runc is not installed")
    return Runtime("runc", [runc], tmp_path / "state-runc")


@pytest.fixture(params=["dockyard", "runc"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """Each observable case runs under dockyard-runtime and under runc."""
    rt = _runtime(request.param, tmp_path)
    try:
        yield rt
    finally:
        rt.cleanup()
        remove_test_cgroup_parents()


@pytest.fixture
def dockyard_runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = _runtime("dockyard", tmp_path)
    try:
        yield rt
    finally:
        rt.cleanup()
        remove_test_cgroup_parents()


# --- the dockyard CLI and images -------------------------------------------------------

@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs from Debian's busybox-static, as a tar."""
    d = tmp_path_factory.mktemp("bb")
    root = make_busybox_rootfs(d / "rootfs")
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
