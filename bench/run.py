"""`dockyard run --rm busybox true` against `docker run --rm` and `podman run --rm`.

Each engine is private (see bench/peers.py): dockyard with its own --root/--exec-root,
Debian's dockerd on a private socket/data root/exec root, podman (runc, cgroupfs) with a
private CONTAINERS_CONF and storage; all three import the same busybox tar. All run
``--network none`` (the private dockerd has no bridge; podman has no network plugins
here; dockyard's container gets a fresh netns with only lo either way), so each start
makes the same kinds of namespaces. Interleaved, after RUNS/10 warm-up rounds, RUNS runs
each (default 20); prints the medians and dockyard's ratios. Podman is apt-installed if
missing. Everything started is stopped and removed, also on failure, Ctrl-C or SIGTERM.
Run as root:  python bench/run.py [RUNS]
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import (
    CpuGroup,
    Dockyard,
    busybox_tar,
    dockerd_binary,
    install_podman,
    running_dockerd,
    running_podman,
    sigterm_unwinds,
    umount_and_remove,
)

ARGS = ["run", "--rm", "--network", "none"]


def timed(argv: list[str], env: dict[str, str] | None = None,
          groups: Sequence[CpuGroup] = ()) -> tuple[float, float]:
    """(wall seconds, CPU seconds): the command's own and its waited-for descendants'
    user+system time (getrusage), plus what the engine's cgroups used meanwhile
    (daemons, shims, conmon, the container's cgroup: none of them our children)."""
    cpu0 = _children_cpu() + sum(g.seconds() for g in groups)
    start = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env, text=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return took, _children_cpu() + sum(g.seconds() for g in groups) - cpu0


def _children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    dockerd = dockerd_binary()
    if os.geteuid() != 0 or dockerd is None or not install_podman():
        print("needs root, dockerd (docker.io), podman and runc", file=sys.stderr)
        return 1
    sigterm_unwinds()
    tmp = Path(tempfile.mkdtemp(prefix="bench-run-", dir="/var/tmp"))
    times: dict[str, list[float]] = {"dockyard": [], "docker": [], "podman": []}
    cpu: dict[str, list[float]] = {"dockyard": [], "docker": [], "podman": []}
    load_before = load()
    try:
        tar = busybox_tar(tmp)
        dockyard = Dockyard(tmp / "dockyard")
        with contextlib.ExitStack() as stack:
            stack.callback(dockyard.stop)
            dockyard("import", str(tar), "busybox")
            daemons = CpuGroup(f"dockyard-bench-dockerd-{os.getpid()}")
            stack.callback(daemons.remove)  # after the daemon stopped (LIFO)
            docker = stack.enter_context(running_dockerd(dockerd))
            docker.docker("import", str(tar), "busybox")
            for pid in docker.own_processes():  # dockerd and its containerd
                daemons.add(pid)
            docker_groups = (daemons, CpuGroup(docker.cgroup_parent, create=False))
            podman = stack.enter_context(running_podman(tmp / "podman"))
            podman("import", "-q", str(tar), "busybox")
            podman_groups = (CpuGroup(podman.cgroup_parent, create=False),)
            peers: dict[str, Callable[[], tuple[float, float]]] = {
                "dockyard": lambda: timed([*dockyard.cli, *ARGS, "busybox", "true"]),
                "docker": lambda: timed([docker.client, *ARGS, "busybox", "true"],
                                        env=docker.env, groups=docker_groups),
                "podman": lambda: timed([*podman.cli, *ARGS, *podman.run_flags,
                                         "busybox", "true"], env=podman.env,
                                        groups=podman_groups),
            }
            warm = max(2, runs // 10)
            for i in range(runs + warm):
                for name, fn in peers.items():
                    t, c = fn()
                    if i >= warm:
                        times[name].append(t)
                        cpu[name].append(c)
            versions = {
                "docker": docker.docker("version", "-f", "{{.Server.Version}}").stdout.strip(),
                "podman": podman("version", "-f", "{{.Client.Version}}").strip(),
            }
    finally:
        umount_and_remove(tmp)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    cpu_med = {k: statistics.median(v) * 1000 for k, v in cpu.items()}
    print(f"run --rm --network none busybox true, median of {runs} interleaved runs "
          f"(load average {load_before} before, {load()} after):")
    print("                              wall        CPU (user+sys, all processes)")
    rows = (("dockyard", "dockyard", ""),
            ("docker", f"docker {versions['docker']}", "   (private dockerd)"),
            ("podman", f"podman {versions['podman']}", "   (runc, cgroupfs)"))
    for key, label, note in rows:
        print(f"  {label:24} {med[key]:7.1f} ms  {cpu_med[key]:7.1f} ms{note}")
    print(f"  ratio, wall              {med['dockyard'] / med['docker']:7.2f}x docker, "
          f"{med['dockyard'] / med['podman']:.2f}x podman "
          f"(goal: <= 0.5x docker, < 1x podman)")
    print(f"  ratio, CPU               {cpu_med['dockyard'] / cpu_med['docker']:7.2f}x docker, "
          f"{cpu_med['dockyard'] / cpu_med['podman']:.2f}x podman")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
