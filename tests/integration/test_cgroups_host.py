"""The cgroup manager on this host's real cgroups (root only).

Every test works under /dockyard-test/<uuid> and the fixture removes it, and the
/dockyard-test parent, in every hierarchy even when a test fails.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from dockyard.runtime.cgroups import cgroup_mode, open_manager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.cgroups.protocol import CgroupManager

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root and real cgroups"),
]

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")
WAIT_LINE = "import sys; sys.stdin.readline()\n"


class Case:
    def __init__(self) -> None:
        self.path = f"/dockyard-test/{uuid.uuid4().hex}"
        self.mgr: CgroupManager = open_manager(self.path, "unused")
        self.dirs = self.mgr.paths()
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self, code: str) -> subprocess.Popen[str]:
        p = subprocess.Popen([sys.executable, "-c", WAIT_LINE + code], stdin=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        return p


def _rmdir(d: str) -> None:
    for _ in range(50):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                raise
            time.sleep(0.05)


def _cleanup(case: Case) -> None:
    """Independent of the code under test: thaw, kill, rmdir leaf and parent everywhere."""
    for d in case.dirs.values():
        try:
            with open(os.path.join(d, "freezer.state"), "w") as f:
                f.write("THAWED")
        except OSError:
            pass
    for p in case.procs:
        if p.poll() is None:
            p.kill()
        p.wait()
    for d in case.dirs.values():
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    for d in set(case.dirs.values()):
        _rmdir(d)
        _rmdir(os.path.dirname(d))


@pytest.fixture
def case() -> Iterator[Case]:
    c = Case()
    try:
        yield c
    finally:
        _cleanup(c)
    leftovers = [d for d in c.dirs.values() if os.path.exists(os.path.dirname(d))]
    assert leftovers == []


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("State:"))


def _read(d: str, name: str) -> str:
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def _wait_for(pred: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(pred) and pred():
            return True
        time.sleep(0.02)
    return False


def test_mode_matches_mounts() -> None:
    mode = cgroup_mode()
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert mode == "v2"
    elif os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"):
        assert mode == "hybrid"
    else:
        assert mode == "v1"


def test_lifecycle(case: Case) -> None:
    m = case.mgr
    m.create()
    for d in case.dirs.values():
        assert os.path.isdir(d), d
    if cgroup_mode() == "hybrid":
        assert case.dirs["unified"] == "/sys/fs/cgroup/unified" + case.path
    m.set({"memory": {"limit": 32 << 20}, "pids": {"limit": 16},
           "cpu": {"quota": 50000, "period": 100000}})
    if cgroup_mode() == "v2":
        d = case.dirs["unified"]
        assert _read(d, "memory.max") == str(32 << 20)
        assert _read(d, "pids.max") == "16"
        assert _read(d, "cpu.max") == "50000 100000"
    else:
        assert _read(case.dirs["memory"], "memory.limit_in_bytes") == str(32 << 20)
        assert _read(case.dirs["pids"], "pids.max") == "16"
        assert _read(case.dirs["cpu"], "cpu.cfs_quota_us") == "50000"
        assert _read(case.dirs["cpu"], "cpu.cfs_period_us") == "100000"

    child = case.spawn("import time; time.sleep(60)")
    m.add(child.pid)
    assert m.pids() == [child.pid]
    with open(f"/proc/{child.pid}/cgroup") as f:
        lines = f.read().splitlines()
    assert all(line.endswith(":" + case.path) for line in lines), lines
    st = m.stats()
    assert st["pids_current"] == 1 and st["pids_limit"] == 16
    assert st["memory_limit"] == 32 << 20

    m.freeze()
    if "freezer" in case.dirs:
        assert _read(case.dirs["freezer"], "freezer.state") == "FROZEN"
    assert _state(child.pid) in ("D", "T")  # frozen tasks do not run: not R/S
    m.thaw()
    if "freezer" in case.dirs:
        assert _read(case.dirs["freezer"], "freezer.state") == "THAWED"
    assert _wait_for(lambda: _state(child.pid) == "S")

    m.kill_all(signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    assert _wait_for(lambda: m.pids() == [])
    m.destroy()
    for d in case.dirs.values():
        assert not os.path.exists(d), d
    assert not os.path.exists("/sys/fs/cgroup/unified" + case.path)
    m.destroy()  # gone already: no error


def test_oom_kill(case: Case) -> None:
    m = case.mgr
    m.create()
    m.set({"memory": {"limit": 32 << 20, "swap": 32 << 20}, "pids": {"limit": 16}})
    assert m.oom_kill_count() == 0
    hog = case.spawn("b = b'\\x01' * (100 << 20)\nprint('survived', len(b))")
    m.add(hog.pid)
    assert hog.stdin is not None
    hog.stdin.write("go\n")
    hog.stdin.flush()
    assert hog.wait(30) == -signal.SIGKILL
    assert m.oom_kill_count() >= 1
    m.destroy()
    for d in case.dirs.values():
        assert not os.path.exists(d), d


def test_kill_all_sigterm_and_rebuild_in_another_process(case: Case) -> None:
    m = case.mgr
    m.create()
    kids = [case.spawn("import time; time.sleep(60)") for _ in range(3)]
    for k in kids:
        m.add(k.pid)
    assert m.pids() == sorted(k.pid for k in kids)
    m.kill_all(signal.SIGTERM)
    assert [k.wait(10) for k in kids] == [-signal.SIGTERM] * 3
    assert _wait_for(lambda: m.pids() == [])
    code = ("import sys; from dockyard.runtime.cgroups import open_manager; "
            "m = open_manager(sys.argv[1], 'unused'); print(sorted(m.paths().items())); "
            "m.destroy()")
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-c", code, case.path], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == str(sorted(case.dirs.items()))
    for d in case.dirs.values():
        assert not os.path.exists(d), d
