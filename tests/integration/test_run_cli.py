"""``dockyard run`` / ``ps`` / ``rm`` as a user types them (foreground containers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import runtime_states
from tests.integration.runtimes import cgroup_dirs

pytestmark = pytest.mark.integration


@pytest.fixture
def run(root: Path, tmp_path: Path) -> Dy:
    exec_root = tmp_path / "exec"

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        b = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                            "--exec-root", str(exec_root), *args],
                           capture_output=True, stdin=subprocess.DEVNULL)
        r = subprocess.CompletedProcess(b.args, b.returncode, b.stdout.decode(),
                                        b.stderr.decode())
        assert "Traceback" not in r.stderr, r.stderr
        return r

    return call


def _nothing_mounted(tmp_path: Path) -> bool:
    with open("/proc/self/mountinfo") as f:
        return str(tmp_path) not in f.read()


def test_run_prints_and_returns_the_exit_code(run: Dy, busybox: str, tmp_path: Path) -> None:
    r = run("run", "--name", "first", "-e", "GREETING=hello", "busybox",
            "sh", "-c", 'echo "$GREETING from pid $$"; grep CapEff /proc/self/status; exit 3')
    assert r.returncode == 3, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "hello from pid 1"
    assert int(lines[1].split()[1], 16) == 0xA80425FB  # Docker's default capabilities
    ps = run("ps", "-a")
    assert ps.stdout.splitlines()[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND",
                                                 "CREATED", "STATUS", "PORTS", "NAMES"]
    row = ps.stdout.splitlines()[1]
    assert "busybox" in row and "Exited (3)" in row and row.endswith("first")
    assert run("ps").stdout.splitlines()[1:] == []  # not running
    assert _nothing_mounted(tmp_path)
    r = run("rm", "first")
    assert r.returncode == 0 and r.stdout.strip() == "first"
    assert run("ps", "-aq").stdout == ""


def test_rm_flag_and_writes_stay_in_the_container(run: Dy, busybox: str,
                                                  tmp_path: Path) -> None:
    r = run("run", "--rm", "busybox", "sh", "-c", "echo data > /created; cat /created")
    assert r.returncode == 0 and r.stdout.strip() == "data"
    assert run("ps", "-aq").stdout == ""
    r = run("run", "--rm", "busybox", "cat", "/created")  # a fresh container: not there
    assert r.returncode == 1
    assert _nothing_mounted(tmp_path)
    r = run("run", "--rm", "busybox", "cat", "/proc/self/cgroup")  # its own cgroup's name
    cid = r.stdout.strip().splitlines()[-1].rsplit("/", 1)[-1]
    assert len(cid) == 64, r.stdout
    assert cgroup_dirs(cid) == []  # (other tests may run containers beside it in /dockyard)


def test_exit_codes_for_what_cannot_run(run: Dy, busybox: str) -> None:
    r = run("run", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127
    assert "executable file not found" in r.stderr
    r = run("run", "--rm", "missing-image")
    assert r.returncode == 125
    assert "Unable to find image 'missing-image' locally" in r.stderr
    r = run("run", "--bogus-flag", "busybox")
    assert r.returncode == 125 and "bogus" in r.stderr


def test_name_conflicts_and_user_workdir(run: Dy, busybox: str) -> None:
    assert run("run", "--name", "dup", "busybox", "true").returncode == 0
    r = run("run", "--name", "dup", "busybox", "true")
    assert r.returncode == 125 and 'The container name "/dup" is already in use' in r.stderr
    r = run("run", "--rm", "-u", "65534:65534", "-w", "/etc", "busybox",
            "sh", "-c", "id -u; pwd")
    assert r.stdout.split() == ["65534", "/etc"]
    assert run("rm", "dup").returncode == 0


def test_rm_force_after_the_run_cli_was_killed(run: Dy, busybox: str, root: Path,
                                              tmp_path: Path) -> None:
    """SIGKILL of a foreground ``run``: the container keeps running (as with Docker, whose
    daemon holds it), ``ps`` says so, and ``rm -f`` leaves no process, mount or cgroup."""
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root),
                          "--exec-root", str(tmp_path / "exec"), "run", "--name", "victim",
                          "busybox", "sleep", "30"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while "victim" not in run("ps").stdout and time.monotonic() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        row = next(ln for ln in run("ps").stdout.splitlines() if "victim" in ln)
        cid = run("ps", "-q", "--no-trunc").stdout.strip()
        assert "Up " in row
        assert run("rm", "victim").returncode == 1  # running: needs -f
        r = run("rm", "-f", "victim")
        assert r.returncode == 0, r.stderr
        assert run("ps", "-aq").stdout == ""
        assert _nothing_mounted(tmp_path)
        assert cgroup_dirs(cid) == []
        assert not runtime_states(tmp_path / "exec" / "runtime")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _stage1_pids(mark: bytes) -> set[int]:
    """The runtime's stage 1 processes (argv[0] ``dockyard-init``) with ``mark`` in their
    environment (other runs on this host have stage 1s of their own)."""
    import os

    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f.read().split(b"\0", 1)[0] != b"dockyard-init":
                        continue
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if mark in f.read().split(b"\0"):
                        pids.add(int(entry))
            except OSError:
                pass
    return pids


def test_a_run_that_fails_before_its_start_leaves_no_stage1(root: Path, tmp_path: Path,
                                                            busybox: str) -> None:
    """A foreground ``run`` forks the runtime's stage 1 before it even parses its flags;
    whatever fails afterwards, that process goes too."""
    import os

    mark = f"DOCKYARD_TEST_MARK={os.getpid()}-{tmp_path.name}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}

    def run(*args: str) -> int:
        return subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                               "--exec-root", str(tmp_path / "exec"), "run", *args],
                              capture_output=True, env=env).returncode

    assert run("--rm", "missing-image") == 125
    assert run("--rm", "--memory", "bogus", "busybox", "true") == 125
    assert run("--rm", "busybox", "no-such-command") == 127
    assert run("--name", "taken", "busybox", "true") == 0
    assert run("--name", "taken", "busybox", "true") == 125
    assert _stage1_pids(mark.encode()) == set()


def test_the_container_gets_the_clis_stdio_even_when_one_is_closed(root: Path,
                                                                  tmp_path: Path,
                                                                  busybox: str) -> None:
    """stdio reaches the container with the runtime's GO (stage 1 was forked before the
    CLI set its stdin to /dev/null): the output reaches the CLI's stdout and stderr; a
    stdout the caller left closed is /dev/null for the CLI, never a file it opened."""
    argv = [sys.executable, "-m", "dockyard", "--root", str(root), "--exec-root",
            str(tmp_path / "exec"), "run", "--rm", "busybox", "sh", "-c"]
    r = subprocess.run([*argv, "echo out; echo err >&2; cat; echo after-stdin"],
                       capture_output=True, text=True, input="ignored\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "out\nafter-stdin\n"  # no -i: stdin is empty
    assert r.stderr == "err\n"
    r = subprocess.run([*argv, "echo x && echo wrote-stdout >&2"],
                       stdout=None, stderr=subprocess.PIPE, text=True,
                       stdin=subprocess.DEVNULL, pass_fds=(), close_fds=True,
                       preexec_fn=lambda: __import__("os").close(1))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "wrote-stdout\n"
