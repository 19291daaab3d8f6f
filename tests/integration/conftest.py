from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.runtimes import DOCKYARD_RUNTIME, Runtime, remove_test_cgroup_parents


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
