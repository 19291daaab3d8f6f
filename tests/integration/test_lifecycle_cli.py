"""The container verbs as a user types them: create, start, stop, restart, kill, pause,
unpause, wait, rename, update, top, container prune; run/create flags."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import (
    cgroup_dirs_of,
    mounted_under,
    procs_with,
    record,
    unique_name,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_create_start_stop_restart_wait(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("life")
    r = cli("create", "--name", name, "busybox", "sh", "-c", "echo hello; sleep 60")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert record(root, name).status.value == "created"
    assert "Created" in cli("ps", "-a").stdout
    r = cli("start", name)
    assert (r.returncode, r.stdout) == (0, f"{name}\n"), r.stderr
    assert record(root, name).status.value == "running"
    wait_for(lambda: cli("logs", name).stdout == "hello\n")
    # sleep as pid 1 ignores SIGTERM: stop kills it after the timeout, exit 137
    r = cli("stop", "-t", "1", cid[:12])
    assert (r.returncode, r.stdout) == (0, f"{cid[:12]}\n"), r.stderr
    rec = record(root, name)
    assert (rec.status.value, rec.exit_code) == ("exited", 137)
    assert not mounted_under(root.parent / "exec")
    assert cli("stop", name).returncode == 0  # stopping a stopped container is fine
    # start again: the rootfs is mounted again and the command runs again
    assert cli("start", name).returncode == 0
    wait_for(lambda: cli("logs", name).stdout == "hello\nhello\n")
    r = cli("restart", "-t", "0", name)
    assert (r.returncode, r.stdout) == (0, f"{name}\n"), r.stderr
    assert record(root, name).status.value == "running"
    wait_for(lambda: cli("logs", name).stdout.count("hello") == 3)
    for n in range(4, 7):  # stop, then start at once: the next monitor takes over
        cli("stop", "-t", "0", name, check=True)
        cli("start", name, check=True)
        assert record(root, name).status.value == "running"
        wait_for(lambda n=n: cli("logs", name).stdout.count("hello") == n)
    r = cli("kill", name)
    assert (r.returncode, r.stdout) == (0, f"{name}\n")
    r = cli("wait", name)
    assert (r.returncode, r.stdout) == (0, "137\n")


def test_stop_signal_stop_timeout_and_wait_code(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("sig")
    r = cli("run", "-d", "--name", name, "--stop-signal", "SIGUSR1", "--stop-timeout", "20",
            "busybox", "sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done")
    assert r.returncode == 0, r.stderr
    rec = record(root, name)
    assert rec.config["StopSignal"] == "SIGUSR1" and rec.config["StopTimeout"] == 20
    assert cli("stop", name).returncode == 0
    assert record(root, name).exit_code == 7
    assert cli("wait", name).stdout == "7\n"
    name2 = unique_name("kills")
    cli("run", "-d", "--name", name2, "busybox", "sh", "-c",
        "trap 'exit 3' HUP; while :; do sleep 0.1; done", check=True)
    assert cli("kill", "-s", "HUP", name2).returncode == 0
    assert cli("wait", name2).stdout == "3\n"


def test_errors_for_missing_and_stopped_containers(cli: Dy, busybox: str) -> None:
    for verb in ("start", "stop", "restart", "kill", "pause", "unpause", "wait", "top"):
        r = cli(verb, "no-such-ctr")
        assert r.returncode == 1, (verb, r)
        assert "Error response from daemon: " in r.stderr, (verb, r.stderr)
        assert "No such container: no-such-ctr" in r.stderr, (verb, r.stderr)
    r = cli("rename", "no-such-ctr", "x")
    assert r.returncode == 1 and "No such container: no-such-ctr" in r.stderr
    name = unique_name("stopped")
    cli("create", "--name", name, "busybox", "true", check=True)
    r = cli("kill", name)
    assert r.returncode == 1 and "is not running" in r.stderr, r.stderr
    r = cli("pause", name)
    assert r.returncode == 1 and "is not running" in r.stderr, r.stderr
    r = cli("unpause", name)
    assert r.returncode == 1 and "is not paused" in r.stderr, r.stderr
    r = cli("top", name)
    assert r.returncode == 1 and "is not running" in r.stderr, r.stderr
    assert cli("stop").returncode == 1
    assert cli("stop", "--bogus", name).returncode == 125


def test_pause_unpause_freezes_the_processes(cli: Dy, busybox: str, root: Path) -> None:
    name = unique_name("pz")
    cid = cli("run", "-d", "--name", name, "busybox", "sh", "-c",
              f"while :; do date >/dev/null; sleep 0.1; done # {name}",
              check=True).stdout.strip()
    assert cli("pause", name).stdout == f"{name}\n"
    rec = record(root, name)
    assert rec.status.value == "paused"
    assert re.search(r"Up .* \(Paused\)", cli("ps").stdout)
    [init] = procs_with(f"done # {name}", but_not="dockyard")
    with open(f"/proc/{init}/status") as f:
        state = next(ln for ln in f if ln.startswith("State:"))
    assert "S" in state or "D" in state
    freezer = [d for d in cgroup_dirs_of(cid) if "freezer" in d]
    if freezer:
        with open(os.path.join(freezer[0], "freezer.state")) as f:
            assert f.read().strip() == "FROZEN"
    r = cli("pause", name)
    assert r.returncode == 1 and "already paused" in r.stderr
    assert cli("unpause", name).returncode == 0
    assert record(root, name).status.value == "running"
    # a paused container stops too
    cli("pause", name, check=True)
    assert cli("stop", "-t", "1", name).returncode == 0
    assert record(root, name).status.value == "exited"


def test_rename_update_top(cli: Dy, busybox: str, root: Path) -> None:
    name, new = unique_name("ren"), unique_name("renamed")
    cid = cli("run", "-d", "--name", name, "-m", "64m", "busybox", "sh", "-c",
              "sleep 300 & exec sleep 301", check=True).stdout.strip()
    r = cli("rename", name, new)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    assert record(root, new).id == cid
    r = cli("rename", new, new)
    assert r.returncode == 1 and "same name" in r.stderr
    # top: ps -ef's columns, the init first
    r = cli("top", new)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert lines[0].startswith("UID" + " " * 17 + "PID")
    cmds = [ln.split(None, 7)[7] for ln in lines[1:]]
    assert cmds == ["sleep 301", "sleep 300"]
    assert all(ln.split()[0] == "root" and ln.split()[5] == "?" for ln in lines[1:])
    # update: the cgroup limits change live, and HostConfig says so
    r = cli("update", "--memory", "100m", "--memory-swap", "200m", "--cpus", "0.5",
            "--pids-limit", "50", "--cpu-shares", "512", "--restart", "on-failure:2", new)
    assert (r.returncode, r.stdout) == (0, f"{new}\n"), r.stderr
    hc = record(root, new).host_config
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"],
            hc["CpuShares"]) == (100 << 20, 200 << 20, 500_000_000, 50, 512)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    dirs = cgroup_dirs_of(cid)
    for d in dirs:
        if "/memory/" in d:
            assert Path(d, "memory.limit_in_bytes").read_text().strip() == str(100 << 20)
        if "/pids/" in d:
            assert Path(d, "pids.max").read_text().strip() == "50"
        if d.startswith("/sys/fs/cgroup/cpu,cpuacct/") or "/cpu/" in d:
            assert Path(d, "cpu.cfs_quota_us").read_text().strip() == "50000"
        if d.startswith("/sys/fs/cgroup/dockyard/"):  # cgroup v2
            assert Path(d, "memory.max").read_text().strip() == str(100 << 20)
    r = cli("update", "--memory", "300m", new)  # above the memory+swap limit
    assert r.returncode == 1 and "memoryswap" in r.stderr
    r = cli("update", "--cpu-shares", "x", new)
    assert r.returncode == 125


def test_container_prune(cli: Dy, busybox: str, root: Path) -> None:
    keep = cli("run", "-d", "busybox", "sleep", "60", check=True).stdout.strip()
    gone = [cli("create", "busybox", "true", check=True).stdout.strip() for _ in range(2)]
    labelled = cli("create", "-l", "keep=yes", "busybox", "true", check=True).stdout.strip()
    r = cli("container", "prune", "-f", "--filter", "label!=keep")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Deleted Containers:\n")
    assert sorted(r.stdout.split("\n")[1:3]) == sorted(gone)
    assert r.stdout.endswith("\nTotal reclaimed space: 0B\n")
    left = cli("ps", "-aq", "--no-trunc").stdout.split()
    assert sorted(left) == sorted([keep, labelled])
    cli("start", labelled, check=True)
    cli("wait", labelled, check=True)
    big = cli("run", "busybox", "sh", "-c", "head -c 12345 /dev/zero > /data",
              check=True)
    assert big.returncode == 0
    r = cli("container", "prune", "-f")
    assert sorted(r.stdout.split("\n")[1:3]) != []
    assert labelled in r.stdout
    assert r.stdout.endswith("\nTotal reclaimed space: 12.35kB\n"), r.stdout
    r = cli("container", "prune", "-f")
    assert r.stdout == "Total reclaimed space: 0B\n"
    r = cli("container", "prune", input="n\n")
    assert "Are you sure you want to continue? [y/N]" in r.stdout


def test_run_flags_reach_config_hostconfig_and_spec(cli: Dy, busybox: str, root: Path,
                                                    tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=1\nOVER=file\n")
    label_file = tmp_path / "labels"
    label_file.write_text("a=1\nb\n")
    name = unique_name("flags")
    r = cli("run", "--name", name, "--env-file", str(env_file), "-e", "OVER=flag",
            "-l", "c=3", "--label-file", str(label_file), "--cpu-shares", "512",
            "--cpuset-cpus", "0", "-m", "32m", "--memory-swap", "64m", "--ulimit",
            "nofile=512:1024", "--sysctl", "net.ipv4.ip_forward=1", "--shm-size", "32m",
            "--restart", "no", "--stop-timeout", "3", "--log-opt", "max-size=1m",
            "--log-opt", "max-file=2", "--health-cmd", "true", "--health-interval", "1m30s",
            "--health-retries", "5",
            "busybox", "sh", "-c",
            "echo $FROM_FILE $OVER; ulimit -n; cat /proc/sys/net/ipv4/ip_forward; "
            "df -k /dev/shm | tail -1 | awk '{print $2}'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:4] == ["1 flag", "512", "1", "32768"]
    rec = record(root, name)
    cfg, hc = rec.config, rec.host_config
    assert cfg["Env"] == ["FROM_FILE=1", "OVER=file", "OVER=flag"] or \
        "OVER=flag" in cfg["Env"]
    assert cfg["Labels"] == {"a": "1", "b": "", "c": "3"}
    assert cfg["Cmd"][0] == "sh" and cfg["Image"] == "busybox"
    assert cfg["Hostname"] == rec.id[:12] and cfg["StopTimeout"] == 3
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 90 * 10**9,
                                  "Retries": 5}
    assert (hc["CpuShares"], hc["CpusetCpus"], hc["Memory"], hc["MemorySwap"],
            hc["ShmSize"]) == (512, "0", 32 << 20, 64 << 20, 32 << 20)
    assert hc["Ulimits"] == [{"Name": "nofile", "Hard": 1024, "Soft": 512}]
    assert hc["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert hc["LogConfig"] == {"Type": "json-file",
                               "Config": {"max-size": "1m", "max-file": "2"}}
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["AutoRemove"] is False and hc["Privileged"] is False


def test_privileged_and_init(cli: Dy, busybox: str) -> None:
    def cap_eff(*flags: str) -> int:
        r = cli("run", "--rm", *flags, "busybox", "grep", "CapEff", "/proc/self/status")
        assert r.returncode == 0, r.stderr
        return int(r.stdout.split()[1], 16)

    sys_admin = 1 << 21
    assert not cap_eff() & sys_admin
    assert cap_eff("--privileged") & sys_admin
    if not os.path.exists("/usr/bin/tini-static"):
        pytest.skip("tini is not installed")
    r = cli("run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("/sbin/docker-init -- sh -c"), r.stdout
    name = unique_name("init")
    cli("run", "-d", "--init", "--name", name, "busybox", "sleep", "60", check=True)
    r = cli("stop", "-t", "5", name)  # tini passes SIGTERM on: sleep dies of it
    assert r.returncode == 0
    assert cli("wait", name).stdout == "143\n"


@pytest.mark.parametrize(("flags", "message"), [
    (["--restart", "sometimes"], "invalid restart policy 'sometimes'"),
    (["--restart", "always:3"], "maximum retry count cannot be used with restart policy"),
    (["--restart", "on-failure:x"], "maximum retry count must be an integer"),
    (["--rm", "--restart", "always"], "Conflicting options: --restart and --rm"),
    (["--memory", "lots"], "invalid argument \"lots\" for \"--memory\" flag"),
    (["--cpu-shares", "many"], "invalid argument \"many\" for \"--cpu-shares\" flag"),
    (["--health-interval", "soon"], "invalid argument \"soon\" for \"--health-interval\""),
    (["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck conflicts with"),
    (["--sysctl", "kernel.hostname=x"], "is not whitelisted"),
    (["--ulimit", "nofile=2:1"], "ulimit soft limit must be less than or equal"),
    (["--stop-signal", "SIGNOPE"], "unknown signal"),
    (["--log-opt", "max-file=0", "--log-opt", "max-size=1k"], "max-file cannot be less"),
    (["--log-opt", "bogus=1"], "unknown log opt 'bogus'"),
    (["--pull", "sometimes"], "invalid pull option"),
    (["--platform", "linux/s390x"], "does not match the specified platform"),
    (["--env-file", "/nonexistent/env"], "/nonexistent/env"),
    (["--cpuset-cpus", "999"], "Requested CPUs are not available - requested 999"),
    (["--cpuset-cpus", "x"], "Invalid value x for cpuset cpus"),
])
def test_bad_flag_values_exit_125(cli: Dy, busybox: str, flags: list[str],
                                  message: str) -> None:
    for verb in ("run", "create"):
        r = cli(verb, *flags, "busybox", "true")
        assert r.returncode == 125, (verb, flags, r)
        assert message in r.stderr, (verb, r.stderr)
    assert cli("ps", "-aq").stdout == ""


def test_pull_never_and_missing_image(cli: Dy, busybox: str) -> None:
    r = cli("run", "--pull", "never", "not-here", "true")
    assert r.returncode == 125 and "No such image: not-here" in r.stderr
    r = cli("create", "not-here")
    assert r.returncode == 125 and "Unable to find image 'not-here' locally" in r.stderr
    assert cli("run", "--rm", "--pull", "never", "busybox", "true").returncode == 0


def test_rm_force_of_a_running_container_leaves_nothing(cli: Dy, busybox: str,
                                                        root: Path, tmp_path: Path) -> None:
    name = unique_name("rmf")
    secs = 2000 + os.getpid() % 5000  # command lines no parallel test shares
    cid = cli("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c",
              f"sleep {secs} & exec sleep {secs + 1}", check=True).stdout.strip()
    assert cgroup_dirs_of(cid)
    r = cli("rm", "-f", name)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not procs_with(str(tmp_path)), timeout=10, what="the monitor to exit")
    assert not procs_with(f"sleep\x00{secs + 1}", but_not="dockyard")
    assert not procs_with(f"sleep\x00{secs}", but_not="dockyard")
    assert not mounted_under(tmp_path)
    assert cgroup_dirs_of(cid) == []
    assert not (root / "containers" / cid).exists()
    assert not (tmp_path / "exec" / "containers" / cid).exists()
    snapshots = [p for p in root.rglob(cid) if p.exists()]
    assert snapshots == [], snapshots
    assert cli("ps", "-aq").stdout == ""


def test_runtime_update_command(cli: Dy, busybox: str, tmp_path: Path) -> None:
    """``dockyard-runtime update`` (runc's command line) on a container the engine runs."""
    import json
    import subprocess

    from tests.integration.runtimes import DOCKYARD_RUNTIME

    cid = cli("run", "-d", "-m", "64m", "busybox", "sleep", "60", check=True).stdout.strip()
    rt = [*DOCKYARD_RUNTIME, "--root", str(tmp_path / "exec" / "runtime")]
    r = subprocess.run([*rt, "update", "--resources", "-", cid], capture_output=True,
                       text=True, input=json.dumps({"pids": {"limit": 33}}))
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*rt, "update", "--memory", str(80 << 20), cid], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    for d in cgroup_dirs_of(cid):
        if "/pids/" in d or d.startswith("/sys/fs/cgroup/dockyard/"):
            assert Path(d, "pids.max").read_text().strip() == "33"
        if "/memory/" in d:
            assert Path(d, "memory.limit_in_bytes").read_text().strip() == str(80 << 20)
    state = json.loads(subprocess.run([*rt, "state", cid], capture_output=True,
                                      text=True).stdout)
    assert state["status"] == "running"
    r = subprocess.run([*rt, "update", "--pids-limit", "x", cid], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "invalid value" in r.stderr
    r = subprocess.run([*rt, "update", "--pids-limit", "5", "no-such"], capture_output=True,
                       text=True)
    assert r.returncode != 0


def test_rm_flags(cli: Dy, busybox: str) -> None:
    cid = cli("create", "busybox", "true", check=True).stdout.strip()
    r = cli("rm", "-fv", cid[:12])
    assert (r.returncode, r.stdout) == (0, f"{cid[:12]}\n"), r.stderr
    assert cli("rm", "-x", "abc").returncode == 125
    r = cli("kill", "no-such-ctr")
    assert "No such container: no-such-ctr" in r.stderr


def test_wait_for_a_container_removed_as_it_exits(cli: Dy, busybox: str) -> None:
    name = unique_name("rmwait")
    cli("run", "-d", "--rm", "--name", name, "busybox", "sh", "-c", "sleep 1; exit 9",
        check=True)
    r = cli("wait", name)
    assert (r.returncode, r.stdout) == (0, "9\n"), r.stderr
    wait_for(lambda: cli("ps", "-aq").stdout == "", what="the --rm removal")
