"""The monitor as a user sees it: restart policies, health checks, log rotation,
OOMKilled, and the faults of issue 4 (parallel runs, killed CLIs, a host restart)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import (
    cgroup_dirs_of,
    mounted_under,
    procs_with,
    record,
    runtime_states,
    unique_name,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_on_failure_restarts_up_to_the_limit(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("onf")
    r = cli("run", "-d", "--name", name, "--restart", "on-failure:2", "busybox",
            "sh", "-c", "echo run; exit 3")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: record(root, name).status.value == "exited"
             and record(root, name).restart_count == 2, what="two restarts then exit")
    time.sleep(0.5)
    rec = record(root, name)
    assert (rec.status.value, rec.exit_code, rec.restart_count) == ("exited", 3, 2)
    assert cli("logs", name).stdout == "run\n" * 3
    # a clean exit is not restarted
    ok = unique_name("onf-ok")
    cli("run", "-d", "--name", ok, "--restart", "on-failure", "busybox", "true", check=True)
    wait_for(lambda: record(root, ok).status.value == "exited")
    assert record(root, ok).restart_count == 0


def test_always_restarts_until_stopped(cli: Dy, busybox: str, root: Path,
                                       tmp_path: Path) -> None:
    name = unique_name("always")
    cli("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c",
        "echo up; sleep 0.3; exit 0", check=True)
    wait_for(lambda: record(root, name).restart_count >= 2, what="restarts")
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "restarting" not in seen:
        rec = record(root, name)
        seen.add(rec.status.value)
        if rec.status.value == "restarting":
            assert re.search(r"Restarting \(0\) .* ago", cli("ps").stdout)
    assert "restarting" in seen
    r = cli("stop", "-t", "2", name)
    assert r.returncode == 0, r.stderr
    rec = record(root, name)
    assert rec.status.value == "exited"
    count = rec.restart_count
    time.sleep(1.5)
    rec = record(root, name)
    assert (rec.status.value, rec.restart_count) == ("exited", count)  # no more restarts
    wait_for(lambda: not procs_with(str(tmp_path)), timeout=10, what="the monitor to end")
    assert not mounted_under(tmp_path)
    # start clears the manual stop and the count: the policy applies again
    assert cli("start", name).returncode == 0
    wait_for(lambda: record(root, name).restart_count >= 1, what="a restart after start")
    assert cli("stop", name).returncode == 0


def test_unless_stopped_and_kill(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("unless")
    cli("run", "-d", "--name", name, "--restart", "unless-stopped", "busybox",
        "sleep", "300", check=True)
    pid = record(root, name).pid
    os.kill(pid, signal.SIGKILL)  # a crash (not the user): it comes back
    wait_for(lambda: record(root, name).restart_count == 1
             and record(root, name).status.value == "running", what="restart after crash")
    assert record(root, name).pid != pid
    assert cli("kill", name).returncode == 0  # the user's kill: it stays down
    time.sleep(1)
    rec = record(root, name)
    assert (rec.status.value, rec.exit_code, rec.restart_count) == ("exited", 137, 1)


def test_health_check_states(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("health")
    r = cli("run", "-d", "--name", name, "--health-cmd", "test -e /tmp/ok && echo fine",
            "--health-interval", "200ms", "--health-retries", "2", "--health-timeout", "5s",
            "busybox", "sh", "-c", "sleep 1.5; touch /tmp/ok; sleep 2; rm /tmp/ok; "
            "sleep 300")
    assert r.returncode == 0, r.stderr
    assert record(root, name).health is not None
    wait_for(lambda: (record(root, name).health or {}).get("Status") == "unhealthy",
             what="unhealthy")
    assert "(unhealthy)" in cli("ps").stdout
    wait_for(lambda: (record(root, name).health or {}).get("Status") == "healthy",
             what="healthy")
    health = record(root, name).health or {}
    assert health["FailingStreak"] == 0
    last = health["Log"][-1]
    assert (last["ExitCode"], last["Output"]) == (0, "fine\n")
    assert set(last) == {"Start", "End", "ExitCode", "Output"}
    assert len(health["Log"]) <= 5
    assert re.search(r"Up .* \(healthy\)", cli("ps").stdout)
    wait_for(lambda: (record(root, name).health or {}).get("Status") == "unhealthy",
             what="unhealthy again")
    assert (record(root, name).health or {})["FailingStreak"] >= 2


def test_health_timeout_and_start_period(cli: Dy, busybox: str, root: Path,
                                         tmp_path: Path) -> None:
    name = unique_name("hslow")
    cli("run", "-d", "--name", name, "--health-cmd", "sleep 5", "--health-interval",
        "300ms", "--health-timeout", "300ms", "--health-retries", "1", "busybox",
        "sleep", "300", check=True)
    wait_for(lambda: (record(root, name).health or {}).get("Status") == "unhealthy",
             what="unhealthy by timeout")
    last = (record(root, name).health or {})["Log"][-1]
    assert last["ExitCode"] == -1 and "Health check exceeded timeout" in last["Output"]
    assert cli("rm", "-f", name).returncode == 0
    # the monitor reaps the killed checks too: nothing holds up the container's end
    wait_for(lambda: not procs_with(str(tmp_path)), timeout=10, what="the monitor to end")
    grace = unique_name("hgrace")
    cli("run", "-d", "--name", grace, "--health-cmd", "false", "--health-interval",
        "200ms", "--health-retries", "1", "--health-start-period", "60s", "busybox",
        "sleep", "300", check=True)
    wait_for(lambda: len((record(root, grace).health or {}).get("Log", [])) >= 2)
    health = record(root, grace).health or {}
    assert (health["Status"], health["FailingStreak"]) == ("starting", 0)
    assert "(health: starting)" in cli("ps").stdout


def test_log_rotation(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("rot")
    r = cli("run", "-d", "--name", name, "--log-opt", "max-size=2k", "--log-opt",
            "max-file=3", "busybox", "sh", "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; "
            "i=$((i+1)); done")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    wait_for(lambda: record(root, name).status.value == "exited")
    d = root / "containers" / cid
    files = sorted(p.name for p in d.iterdir() if "-json.log" in p.name)
    assert files == [f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"]
    for f in files:
        assert (d / f).stat().st_size <= 2048
        for line in (d / f).read_text().splitlines():
            assert json.loads(line)["stream"] == "stdout"
    out = cli("logs", name).stdout.splitlines()
    assert out[-1] == "line-199-xxxxxxxxxxxxxxxxxxxxxxxx"
    assert 30 < len(out) < 200  # the oldest lines were rotated away
    nums = [int(ln.split("-")[1]) for ln in out]
    assert nums == list(range(nums[0], 200))  # in order, none missing
    assert cli("logs", "--tail", "2", name).stdout.splitlines() == [
        "line-198-xxxxxxxxxxxxxxxxxxxxxxxx", "line-199-xxxxxxxxxxxxxxxxxxxxxxxx"]


def test_oom_killed(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("oom")
    # tail buffers a line that never ends: it grows until the memory limit kills it
    r = cli("run", "-d", "--name", name, "-m", "16m", "--memory-swap", "16m", "busybox",
            "tail", "/dev/zero")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: record(root, name).status.value == "exited", timeout=60,
             what="the OOM kill")
    rec = record(root, name)
    assert (rec.exit_code, rec.oom_killed) == (137, True)
    assert rec.state_json()["OOMKilled"] is True
    # a container that ends by itself is not OOM-killed
    ok = unique_name("nooom")
    cli("run", "--name", ok, "-m", "16m", "busybox", "true", check=True)
    assert record(root, ok).oom_killed is False
    # foreground too
    fg = unique_name("oomfg")
    r = cli("run", "--name", fg, "-m", "16m", "--memory-swap", "16m", "busybox",
            "tail", "/dev/zero")
    assert r.returncode == 137
    assert record(root, fg).oom_killed is True


def test_twenty_parallel_detached_runs(cli: Dy, busybox: str, root: Path) -> None:
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _i: cli("run", "-d", "busybox", "sleep", "60"),
                                range(20)))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results]
    ids = {r.stdout.strip() for r in results}
    assert len(ids) == 20
    names = [ln.split()[-1] for ln in cli("ps").stdout.splitlines()[1:]]
    assert len(names) == 20 and len(set(names)) == 20
    assert all(record(root, i).status.value == "running" for i in ids)


def test_host_restart_then_ps_and_start(cli: Dy, busybox: str, root: Path,
                                        tmp_path: Path) -> None:
    """Monitors and containers gone, mounts gone, the exec root emptied: ``ps -a`` says
    exited and ``start`` runs the container again."""
    from dockyard.image.snapshots import unmount

    name = unique_name("reboot")
    cid = cli("run", "-d", "--name", name, "busybox", "sh", "-c",
              "echo started; exec sleep 300", check=True).stdout.strip()
    wait_for(lambda: cli("logs", name).stdout == "started\n")
    [monitor] = procs_with(str(tmp_path))
    os.kill(monitor, signal.SIGKILL)
    wait_for(lambda: not procs_with(str(tmp_path)), timeout=10)
    init = record(root, name).pid
    os.kill(init, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{init}"), timeout=10)
    for m in reversed(mounted_under(tmp_path)):
        unmount(m)
    ps = cli("ps", "-a").stdout
    assert re.search(rf"Exited \(\d+\) .* {name}", ps), ps
    assert record(root, name).status.value == "exited"
    r = cli("start", name)
    assert (r.returncode, r.stdout) == (0, f"{name}\n"), r.stderr
    assert record(root, name).status.value == "running"
    wait_for(lambda: cli("logs", name).stdout == "started\nstarted\n")
    # and once more with the whole exec root gone (a tmpfs after a reboot)
    os.kill(procs_with(str(tmp_path))[0], signal.SIGKILL)
    os.kill(record(root, name).pid, signal.SIGKILL)
    wait_for(lambda: not procs_with(str(tmp_path)), timeout=10)
    time.sleep(0.3)
    for m in reversed(mounted_under(tmp_path)):
        unmount(m)
    import shutil

    for d in cgroup_dirs_of(cid):
        for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
            os.rmdir(sub)
    shutil.rmtree(tmp_path / "exec")
    assert "Exited" in cli("ps", "-a").stdout
    assert cli("start", name).returncode == 0
    wait_for(lambda: cli("logs", name).stdout == "started\n" * 3)
    assert cli("rm", "-f", name).returncode == 0
    assert not mounted_under(tmp_path)


def test_sigkill_of_the_cli_leaves_nothing_rm_cannot_remove(busybox: str, root: Path,
                                                            tmp_path: Path,
                                                            cli: Dy) -> None:
    exec_root = tmp_path / "exec"
    secs = str(3000 + os.getpid() % 5000)  # a command line no parallel test shares
    for delay in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8):
        p = subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root),
                              "--exec-root", str(exec_root), "run", "-d", "busybox",
                              "sleep", secs], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
    time.sleep(1)
    ids = cli("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        r = cli("rm", "-f", *ids)
        assert r.returncode == 0, r.stderr
    assert cli("ps", "-aq").stdout == ""
    wait_for(lambda: not procs_with("sleep\x00" + secs, but_not="dockyard"), timeout=10,
             what="no container process left")
    wait_for(lambda: not procs_with(str(tmp_path)), timeout=10, what="no monitor left")
    assert not mounted_under(tmp_path)
    assert not runtime_states(exec_root / "runtime")
    leftover = [i for i in ids if cgroup_dirs_of(i)]
    assert leftover == []
