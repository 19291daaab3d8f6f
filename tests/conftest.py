"""Shared fixtures: a busybox rootfs built from Debian's busybox-static, and bundles."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"


def _is_root() -> bool:
    return os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _is_root():
        return
    skip = pytest.mark.skip(reason="needs root and a real kernel")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def make_busybox_rootfs(dest: Path) -> Path:
    """/bin/busybox with one symlink per applet, /etc/passwd and /etc/group."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed")
    (dest / "bin").mkdir(parents=True)
    (dest / "etc").mkdir()
    (dest / "tmp").mkdir(mode=0o1777)
    (dest / "root").mkdir(mode=0o700)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", dest / "bin" / applet)
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                         "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (dest / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return dest


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")
