"""``dockyard run -d`` and ``dockyard logs`` as a user types them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import procs_with, runtime_states
from tests.integration.runtimes import cgroup_dirs

pytestmark = pytest.mark.integration

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"


@pytest.fixture
def run(root: Path, tmp_path: Path) -> Iterator[Dy]:
    """The CLI; every container left at the end is removed with ``rm -f``."""
    exec_root = tmp_path / "exec"

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        b = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                            "--exec-root", str(exec_root), *args],
                           capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        r = subprocess.CompletedProcess(b.args, b.returncode, b.stdout.decode(),
                                        b.stderr.decode())
        assert "Traceback" not in r.stderr, r.stderr
        return r

    yield call
    ids = call("ps", "-aq").stdout.split()
    if ids:
        call("rm", "-f", *ids)


def _nothing_mounted(tmp_path: Path) -> bool:
    with open("/proc/self/mountinfo") as f:
        return str(tmp_path) not in f.read()


def _wait_for(pred: object, timeout: float = 20.0) -> None:
    assert callable(pred)
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_detached_run_logs_ps_and_rm(run: Dy, busybox: str, tmp_path: Path) -> None:
    r = run("run", "-d", "--name", "bg", "busybox",
            "sh", "-c", "echo out; echo err >&2; sleep 1; exit 4")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), r.stdout
    row = next(ln for ln in run("ps").stdout.splitlines() if ln.endswith("bg"))
    assert "Up " in row and cid[:12] in row
    _wait_for(lambda: run("logs", "bg").stdout == "out\n")
    logs = run("logs", "bg")
    assert logs.returncode == 0 and logs.stdout == "out\n" and logs.stderr == "err\n"
    _wait_for(lambda: "Exited (4)" in run("ps", "-a").stdout)
    assert run("ps").stdout.splitlines()[1:] == []
    _wait_for(lambda: not procs_with(str(tmp_path)), timeout=10)  # the monitor is gone
    assert _nothing_mounted(tmp_path)
    assert not runtime_states(tmp_path / "exec" / "runtime")
    t = run("logs", "-t", cid[:12])
    assert re.fullmatch(TIME + " out\n", t.stdout), t.stdout
    assert re.fullmatch(TIME + " err\n", t.stderr), t.stderr
    # Docker's json-file format, one object a line, kept under the root as Docker does
    log = tmp_path / "root" / "containers" / cid / f"{cid}-json.log"
    entries = [json.loads(ln) for ln in log.read_text().splitlines()]
    assert sorted((e["log"], e["stream"]) for e in entries) == [("err\n", "stderr"),
                                                               ("out\n", "stdout")]
    assert all(re.fullmatch(TIME, e["time"]) for e in entries)
    r = run("rm", "bg")
    assert r.returncode == 0, r.stderr
    assert run("ps", "-aq").stdout == ""
    assert not log.exists()
    assert cgroup_dirs(cid) == []  # (other tests may run containers beside /dockyard/cid)


def test_logs_tail_and_follow(run: Dy, busybox: str) -> None:
    r = run("run", "-d", "busybox", "sh", "-c",
            "for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late; exit 0")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    f = run("logs", "-f", cid)  # returns once the container has exited
    assert f.returncode == 0
    assert f.stdout == "".join(f"line{i}\n" for i in range(1, 6)) + "late\n"
    assert "Exited (0)" in run("ps", "-a").stdout
    assert run("logs", "--tail", "2", cid).stdout == "line5\nlate\n"
    assert run("logs", "--tail", "0", cid).stdout == ""
    r = run("logs", "no-such-container")
    assert r.returncode == 1
    assert r.stderr == "Error response from daemon: No such container: no-such-container\n"
    assert run("rm", cid).returncode == 0


def test_much_output_is_all_logged(run: Dy, busybox: str) -> None:
    """More than a pipe holds, written before the monitor reports "started"."""
    r = run("run", "-d", "busybox", "seq", "1", "50000")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    f = run("logs", "-f", cid)
    assert f.stdout == "".join(f"{i}\n" for i in range(1, 50001))
    assert run("rm", cid).returncode == 0


def test_rm_force_kills_a_detached_container(run: Dy, busybox: str,
                                             tmp_path: Path) -> None:
    secs = str(1000 + os.getpid() % 5000)  # a command line no parallel test shares
    r = run("run", "-d", "--name", "sleeper", "busybox", "sleep", secs)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    row = next(ln for ln in run("ps").stdout.splitlines() if ln.endswith("sleeper"))
    assert "Up " in row
    # the container's init (pid 1 inside) and its monitor (a fork of the CLI) on the host
    assert len(procs_with("sleep\x00" + secs, but_not="dockyard")) == 1
    assert len(procs_with(str(tmp_path))) == 1
    assert run("rm", "sleeper").returncode == 1  # running: needs -f
    r = run("rm", "-f", "sleeper")
    assert r.returncode == 0 and r.stdout.strip() == "sleeper", r.stderr
    assert run("ps", "-aq").stdout == ""
    assert not procs_with("sleep\x00" + secs, but_not="dockyard")  # rm -f waited for it
    _wait_for(lambda: not procs_with(str(tmp_path)), timeout=10)  # the monitor exited
    assert _nothing_mounted(tmp_path)
    assert cgroup_dirs(cid) == []
    assert not runtime_states(tmp_path / "exec" / "runtime")


def test_detached_rm_flag_removes_it_when_it_exits(run: Dy, busybox: str,
                                                  tmp_path: Path) -> None:
    r = run("run", "-d", "--rm", "--name", "brief", "busybox", "sh", "-c",
            "echo hi; sleep 1")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert "brief" in run("ps").stdout
    _wait_for(lambda: run("ps", "-aq").stdout == "")
    _wait_for(lambda: not procs_with(str(tmp_path)), timeout=10)
    assert _nothing_mounted(tmp_path)
    assert cgroup_dirs(cid) == []
    assert not runtime_states(tmp_path / "exec" / "runtime")
    assert not list((tmp_path / "exec" / "containers").iterdir())
    r = run("run", "-d", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127, r.stderr
    _wait_for(lambda: run("ps", "-aq").stdout == "")


def test_detached_exec_failure_and_missing_image(run: Dy, busybox: str,
                                                 tmp_path: Path) -> None:
    r = run("run", "-d", "busybox", "no-such-command")
    assert r.returncode == 127 and "executable file not found" in r.stderr, r.stderr
    assert r.stdout == ""
    r = run("run", "-d", "missing-image")
    assert r.returncode == 125
    assert "Unable to find image 'missing-image' locally" in r.stderr
    assert _nothing_mounted(tmp_path)


def test_killed_monitor_then_logs_follow_and_rm_force(run: Dy, busybox: str,
                                                      tmp_path: Path) -> None:
    """SIGKILL of the monitor and then of the container: ``logs -f`` still ends, ``ps``
    says exited, and ``rm -f`` cleans up what the monitor could not."""
    import signal

    secs = str(4000 + os.getpid() % 5000)  # a command line no parallel test shares
    r = run("run", "-d", "busybox", "sh", "-c", f"echo before; exec sleep {secs}")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    [monitor] = procs_with(str(tmp_path))
    os.kill(monitor, signal.SIGKILL)
    _wait_for(lambda: not procs_with(str(tmp_path)), timeout=10)
    [init] = procs_with("sleep\x00" + secs, but_not="dockyard")
    os.kill(init, signal.SIGKILL)
    _wait_for(lambda: not procs_with("sleep\x00" + secs, but_not="dockyard"), timeout=10)
    f = run("logs", "-f", cid)
    assert f.returncode == 0 and f.stdout == "before\n"
    assert "Exited (" in run("ps", "-a").stdout
    r = run("rm", "-f", cid)
    assert r.returncode == 0, r.stderr
    assert _nothing_mounted(tmp_path)
    assert cgroup_dirs(cid) == []
    assert not runtime_states(tmp_path / "exec" / "runtime")
