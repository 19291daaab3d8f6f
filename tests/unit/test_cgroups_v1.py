"""The v1/hybrid driver against a fake cgroupfs in tmp_path.

The fake kernel: ``mkdir`` fills new directories with the controller's control files,
``rmdir`` removes them again; every write is journaled so ordering can be asserted.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unavailable, Unsupported
from dockyard.runtime.cgroups import fs as cgfs
from dockyard.runtime.cgroups.v1 import V1Manager

MAX = "9223372036854771712"
FILES = {
    "memory": {"memory.limit_in_bytes": MAX, "memory.memsw.limit_in_bytes": MAX,
               "memory.soft_limit_in_bytes": MAX, "memory.swappiness": "60",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0",
               "memory.usage_in_bytes": "0", "memory.max_usage_in_bytes": "0"},
    "cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1",
            "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.idle": "0"},
    "cpuacct": {"cpuacct.usage": "0"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
    "freezer": {"freezer.state": "THAWED"},
    "blkio": {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "",
              "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
              "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
              "blkio.throttle.io_service_bytes_recursive": ""},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "unified": {},
}
Journal = list[tuple[str, str, str]]


class FakeV1:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.journal: Journal = []
        for ctrl in FILES:
            (root / ctrl).mkdir()
            for name in ("cgroup.procs",):
                (root / ctrl / name).write_text("")
        (root / "cpuset" / "cpuset.cpus").write_text("0-1\n")
        (root / "cpuset" / "cpuset.mems").write_text("0\n")
        real_mkdir, real_write, real_rmdir = cgfs.mkdir_p, cgfs.write, os.rmdir

        def mkdir_p(path: str) -> list[str]:
            created = real_mkdir(path)
            for d in created:
                ctrl = Path(d).relative_to(root).parts[0]
                for name, value in {**FILES[ctrl], "cgroup.procs": ""}.items():
                    Path(d, name).write_text(value)
            return created

        def write(directory: str, name: str, value: str) -> None:
            self.journal.append((str(Path(directory).relative_to(root)), name, value))
            real_write(directory, name, value)

        def rmdir(path: str, *a: object, **k: object) -> None:
            if Path(path).is_dir() and str(path).startswith(str(root)):
                for f in Path(path).iterdir():
                    if f.is_file():
                        f.unlink()
            real_rmdir(path)

        monkeypatch.setattr(cgfs, "mkdir_p", mkdir_p)
        monkeypatch.setattr(cgfs, "write", write)
        monkeypatch.setattr(os, "rmdir", rmdir)

    def manager(self, path: str = "dockyard/c1", unified: bool = True) -> V1Manager:
        dirs = {c: str(self.root / c / path) for c in FILES if c != "unified"}
        return V1Manager(dirs, str(self.root / "unified" / path) if unified else None)

    def read(self, ctrl: str, name: str, path: str = "dockyard/c1") -> str:
        return (self.root / ctrl / path / name).read_text().strip()

    def names(self) -> list[str]:
        return [n for _d, n, _v in self.journal]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeV1:
    return FakeV1(tmp_path, monkeypatch)


def test_create_all_hierarchies_and_cpuset_copy(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    m.create()  # idempotent
    for d in m.paths().values():
        assert os.path.isdir(d)
    assert set(m.paths()) == set(FILES)
    assert m.mode == "hybrid"
    for path in ("dockyard", "dockyard/c1"):  # the intermediate dir too
        assert fake.read("cpuset", "cpuset.cpus", path) == "0-1"
        assert fake.read("cpuset", "cpuset.mems", path) == "0"


def test_cpuset_fills_empty_ancestor_first(fake: FakeV1) -> None:
    fake.manager("a").create()
    (fake.root / "cpuset" / "a" / "cpuset.cpus").write_text("")  # someone else's, empty
    fake.manager("a/b").create()
    assert fake.read("cpuset", "cpuset.cpus", "a") == "0-1"
    assert fake.read("cpuset", "cpuset.cpus", "a/b") == "0-1"


def test_set_writes_everything(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    m.set({
        "memory": {"limit": 32 << 20, "reservation": 16 << 20, "swappiness": 10,
                   "disableOOMKiller": True},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "1", "mems": "0",
                "realtimePeriod": 500000, "realtimeRuntime": 1000},
        "pids": {"limit": 16},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
        "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]},
    })
    assert fake.read("memory", "memory.limit_in_bytes") == str(32 << 20)
    assert fake.read("memory", "memory.soft_limit_in_bytes") == str(16 << 20)
    assert fake.read("memory", "memory.swappiness") == "10"
    assert fake.read("memory", "memory.oom_control") == "1"
    assert fake.read("memory", "memory.memsw.limit_in_bytes") == MAX  # swap not given
    assert fake.read("cpu", "cpu.shares") == "512"
    assert fake.read("cpu", "cpu.cfs_quota_us") == "50000"
    assert fake.read("cpu", "cpu.rt_runtime_us") == "1000"
    assert fake.read("cpuset", "cpuset.cpus") == "1"
    assert fake.read("pids", "pids.max") == "16"
    assert fake.read("blkio", "blkio.bfq.weight") == "300"
    assert fake.read("blkio", "blkio.bfq.weight_device") == "8:0 200"
    assert fake.read("blkio", "blkio.throttle.read_bps_device") == "8:0 1000"
    devs = [(n, v) for _d, n, v in fake.journal if n.startswith("devices.")]
    assert devs == [("devices.deny", "a"), ("devices.deny", "a"),
                    ("devices.allow", "c 1:3 rwm")]
    order = [n.split(".")[0] for n in fake.names()]
    assert order.index("cpuset") < order.index("devices") < order.index("memory") \
        < order.index("cpu") < order.index("pids") < order.index("blkio")


@pytest.mark.parametrize(("current", "limit", "swap", "first"), [
    (str(1 << 30), 256 << 20, 512 << 20, "memory.limit_in_bytes"),   # shrinking
    (str(256 << 20), 1 << 30, 2 << 30, "memory.memsw.limit_in_bytes"),  # growing
    (str(256 << 20), 1 << 30, -1, "memory.memsw.limit_in_bytes"),  # swap unlimited
    (MAX, -1, 0, "memory.memsw.limit_in_bytes"),  # unlimited memory: memsw -1 too
])
def test_memory_swap_order(fake: FakeV1, current: str, limit: int, swap: int,
                           first: str) -> None:
    m = fake.manager()
    m.create()
    (fake.root / "memory/dockyard/c1/memory.limit_in_bytes").write_text(current)
    fake.journal.clear()
    m.set({"memory": {"limit": limit, "swap": swap}})
    names = [n for n in fake.names() if "limit_in_bytes" in n]
    assert names[0] == first
    assert sorted(names) == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    want_swap = "-1" if swap in (0, -1) else str(swap)
    assert fake.read("memory", "memory.memsw.limit_in_bytes") == want_swap


def test_memsw_missing_warns_once(fake: FakeV1, capfd: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgfs, "_warned", set())
    m = fake.manager()
    m.create()
    os.unlink(fake.root / "memory/dockyard/c1/memory.memsw.limit_in_bytes")
    m.set({"memory": {"limit": 1 << 20, "swap": 2 << 20}})
    m.set({"memory": {"limit": 1 << 20, "swap": 2 << 20}})
    assert fake.read("memory", "memory.limit_in_bytes") == str(1 << 20)
    err = capfd.readouterr().err
    assert err.count("swap accounting is off") == 1


def test_cfs_period_einval_retried_after_quota(fake: FakeV1,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager()
    m.create()
    inner = cgfs.write
    failed: list[bool] = []

    def write(d: str, name: str, value: str) -> None:
        if name == "cpu.cfs_period_us" and not failed:
            failed.append(True)
            raise cgfs.CgroupError(errno.EINVAL, "write", os.path.join(d, name), value)
        inner(d, name, value)

    monkeypatch.setattr(cgfs, "write", write)
    fake.journal.clear()
    m.set({"cpu": {"quota": 20000, "period": 50000}})
    assert fake.names() == ["cpu.cfs_quota_us", "cpu.cfs_period_us"]
    assert fake.read("cpu", "cpu.cfs_period_us") == "50000"


def test_validation_before_any_write(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    fake.journal.clear()
    with pytest.raises(Unsupported, match="unified"):
        m.set({"pids": {"limit": 3}, "unified": {"memory.high": "1M"}})
    with pytest.raises(InvalidArgument, match="swappiness"):
        m.set({"pids": {"limit": 3}, "memory": {"swappiness": 200}})
    with pytest.raises(InvalidArgument, match="device rule"):
        m.set({"devices": [{"allow": True, "type": "z"}]})
    assert fake.journal == []


def test_blkio_weight_without_scheduler(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    os.unlink(fake.root / "blkio/dockyard/c1/blkio.bfq.weight")
    with pytest.raises(Unsupported, match="CFQ or BFQ"):
        m.set({"blockIO": {"weight": 300}})


def test_pids_unlimited(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    m.set({"pids": {"limit": 0}})
    assert fake.read("pids", "pids.max") == "max"


def test_write_error_names_file(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    os.unlink(fake.root / "memory/dockyard/c1/memory.limit_in_bytes")
    with pytest.raises(cgfs.CgroupError) as ei:
        m.set({"memory": {"limit": 5}})
    assert str(ei.value) == "cgroup: write memory.limit_in_bytes=5: No such file or directory"
    assert ei.value.errno == errno.ENOENT
    assert ei.value.path is not None and ei.value.path.endswith("memory.limit_in_bytes")


def test_add_pids_and_stats(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    m.add(4242)
    procs = sorted({fake.read(c, "cgroup.procs") for c in FILES})
    assert procs == ["4242"]  # every hierarchy, the unified one included
    sub = fake.root / "pids/dockyard/c1/sub"
    sub.mkdir()
    (sub / "cgroup.procs").write_text("7\n8\n")
    assert m.pids() == [7, 8, 4242]
    d = fake.root / "memory/dockyard/c1"
    (d / "memory.usage_in_bytes").write_text("1000\n")
    (d / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    (fake.root / "blkio/dockyard/c1/blkio.throttle.io_service_bytes_recursive").write_text(
        "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\n8:16 Read 1\nTotal 31\n")
    st = m.stats()
    assert st["memory_usage"] == 1000 and st["memory_limit"] == -1
    assert st["pids_limit"] == -1 and st["cpu_usage_ns"] == 0
    assert st["blkio_read_bytes"] == 11 and st["blkio_write_bytes"] == 20
    assert m.oom_kill_count() == 3


def test_freeze_thaw(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    m.freeze()
    assert fake.read("freezer", "freezer.state") == "FROZEN"
    m.thaw()
    assert fake.read("freezer", "freezer.state") == "THAWED"


def test_freeze_stuck_thaws_and_fails(fake: FakeV1, monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager()
    m.create()
    monkeypatch.setattr(cgfs, "read", lambda d, n: "FREEZING")
    with pytest.raises(Unavailable, match="still FREEZING"):
        m.freeze()
    assert fake.read("freezer", "freezer.state") == "THAWED"


def test_kill_all_freezes_signals_thaws(fake: FakeV1, monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager()
    m.create()
    (fake.root / "pids/dockyard/c1/cgroup.procs").write_text("11\n12\n")
    sent: list[tuple[int, int]] = []

    def kill(pid: int, sig: int) -> None:
        sent.append((pid, sig))
        if pid == 12:
            raise ProcessLookupError

    monkeypatch.setattr(os, "kill", kill)
    m.kill_all(15)
    assert sent == [(11, 15), (12, 15)]
    states = [v for _d, n, v in fake.journal if n == "freezer.state"]
    assert states[0] == "FROZEN" and states[-1] == "THAWED"


def test_destroy_removes_everything_it_created(fake: FakeV1) -> None:
    m = fake.manager("dockyard-test/x/c1")
    m.create()
    (fake.root / "memory/dockyard-test/x/c1/child").mkdir()
    m.destroy()
    for ctrl in FILES:
        assert not (fake.root / ctrl / "dockyard-test").exists()
    m.destroy()  # already gone: fine


def test_destroy_from_rebuilt_manager_keeps_parents(fake: FakeV1) -> None:
    fake.manager().create()
    again = fake.manager()  # another process: knows only the leaf
    again.destroy()
    assert not (fake.root / "memory/dockyard/c1").exists()
    assert (fake.root / "memory/dockyard").is_dir()


def test_destroy_retries_ebusy(fake: FakeV1, monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager(unified=False)
    m.create()
    real = os.rmdir
    busy = [2]

    def rmdir(path: str) -> None:
        if busy[0]:
            busy[0] -= 1
            raise OSError(errno.EBUSY, "busy")
        real(path)

    monkeypatch.setattr(os, "rmdir", rmdir)
    m.destroy()
    assert not (fake.root / "memory/dockyard/c1").exists()


def test_destroy_gives_up_on_persistent_ebusy(fake: FakeV1,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake.manager(unified=False)
    m.create()

    def rmdir(path: str) -> None:
        raise OSError(errno.EBUSY, "busy")

    monkeypatch.setattr(os, "rmdir", rmdir)
    monkeypatch.setattr(cgfs.time, "sleep", lambda s: None)
    with pytest.raises(cgfs.CgroupError, match=r"rmdir .*: Device or resource busy"):
        m.destroy()


def test_missing_controller_is_unsupported() -> None:
    m = V1Manager({"memory": "/nonexistent/memory/x"})
    assert m.mode == "v1"
    with pytest.raises(Unsupported, match="freezer controller is not mounted"):
        m.freeze()


def test_kill_all_rejects_bad_signal_before_freezing(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    fake.journal.clear()
    for bad in (0, 65, -9):
        with pytest.raises(InvalidArgument, match="invalid signal"):
            m.kill_all(bad)
    assert fake.journal == []


def test_kernel_memory_is_ignored_with_warning(fake: FakeV1, capfd: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgfs, "_warned", set())
    m = fake.manager()
    m.create()
    fake.journal.clear()
    m.set({"memory": {"kernel": 1 << 20, "kernelTCP": 1 << 20}})
    assert fake.journal == []
    assert "kernelTCP are deprecated" in capfd.readouterr().err


def test_bad_device_rule_or_missing_controller_writes_nothing(fake: FakeV1) -> None:
    m = fake.manager()
    m.create()
    fake.journal.clear()
    with pytest.raises(InvalidArgument, match="device rule"):
        m.set({"cpu": {"cpus": "0"}, "devices": [{"allow": True, "access": "x"}]})
    no_pids = V1Manager({c: d for c, d in m.paths().items() if c not in ("pids", "unified")})
    with pytest.raises(Unsupported, match="pids controller"):
        no_pids.set({"cpu": {"cpus": "0"}, "pids": {"limit": 3}})
    assert fake.journal == []


def test_mkdir_p_retries_vanished_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.mkdir
    calls: list[str] = []

    def mkdir(path: str, mode: int = 0o777) -> None:
        calls.append(path)
        if len(calls) == 2:  # the parent vanished right after we created it
            os.rmdir(os.path.dirname(path))
            raise FileNotFoundError(errno.ENOENT, "gone", path)
        real(path, mode)

    monkeypatch.setattr(os, "mkdir", mkdir)
    created = cgfs.mkdir_p(str(tmp_path / "a" / "b"))
    assert (tmp_path / "a" / "b").is_dir()
    assert created == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]


def test_mkdir_p_error_names_dir(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(cgfs.CgroupError, match=r"cgroup: mkdir .*file/x: Not a directory"):
        cgfs.mkdir_p(str(tmp_path / "file" / "x"))


def test_read_opt_of_a_cgroup_removed_meanwhile_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel answers ENODEV for a cgroup file whose directory was just removed (a
    monitor deleting an exited container's cgroup while ``rm -f`` reads its procs)."""

    def gone(directory: str, name: str) -> str:
        raise cgfs.CgroupError(errno.ENODEV, "read", f"{directory}/{name}")

    monkeypatch.setattr(cgfs, "read", gone)
    assert cgfs.read_opt("/sys/fs/cgroup/pids/x", "cgroup.procs") is None
    assert cgfs.read_procs("/nonexistent-cgroup-dir") == []
