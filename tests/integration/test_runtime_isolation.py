"""What a container's process observes, under dockyard-runtime and under runc alike."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtimes import Runtime, make_bundle

pytestmark = pytest.mark.integration


def run_in(runtime: Runtime, tmp_path: Path, rootfs: Path, script: str,
           **changes: Any) -> tuple[int, str, str]:
    mutate = changes.pop("mutate", None)
    bundle = make_bundle(tmp_path, rootfs, ["sh", "-c", script], **changes)
    if mutate is not None:
        spec = json.loads((bundle / "config.json").read_text())
        mutate(spec)
        (bundle / "config.json").write_text(json.dumps(spec))
    r = runtime("run", "--bundle", str(bundle), runtime.new_id())
    return r.returncode, r.stdout, r.stderr


def test_own_hostname_and_pid_1(runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs, "hostname; echo $$",
                            hostname="cage")
    assert code == 0, err
    assert out.split() == ["cage", "1"]


def test_fresh_netns_has_only_lo(runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs, "ls /sys/class/net")
    assert code == 0, err
    assert out.split() == ["lo"]


def test_host_mounts_are_invisible(runtime: Runtime, tmp_path: Path,
                                   busybox_rootfs: Path) -> None:
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs, "cat /proc/self/mountinfo")
    assert code == 0, err
    points = [line.split()[4] for line in out.splitlines()]
    assert "/" in points and "/proc" in points
    assert not any(p.startswith(("/work", "/tmp/pytest", "/root")) for p in points), points
    assert str(tmp_path) not in out


def test_exit_code_is_the_process_exit_code(runtime: Runtime, tmp_path: Path,
                                            busybox_rootfs: Path) -> None:
    code, _, _ = run_in(runtime, tmp_path, busybox_rootfs, "exit 42")
    assert code == 42


def _caps(spec: dict[str, Any], names: list[str]) -> None:
    spec["process"]["capabilities"] = {k: list(names) for k in
                                       ("bounding", "effective", "permitted")}


def test_capeff_equals_the_configured_set(runtime: Runtime, tmp_path: Path,
                                          busybox_rootfs: Path) -> None:
    names = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"]
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs, "grep Cap /proc/self/status",
                            mutate=lambda s: _caps(s, names))
    assert code == 0, err
    fields = dict(line.split(":\t") for line in out.strip().splitlines())
    want = (1 << 0) | (1 << 5) | (1 << 13) | (1 << 18)
    assert int(fields["CapEff"], 16) == want
    assert int(fields["CapPrm"], 16) == want
    assert int(fields["CapBnd"], 16) == want
    assert int(fields["CapAmb"], 16) == 0


def test_seccomp_denied_syscall_gets_eperm(runtime: Runtime, tmp_path: Path,
                                           busybox_rootfs: Path) -> None:
    def deny_mkdir(spec: dict[str, Any]) -> None:
        spec["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
        spec["root"]["readonly"] = False

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "mkdir /dev/shm/x; echo rc=$?; touch /dev/shm/y && echo touched",
                            mutate=deny_mkdir)
    assert code == 0, err
    assert "Operation not permitted" in err
    assert "rc=1" in out and "touched" in out


def test_masked_paths_read_empty(runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    def mask(spec: dict[str, Any]) -> None:
        spec["linux"]["maskedPaths"] = ["/proc/timer_list", "/proc/acpi", "/sys/firmware"]

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; "
                            "touch /sys/firmware/x 2>/dev/null || echo ro", mutate=mask)
    assert code == 0, err
    assert out.split() == ["0", "0", "ro"]


def test_readonly_paths_refuse_writes(runtime: Runtime, tmp_path: Path,
                                      busybox_rootfs: Path) -> None:
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "echo x > /proc/sys/kernel/hostname; echo rc=$?; "
                            "touch /newfile; echo rc=$?")
    assert code == 0
    assert out.split() == ["rc=1", "rc=1"]
    assert err.count("Read-only file system") == 2


def test_memory_hog_is_oom_killed(runtime: Runtime, tmp_path: Path,
                                  busybox_rootfs: Path) -> None:
    def limit(spec: dict[str, Any]) -> None:
        spec["linux"]["resources"]["memory"] = {"limit": 32 << 20, "swap": 32 << 20}

    # The shell keeps the whole 200 MB of command output in memory.
    code, out, _ = run_in(runtime, tmp_path, busybox_rootfs,
                          "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
                          mutate=limit)
    assert code == 137
    assert "survived" not in out


def test_fork_bomb_stops_at_pids_max(runtime: Runtime, tmp_path: Path,
                                     busybox_rootfs: Path) -> None:
    def limit(spec: dict[str, Any]) -> None:
        spec["linux"]["resources"]["pids"] = {"limit": 10}

    # The inner shell dies at its first failed fork; the outer one then reads the count
    # with builtins only (a fork would fail too: the sleeps hold the limit).
    _, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                         "sh -c 'i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done'; "
                         "read n < /sys/fs/cgroup/pids/pids.current; echo $n", mutate=limit)
    assert "can't fork" in err or "Resource temporarily unavailable" in err
    assert 1 < int(out.split()[0]) <= 10


def test_cpu_quota_holds_a_busy_loop(runtime: Runtime, tmp_path: Path,
                                     busybox_rootfs: Path) -> None:
    def quota(spec: dict[str, Any]) -> None:
        spec["linux"]["resources"]["cpu"] = {"quota": 20000, "period": 100000}

    # Two seconds of a busy loop may use at most 20% of one CPU: ~0.4 s of CPU time.
    _, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                         "timeout 2 sh -c 'while :; do :; done'; "
                         "cat /sys/fs/cgroup/cpuacct/cpuacct.usage", mutate=quota)
    used_s = int(out.split()[-1]) / 1e9
    assert 0.1 < used_s < 0.8, (used_s, err)


def test_dotdot_cannot_leave_the_rootfs(runtime: Runtime, tmp_path: Path,
                                        busybox_rootfs: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    def escape(spec: dict[str, Any]) -> None:
        spec["mounts"].append({"destination": "/../../../../" + str(outside) + "/m",
                               "type": "tmpfs", "source": "tmpfs"})

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "ls /..; echo; ls -d " + str(outside) + "/m", mutate=escape)
    assert code == 0, err
    listing = out.split()
    assert "bin" in listing and "etc" in listing
    assert not (outside / "m").exists()
    with open("/proc/self/mountinfo") as f:
        assert str(outside) not in f.read()


def test_no_host_fd_or_cwd_leaks_in(runtime: Runtime, tmp_path: Path,
                                    busybox_rootfs: Path) -> None:
    """CVE-2024-21626: only stdio (and ls's own directory fd) inside, cwd inside."""
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "ls /proc/self/fd; readlink /proc/self/cwd")
    assert code == 0, err
    lines = out.split()
    assert lines[:3] == ["0", "1", "2"] and len(lines) <= 5, lines
    assert lines[-1] == "/"


def test_user_namespace_maps_root(runtime: Runtime, tmp_path: Path,
                                  busybox_rootfs: Path) -> None:
    def userns(spec: dict[str, Any]) -> None:
        spec["linux"]["namespaces"].append({"type": "user"})
        spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]

    # The mapped root (host uid 100000) must be able to reach the rootfs: pytest's tmp
    # dirs are 0700, so the rootfs goes to a world-searchable dir of its own.
    shared = tempfile.mkdtemp(prefix="dockyard-userns-")
    try:
        os.chmod(shared, 0o755)
        rootfs = Path(shared) / "rootfs"
        shutil.copytree(busybox_rootfs, rootfs, symlinks=True)
        code, out, err = run_in(runtime, tmp_path, rootfs, "id -u; cat /proc/self/uid_map",
                                mutate=userns)
    finally:
        shutil.rmtree(shared)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]


def test_environment_cwd_and_user(runtime: Runtime, tmp_path: Path,
                                  busybox_rootfs: Path) -> None:
    def setup(spec: dict[str, Any]) -> None:
        spec["process"]["env"].append("GREETING=hi there")
        spec["process"]["cwd"] = "/etc"
        spec["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [5]}

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            'echo "$GREETING"; pwd; id -u; id -g; id -G', mutate=setup)
    assert code == 0, err
    assert out.splitlines() == ["hi there", "/etc", "65534", "65534", "65534 5"]


def test_no_signal_is_ignored_or_blocked(runtime: Runtime, tmp_path: Path,
                                         busybox_rootfs: Path) -> None:
    """The process starts with default dispositions and an empty mask, as runc's does
    (an interpreter's own ignored SIGPIPE/SIGXFSZ must not leak through execve)."""
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "grep -E '^Sig(Ign|Blk):' /proc/self/status")
    assert code == 0, err
    fields = out.split()
    assert fields[:2] == ["SigBlk:", "0000000000000000"]
    assert int(fields[3], 16) & ((1 << 12) | (1 << 24)) == 0  # SIGPIPE, SIGXFSZ


def test_rlimit_is_applied(runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs, "ulimit -n")
    assert code == 0, err
    assert out.strip() == "1024"


def test_sysctl_and_oom_score_adj(runtime: Runtime, tmp_path: Path,
                                  busybox_rootfs: Path) -> None:
    def setup(spec: dict[str, Any]) -> None:
        spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1",
                                   "net.ipv4.ip_unprivileged_port_start": "80"}
        spec["linux"]["readonlyPaths"] = []
        spec["process"]["oomScoreAdj"] = 500

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "cat /proc/sys/net/ipv4/ip_forward "
                            "/proc/sys/net/ipv4/ip_unprivileged_port_start "
                            "/proc/self/oom_score_adj", mutate=setup)
    assert code == 0, err
    assert out.split() == ["1", "80", "500"]
    with open("/proc/self/oom_score_adj") as f:
        assert f.read().strip() != "500"


def test_joining_a_namespace_by_path(runtime: Runtime, tmp_path: Path,
                                     busybox_rootfs: Path) -> None:
    first = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"])
    cid = runtime.new_id()
    assert runtime("run", "-d", "--bundle", str(first), cid).returncode == 0
    pid = runtime.state(cid)["pid"]

    def join(spec: dict[str, Any]) -> None:
        for n in spec["linux"]["namespaces"]:
            if n["type"] in ("network", "ipc"):
                n["path"] = f"/proc/{pid}/ns/{'net' if n['type'] == 'network' else 'ipc'}"

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "for n in net ipc uts; do readlink /proc/self/ns/$n; done",
                            mutate=join)
    assert code == 0, err
    net, ipc, uts = out.split()
    assert net == os.readlink(f"/proc/{pid}/ns/net")
    assert ipc == os.readlink(f"/proc/{pid}/ns/ipc")
    assert uts != os.readlink(f"/proc/{pid}/ns/uts")  # not joined: a fresh one


def test_rlimit_above_the_hard_limit_is_clamped_with_a_warning(
        dockyard_runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no finite hard limit to exceed")
    want = hard * 4

    def raise_it(spec: dict[str, Any]) -> None:
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": want, "hard": want}]

    code, out, err = run_in(dockyard_runtime, tmp_path, busybox_rootfs, "ulimit -n",
                            mutate=raise_it)
    assert code == 0, err
    seen = int(out.strip())
    if "CAP_SYS_RESOURCE is missing" in err:  # this host: clamped to the hard limit
        assert seen == hard
    else:  # a host with CAP_SYS_RESOURCE may raise it
        assert seen == want


def test_bind_mounts_with_options(runtime: Runtime, tmp_path: Path,
                                  busybox_rootfs: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from the host\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def binds(spec: dict[str, Any]) -> None:
        spec["mounts"] += [
            {"destination": "/data", "type": "bind", "source": str(shared),
             "options": ["rbind", "ro", "nosuid", "nodev"]},
            {"destination": "/scratch", "type": "bind", "source": str(scratch),
             "options": ["rbind", "rw"]}]

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "cat /data/hello.txt; touch /data/x 2>/dev/null || echo ro; "
                            "echo written > /scratch/out; grep ' /data ' /proc/self/mountinfo",
                            mutate=binds)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["from the host", "ro"]
    opts = lines[2].split()[5]
    assert "ro" in opts.split(",") and "nosuid" in opts and "nodev" in opts
    assert (scratch / "out").read_text() == "written\n"
    assert not (shared / "x").exists()


def test_no_new_privileges_and_umask(runtime: Runtime, tmp_path: Path,
                                     busybox_rootfs: Path) -> None:
    def setup(spec: dict[str, Any]) -> None:
        spec["process"]["noNewPrivileges"] = True
        spec["process"]["user"]["umask"] = 0o077

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "grep NoNewPrivs /proc/self/status; umask", mutate=setup)
    assert code == 0, err
    assert out.split() == ["NoNewPrivs:", "1", "0077"]


def test_cgroup_resources_as_the_container_sees_them(runtime: Runtime, tmp_path: Path,
                                                     busybox_rootfs: Path) -> None:
    def resources(spec: dict[str, Any]) -> None:
        spec["linux"]["resources"].update({
            "memory": {"limit": 64 << 20, "reservation": 32 << 20},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 42},
            "blockIO": {"weight": 300},
        })

    script = ("cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes "
              "memory/memory.soft_limit_in_bytes cpu/cpu.shares cpu/cpu.cfs_quota_us "
              "cpu/cpu.cfs_period_us cpuset/cpuset.cpus pids/pids.max; "
              "cat blkio/blkio.weight 2>/dev/null || cat blkio/blkio.bfq.weight")
    code, out, err = run_in(runtime, tmp_path, busybox_rootfs, script, mutate=resources)
    assert code == 0, err
    values = out.split()
    assert values[:7] == [str(64 << 20), str(32 << 20), "512", "50000", "100000", "0", "42"]
    assert values[-1].split()[-1] == "300"


def test_cgroup_mount_without_a_cgroup_namespace(runtime: Runtime, tmp_path: Path,
                                                 busybox_rootfs: Path) -> None:
    """Docker's default on v1 hosts: no cgroup namespace, /sys/fs/cgroup shows the
    container's own cgroup directories, read-only."""
    def setup(spec: dict[str, Any]) -> None:
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"]
                                       if n["type"] != "cgroup"]
        spec["linux"]["resources"]["pids"] = {"limit": 33}

    code, out, err = run_in(runtime, tmp_path, busybox_rootfs,
                            "cat /sys/fs/cgroup/pids/pids.max; "
                            "echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo ro",
                            mutate=setup)
    assert code == 0, err
    assert out.split() == ["33", "ro"]
