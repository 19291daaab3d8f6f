"""One contract suite for ``CgroupManager`` (STYLE rule 5), run on every implementation:
the v1/hybrid driver and the v2 driver on fake cgroupfs trees, and whatever driver this
host selects on its real cgroups (root only, marked integration).

The fake kernel creates control files on mkdir, drops them on rmdir, keeps cgroup.procs
as a list, and honours cgroup.freeze/cgroup.kill. Processes are real ``sleep`` children in
every variant, so signals always reach our own processes.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.cgroups import fs as cgfs
from dockyard.runtime.cgroups import open_manager
from dockyard.runtime.cgroups.v1 import V1Manager
from dockyard.runtime.cgroups.v2 import V2Manager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.cgroups.protocol import CgroupManager

V1_FILES = {
    "memory": {"memory.limit_in_bytes": "9223372036854771712", "memory.usage_in_bytes": "0",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0"},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "freezer": {"freezer.state": "THAWED"},
    "cpu": {"cpu.shares": "1024"},
    "unified": {},
}
V2_FILES = {"memory.max": "max", "memory.events": "oom_kill 0", "pids.max": "max",
            "pids.current": "0", "cgroup.freeze": "0", "cgroup.events": "frozen 0",
            "cgroup.kill": "", "cgroup.subtree_control": "", "cpu.weight": "100"}


class Variant:
    def __init__(self, mgr: CgroupManager) -> None:
        self.mgr = mgr
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self) -> int:
        p = subprocess.Popen(["sleep", "60"])
        self.procs.append(p)
        return p.pid

    def reap(self) -> list[int]:
        return [p.wait(10) for p in self.procs]

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def _fake_kernel(root: Path, v2: bool, mp: pytest.MonkeyPatch) -> None:
    real_mkdir, real_write, real_rmdir = cgfs.mkdir_p, cgfs.write, os.rmdir
    real_procs = cgfs.read_procs

    def mkdir_p(path: str) -> list[str]:
        created = real_mkdir(path)
        for d in created:
            files = V2_FILES if v2 else V1_FILES[Path(d).relative_to(root).parts[0]]
            for name, value in {**files, "cgroup.procs": ""}.items():
                Path(d, name).write_text(value)
        return created

    def write(d: str, name: str, value: str) -> None:
        if name == "cgroup.procs" and os.path.exists(os.path.join(d, name)):
            value = Path(d, name).read_text() + value + "\n"
        real_write(d, name, value)
        if name == "cgroup.freeze":
            Path(d, "cgroup.events").write_text(f"frozen {value}\n")
        if name == "cgroup.kill":
            for pid in real_procs(d):
                os.kill(pid, signal.SIGKILL)

    def rmdir(path: str, *a: object, **k: object) -> None:
        if str(path).startswith(str(root)) and os.path.isdir(path):
            for f in Path(path).iterdir():
                if f.is_file():
                    f.unlink()
        real_rmdir(path)

    def read_procs(path: str) -> list[int]:  # the kernel drops exited tasks
        return [p for p in real_procs(path) if os.path.exists(f"/proc/{p}")]

    mp.setattr(cgfs, "mkdir_p", mkdir_p)
    mp.setattr(cgfs, "write", write)
    mp.setattr(cgfs, "read_procs", read_procs)
    mp.setattr(os, "rmdir", rmdir)


def _host_cleanup(mgr: CgroupManager) -> None:
    for d in set(mgr.paths().values()):
        for leaf in (d, os.path.dirname(d)):
            try:
                with open(os.path.join(leaf, "freezer.state"), "w") as f:
                    f.write("THAWED")
            except OSError:
                pass
            for _ in range(50):
                try:
                    os.rmdir(leaf)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        break
                    time.sleep(0.05)


@pytest.fixture(params=[
    "fake-v1", "fake-v2",
    pytest.param("host", marks=[pytest.mark.integration, pytest.mark.skipif(
        os.geteuid() != 0, reason="needs root and real cgroups")]),
])
def variant(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Variant]:
    kind = request.param
    mgr: CgroupManager
    if kind == "host":
        mgr = open_manager(f"/dockyard-test/{uuid.uuid4().hex}", "unused")
    elif kind == "fake-v1":
        _fake_kernel(tmp_path, False, monkeypatch)
        dirs = {c: str(tmp_path / c / "dockyard/c1") for c in V1_FILES if c != "unified"}
        for c in V1_FILES:
            (tmp_path / c).mkdir()
        mgr = V1Manager(dirs, str(tmp_path / "unified/dockyard/c1"))
    else:
        _fake_kernel(tmp_path, True, monkeypatch)
        (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
        (tmp_path / "cgroup.subtree_control").write_text("")
        mgr = V2Manager(str(tmp_path / "dockyard/c1"), str(tmp_path))
    v = Variant(mgr)
    try:
        yield v
    finally:
        v.cleanup()
        if kind == "host":
            _host_cleanup(mgr)


def test_create_is_idempotent(variant: Variant) -> None:
    m = variant.mgr
    m.create()
    m.create()
    assert m.paths()
    for d in m.paths().values():
        assert os.path.isdir(d)
    m.destroy()


def test_add_and_pids(variant: Variant) -> None:
    m = variant.mgr
    m.create()
    a, b = variant.spawn(), variant.spawn()
    m.add(a)
    m.add(b)
    assert m.pids() == sorted([a, b])
    m.kill_all(signal.SIGKILL)
    assert variant.reap() == [-signal.SIGKILL] * 2
    assert m.pids() == []
    m.destroy()


def test_limits_show_in_stats(variant: Variant) -> None:
    m = variant.mgr
    m.create()
    m.set({"pids": {"limit": 7}, "memory": {"limit": 64 << 20}})
    st = m.stats()
    assert st["pids_limit"] == 7 and st["memory_limit"] == 64 << 20
    m.set({"pids": {"limit": 0}})
    assert m.stats()["pids_limit"] == -1
    assert m.oom_kill_count() == 0
    m.destroy()


def test_freeze_thaw_and_kill_all_sigterm(variant: Variant) -> None:
    m = variant.mgr
    m.create()
    pid = variant.spawn()
    m.add(pid)
    m.freeze()
    m.thaw()
    m.kill_all(signal.SIGTERM)
    assert variant.reap() == [-signal.SIGTERM]
    m.destroy()


def test_destroy_removes_every_path_and_repeats(variant: Variant) -> None:
    m = variant.mgr
    m.create()
    paths = m.paths()
    m.destroy()
    for d in paths.values():
        assert not os.path.exists(d)
        assert not os.path.exists(os.path.dirname(d))  # the parent this object created
    m.destroy()
