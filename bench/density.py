"""Memory per idle container beyond the container's own processes, for each engine.

Starts N idle containers (default 50) with ``run -d --network none busybox sleep 3600``
in dockyard, a private dockerd and a private podman (see bench/peers.py), one engine
after the other, and measures the engine's helper processes: the parent of each
container's init, i.e. dockyard's monitor, docker's containerd-shim-runc-v2, podman's
conmon. For each: PSS (proportional set size: shared pages split among their users) and
USS (private pages) from /proc/PID/smaps_rollup, summed and divided by N. Docker also
keeps dockerd and containerd running; their PSS growth over the N starts is shown apart
(dockyard and podman have no daemon). Everything is removed after each engine, also on
failure, Ctrl-C or SIGTERM. Run as root:  python bench/density.py [N]
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import (
    Dockyard,
    busybox_tar,
    dockerd_binary,
    install_podman,
    running_dockerd,
    running_podman,
    sigterm_unwinds,
    umount_and_remove,
)

ARGS = ["run", "-d", "--network", "none"]
COMMAND = ["busybox", "sleep", "3600"]


def rollup(pid: int) -> tuple[int, int]:
    """(PSS, USS) of ``pid`` in bytes."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0]) * 1024
    return fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


def comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def helpers_of(inits: Iterable[int]) -> list[int]:
    return sorted({ppid(p) for p in inits})


def total(pids: Iterable[int]) -> tuple[int, int]:
    pss = uss = 0
    for p in pids:
        a, b = rollup(p)
        pss, uss = pss + a, uss + b
    return pss, uss


class Result:
    def __init__(self, name: str, helpers: list[int], daemons_delta: int | None) -> None:
        self.name = name
        self.count = len(helpers)
        self.kinds = sorted({comm(p) for p in helpers})
        self.pss, self.uss = total(helpers)
        self.daemons_delta = daemons_delta


def measure(name: str, n: int, start: Callable[[], str], pid_of: Callable[[str], int],
            daemons: Callable[[], list[int]] | None = None) -> Result:
    before = total(daemons())[0] if daemons else 0
    ids = [start() for _ in range(n)]
    inits = [pid_of(i) for i in ids]
    helpers = helpers_of(inits)
    delta = total(daemons())[0] - before if daemons else None
    return Result(name, helpers, delta)


def mib(b: float) -> str:
    return f"{b / 2**20:6.2f} MiB"


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    dockerd = dockerd_binary()
    if os.geteuid() != 0 or dockerd is None or not install_podman():
        print("needs root, dockerd (docker.io), podman and runc", file=sys.stderr)
        return 1
    sigterm_unwinds()
    tmp = Path(tempfile.mkdtemp(prefix="bench-density-", dir="/var/tmp"))
    results: list[Result] = []
    try:
        tar = busybox_tar(tmp)
        dockyard = Dockyard(tmp / "dockyard")
        try:
            dockyard("import", str(tar), "busybox")
            results.append(measure(
                "dockyard", n, lambda: dockyard(*ARGS, *COMMAND).strip(),
                lambda c: dockyard_init(dockyard, c)))
        finally:
            dockyard.stop()
        with running_dockerd(dockerd) as docker:
            docker.docker("import", str(tar), "busybox")
            assert docker.proc is not None
            daemon = docker.proc.pid

            def daemons() -> list[int]:
                return [daemon, *(int(p) for p in os.listdir("/proc") if p.isdigit()
                                  and _is_child(int(p), daemon)
                                  and comm(int(p)) == "containerd")]

            results.append(measure(
                "docker", n, lambda: docker.docker(*ARGS, *COMMAND).stdout.strip(),
                lambda c: int(docker.docker("inspect", "-f", "{{.State.Pid}}",
                                            c).stdout), daemons))
        with running_podman(tmp / "podman") as podman:
            podman("import", "-q", str(tar), "busybox")
            results.append(measure(
                "podman", n,
                lambda: podman(*ARGS, *podman.run_flags, *COMMAND).strip(),
                lambda c: int(podman("inspect", "-f", "{{.State.Pid}}", c))))
    finally:
        umount_and_remove(tmp)
    print(f"{n} idle containers (sleep 3600) per engine; the parents of their inits, "
          "per container:")
    for r in results:
        line = (f"  {r.name:9} {'+'.join(r.kinds):22} x{r.count:<3} PSS {mib(r.pss / n)}"
                f"   USS {mib(r.uss / n)}")
        if r.daemons_delta is not None:
            line += f"   (+ dockerd/containerd PSS growth {mib(r.daemons_delta / n)})"
        print(line)
    return 0


def dockyard_init(dockyard: Dockyard, cid: str) -> int:
    """The init's pid from the runtime's state (``inspect`` may not exist yet)."""
    state = dockyard.exec_root / "runtime" / cid / "state.json"
    return int(json.loads(state.read_text())["pid"])


def _is_child(pid: int, parent: int) -> bool:
    with contextlib.suppress(OSError):
        return ppid(pid) == parent
    return False


if __name__ == "__main__":
    raise SystemExit(main())
