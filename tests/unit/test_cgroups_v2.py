"""The v2 driver against a fake cgroup2 tree in tmp_path."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unavailable, Unsupported
from dockyard.runtime.cgroups import fs as cgfs
from dockyard.runtime.cgroups import v2
from dockyard.runtime.cgroups.v2 import V2Manager

FILES = {"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.freeze": "0",
         "cgroup.events": "populated 0\nfrozen 0", "cgroup.kill": "",
         "cgroup.controllers": "cpuset cpu io memory pids",
         "memory.max": "max", "memory.low": "0", "memory.swap.max": "max",
         "memory.events": "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1", "memory.current": "4096",
         "memory.peak": "8192", "cpu.weight": "100", "cpu.max": "max 100000", "cpu.idle": "0",
         "cpu.stat": "usage_usec 7\nuser_usec 5", "cpuset.cpus": "", "cpuset.mems": "",
         "pids.max": "max", "pids.current": "1", "io.weight": "default 100", "io.max": "",
         "io.stat": "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2",
         "memory.high": "max"}


class FakeV2:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.journal: list[tuple[str, str, str]] = []
        (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        (root / "cgroup.subtree_control").write_text("")
        real_mkdir, real_write = cgfs.mkdir_p, cgfs.write

        def mkdir_p(path: str) -> list[str]:
            created = real_mkdir(path)
            for d in created:
                for name, value in FILES.items():
                    Path(d, name).write_text(value)
            return created

        def write(directory: str, name: str, value: str) -> None:
            self.journal.append((str(Path(directory).relative_to(root)), name, value))
            real_write(directory, name, value)

        monkeypatch.setattr(cgfs, "mkdir_p", mkdir_p)
        monkeypatch.setattr(cgfs, "write", write)

    def manager(self) -> V2Manager:
        return V2Manager(str(self.root / "dockyard" / "c1"), str(self.root))

    def read(self, name: str) -> str:
        return (self.root / "dockyard" / "c1" / name).read_text().strip()


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeV2:
    return FakeV2(tmp_path, monkeypatch)


def test_create_enables_controllers_in_ancestors(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    sub = [(d, v) for d, n, v in fake.journal if n == "cgroup.subtree_control"]
    want = "+cpuset +cpu +io +memory +pids"
    assert sub == [(".", want), ("dockyard", want)]
    assert m.paths() == {"unified": str(fake.root / "dockyard" / "c1")}
    assert m.mode == "v2"


def test_set_maps_resources(fake: FakeV2, capfd: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgfs, "_warned", set())
    m = fake.manager()
    m.create()
    fake.journal.clear()
    m.set({
        "memory": {"limit": 32 << 20, "swap": 48 << 20, "reservation": 8 << 20,
                   "swappiness": 10},
        "cpu": {"shares": 1024, "quota": 50000, "cpus": "0", "mems": "0"},
        "pids": {"limit": -1},
        "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 9}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 50}]},
        "devices": [{"allow": False, "access": "rwm"}],
        "unified": {"memory.high": "30000000"},
    })
    assert fake.read("memory.swap.max") == str(16 << 20)
    assert fake.read("memory.max") == str(32 << 20)
    assert fake.read("memory.low") == str(8 << 20)
    assert fake.read("cpu.weight") == "39"
    assert fake.read("cpu.max") == "50000 100000"
    assert fake.read("cpuset.cpus") == "0"
    assert fake.read("pids.max") == "max"
    assert fake.read("io.weight") == "4950"
    assert fake.read("io.max") == "8:0 wiops=50"
    assert fake.read("memory.high") == "30000000"
    order = [n for _d, n, _v in fake.journal]
    assert order[0] == "pids.max" and order[-1] == "memory.high"
    err = capfd.readouterr().err
    assert "eBPF" in err and "swappiness" in err and "BFQ" in err


def test_bfq_weight_is_raw(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    (fake.root / "dockyard/c1/io.bfq.weight").write_text("100")
    fake.journal.clear()
    m.set({"blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0,
                                                         "weight": 9}]}})
    assert [(n, v) for _d, n, v in fake.journal] == [("io.bfq.weight", "500"),
                                                    ("io.bfq.weight", "8:0 9")]


def test_swap_equal_to_limit_disables_swap(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    m.set({"memory": {"limit": 1 << 20, "swap": 1 << 20}})
    assert fake.read("memory.swap.max") == "0"


def test_no_swap_file(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    os.unlink(fake.root / "dockyard/c1/memory.swap.max")
    m.set({"memory": {"limit": -1}})  # "max" without swap support: fine
    assert fake.read("memory.max") == "max"
    with pytest.raises(cgfs.CgroupError, match=r"write memory.swap.max=1048576"):
        m.set({"memory": {"limit": 1 << 20, "swap": 2 << 20}})


def test_validation_before_writes(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    fake.journal.clear()
    with pytest.raises(Unsupported, match="realtime"):
        m.set({"pids": {"limit": 1}, "cpu": {"realtimeRuntime": 5}})
    with pytest.raises(InvalidArgument, match=r"memory\.swap"):
        m.set({"pids": {"limit": 1}, "memory": {"limit": 100, "swap": 50}})
    with pytest.raises(Unsupported, match="file name"):
        m.set({"pids": {"limit": 1}, "unified": {"../x": "1"}})
    assert fake.journal == []


def test_unified_unknown_controller(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    with pytest.raises(Unsupported, match="controller 'hugetlb' not available"):
        m.set({"unified": {"hugetlb.2MB.max": "0"}})


def test_freeze_waits_for_events(fake: FakeV2, monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager()
    m.create()
    (fake.root / "dockyard/c1/cgroup.events").write_text("populated 1\nfrozen 1\n")
    m.freeze()
    assert fake.read("cgroup.freeze") == "1"
    (fake.root / "dockyard/c1/cgroup.events").write_text("populated 1\nfrozen 0\n")
    m.thaw()
    assert fake.read("cgroup.freeze") == "0"
    monkeypatch.setattr(v2, "FREEZE_TIMEOUT", 0.02)
    with pytest.raises(Unavailable, match="did not freeze"):
        m.freeze()
    assert fake.read("cgroup.freeze") == "0"


def test_kill_all(fake: FakeV2, monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager()
    m.create()
    m.kill_all(signal.SIGKILL)
    assert fake.read("cgroup.kill") == "1"
    (fake.root / "dockyard/c1/cgroup.procs").write_text("31\n")
    (fake.root / "dockyard/c1/cgroup.events").write_text("frozen 0\n")
    monkeypatch.setattr(v2, "FREEZE_TIMEOUT", 0.01)
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda p, s: sent.append((p, s)))
    with pytest.raises(Unavailable):  # cannot freeze: nothing is signalled
        m.kill_all(signal.SIGTERM)
    assert sent == []
    (fake.root / "dockyard/c1/cgroup.events").write_text("frozen 1\n")
    monkeypatch.setattr(v2, "FREEZE_TIMEOUT", 0.0)
    with pytest.raises(Unavailable, match="did not thaw"):
        m.kill_all(signal.SIGTERM)
    assert sent == [(31, signal.SIGTERM)]


def test_stats_and_oom(fake: FakeV2) -> None:
    m = fake.manager()
    m.create()
    m.add(99)
    assert fake.read("cgroup.procs") == "99"
    assert m.stats() == {"memory_usage": 4096, "memory_limit": -1, "memory_max_usage": 8192,
                         "pids_current": 1, "pids_limit": -1, "cpu_usage_ns": 7000,
                         "blkio_read_bytes": 101, "blkio_write_bytes": 202}
    assert m.oom_kill_count() == 1


def test_destroy(fake: FakeV2, monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager()
    m.create()
    real = os.rmdir

    def rmdir(path: str) -> None:
        for f in Path(path).iterdir():
            if f.is_file():
                f.unlink()
        real(path)

    monkeypatch.setattr(os, "rmdir", rmdir)
    m.destroy()
    assert not (fake.root / "dockyard").exists()
    m.destroy()
