"""The monitor's idle phase: while a detached container runs, its monitor is the small
single-threaded ``dockyard-shim`` program; logs, attach, restarts and health checks go
on through it, and the full monitor comes back to record each exit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import record, unique_name, wait_for

pytestmark = pytest.mark.integration


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def _cmdline(pid: int) -> list[bytes]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def _monitor(cli: Dy, name: str) -> int:
    """The parent of the container's init: its monitor."""
    pid = int(cli("inspect", "-f", "{{.State.Pid}}", name, check=True).stdout)
    return _ppid(pid)


def _is_shim(pid: int) -> bool:
    try:
        return _cmdline(pid)[0] == b"dockyard-shim"
    except OSError:
        return False


def _zombie_children(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] == "Z":
            out.append(int(name))
    return out


def test_idle_monitor_is_the_shim_and_serves_logs_and_attach(cli: Dy, busybox: str,
                                                              root: Path) -> None:
    name = unique_name("shim")
    cli("run", "-di", "--name", name, "busybox", "sh", "-c",
        'echo first; while read l; do echo got-$l; [ "$l" = bye ] && exit 7; done',
        check=True)
    wait_for(lambda: cli("logs", name).stdout == "first\n", what="the first line")
    mon = _monitor(cli, name)
    wait_for(lambda: _is_shim(mon), what="the monitor to exec into the shim")
    args = _cmdline(mon)
    assert args[1:3] == [b"-I", b"-S"] and str(root).encode() in args
    assert _threads(mon) == 1
    r = cli("attach", name, input="hello\nbye\n")
    assert (r.returncode, r.stdout) == (7, "got-hello\ngot-bye\n")
    wait_for(lambda: record(root, name).status.value == "exited", what="exited")
    assert record(root, name).exit_code == 7
    logs = cli("logs", name)
    assert logs.stdout == "first\ngot-hello\ngot-bye\n"
    wait_for(lambda: not os.path.exists(f"/proc/{mon}"), what="the monitor to end")


def test_restarts_go_through_the_shim(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("shimrs")
    cli("run", "-d", "--name", name, "--restart", "on-failure:2", "busybox", "sh", "-c",
        "echo run; sleep 2; exit 3", check=True)
    wait_for(lambda: record(root, name).restart_count == 1
             and record(root, name).status.value == "running", what="the first restart")
    mon = _monitor(cli, name)
    wait_for(lambda: _is_shim(mon), what="the restarted run's shim")
    wait_for(lambda: record(root, name).status.value == "exited", timeout=30,
             what="two restarts then exit")
    rec = record(root, name)
    assert (rec.exit_code, rec.restart_count) == (3, 2)
    assert cli("logs", name).stdout == "run\n" * 3
    r = cli("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", name)
    assert r.stdout == "exited 3 2\n"


def test_health_checks_run_from_the_shim(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("shimhc")
    cli("run", "-d", "--name", name, "--health-cmd", "echo ok-$((1+1))",
        "--health-interval", "300ms", "busybox", "sleep", "100", check=True)
    mon = _monitor(cli, name)
    wait_for(lambda: _is_shim(mon), what="the shim")
    wait_for(lambda: len((record(root, name).health or {}).get("Log", [])) >= 3,
             what="three checks")
    health = record(root, name).health or {}
    assert health["Status"] == "healthy"
    assert health["Log"][-1]["Output"] == "ok-2\n"
    assert _is_shim(mon) and _threads(mon) == 1
    wait_for(lambda: not _zombie_children(mon), what="the probes to be reaped")
    r = cli("stop", "-t", "1", name)
    assert r.returncode == 0, r.stderr
    rec = record(root, name)
    assert rec.status.value == "exited" and (rec.health or {}).get("Status") == "healthy"


def test_wait_returns_the_code_of_the_run_that_ended(cli: Dy, busybox: str,
                                                      root: Path) -> None:
    """As Docker's: the container goes on restarting, ``wait`` returns at its first exit."""
    name = unique_name("waitrs")
    cli("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c",
        "sleep 1; exit 5", check=True)
    r = cli("wait", name, timeout=30)
    assert (r.returncode, r.stdout) == (0, "5\n")
    wait_for(lambda: record(root, name).restart_count >= 1, what="a restart")
    assert record(root, name).status.value in ("running", "restarting")
    assert cli("stop", "-t", "1", name).returncode == 0
    r = cli("wait", name)
    assert r.stdout.strip() in ("5", "137", "143")


def test_foreground_run_with_a_restart_policy_keeps_restarting(cli: Dy, busybox: str,
                                                               root: Path) -> None:
    """Docker's attached ``run --restart``: the first run's output and exit code, while
    the container goes on restarting after the CLI returned."""
    name = unique_name("fgrs")
    r = cli("run", "--name", name, "--restart", "on-failure:2", "busybox", "sh", "-c",
            "echo out; echo err >&2; exit 4", timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (4, "out\n", "err\n")
    wait_for(lambda: record(root, name).status.value == "exited"
             and record(root, name).restart_count == 2, timeout=30,
             what="two restarts after the CLI returned")
    assert cli("logs", name).stdout == "out\n" * 3
