"""The three engines the container benches compare, each started privately.

- :class:`Dockyard`: the CLI of this checkout with a private ``--root`` / ``--exec-root``.
- ``docker``: Debian's dockerd on a private socket, data root and exec root, no host
  network (tests/integration/dockerd.py), driven by the ``docker`` CLI beside it.
- :class:`Podman`: Debian's podman with runc, ``cgroupfs``, lowered ulimits (no
  CAP_SYS_RESOURCE here), a private CONTAINERS_CONF, storage root, run root, tmp dir,
  network config dir and events log, so nothing system-wide changes; every run gets
  ``--cgroup-parent`` under one private cgroup that is removed at the end.

Every engine imports the same busybox tar (Debian's busybox-static, as the tests build
it). :func:`install_podman` apt-installs podman when it is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from dockerd import Dockerd, dockerd_binary, mounts_under, running_dockerd  # noqa: E402
from tests.conftest import make_busybox_rootfs  # noqa: E402

__all__ = ["CpuGroup", "Dockerd", "Dockyard", "Podman", "busybox_tar", "dockerd_binary",
           "install_podman", "mounts_under", "running_dockerd", "running_podman",
           "sigterm_unwinds", "umount_and_remove"]

CGROUP_ROOT = Path("/sys/fs/cgroup")


def sigterm_unwinds() -> None:
    """SIGTERM (and Ctrl-C) unwind through every ``finally``: nothing is left running."""

    def handler(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def busybox_tar(base: Path) -> Path:
    """A busybox rootfs from Debian's busybox-static, as a tar (tests' busybox_tar)."""
    root = make_busybox_rootfs(base / "bb-rootfs")
    out = base / "busybox.tar"
    with tarfile.open(out, "w") as tf:
        for p in sorted(root.iterdir()):
            tf.add(p, arcname=p.name)
    shutil.rmtree(root)
    return out


def umount_and_remove(path: Path) -> None:
    for point in mounts_under(path):
        subprocess.run(["umount", "-l", point], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def check(argv: list[str], env: dict[str, str] | None = None,
          timeout: float = 120) -> str:
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=env, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


class Dockyard:
    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        self.exec_root = base / "exec"
        self.cli = [os.path.join(os.path.dirname(sys.executable), "dockyard"),
                    "--root", str(self.root), "--exec-root", str(self.exec_root)]

    def __call__(self, *args: str) -> str:
        return check([*self.cli, *args])

    def stop(self) -> None:
        ids = subprocess.run([*self.cli, "ps", "-aq"], capture_output=True,
                             text=True).stdout.split()
        if ids:
            subprocess.run([*self.cli, "rm", "-f", *ids], capture_output=True)
        umount_and_remove(self.root)
        umount_and_remove(self.exec_root)


def install_podman() -> bool:
    """apt-get install podman (with runc and conmon) if it is missing."""
    if shutil.which("podman") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                        "podman", "runc", "conmon"], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("podman") is not None and shutil.which("runc") is not None


class Podman:
    """podman with everything private under ``base``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.cgroup_parent = f"/dockyard-bench-podman-{os.getpid()}"
        storage, run = base / "storage", base / "run"
        conf = base / "containers.conf"
        conf.write_text(f"""\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
tmp_dir = "{base}/tmp"
static_dir = "{storage}/libpod"
volume_path = "{storage}/volumes"

[network]
network_config_dir = "{base}/networks"
""")
        storage_conf = base / "storage.conf"
        storage_conf.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{storage}"\n'
                                f'runroot = "{run}"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf),
                    "CONTAINERS_STORAGE_CONF": str(storage_conf),
                    "CONTAINERS_REGISTRIES_CONF": str(base / "registries.conf"),
                    "TMPDIR": str(base / "tmp")}
        (base / "registries.conf").write_text("")
        (base / "tmp").mkdir()
        self.cli = ["podman", "--root", str(storage), "--runroot", str(run)]
        self.run_flags = ["--cgroup-parent", self.cgroup_parent]

    def __call__(self, *args: str) -> str:
        return check([*self.cli, *args], env=self.env)

    def own_processes(self) -> set[int]:
        mark = f"{self.base}/"
        pids = set()
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == os.getpid():
                continue
            try:
                cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if mark.encode() in cmd:
                pids.add(int(p))
        for procs in CGROUP_ROOT.glob(f"*{self.cgroup_parent}/**/cgroup.procs"):
            try:
                pids.update(int(x) for x in procs.read_text().split())
            except OSError:
                continue
        return pids

    def stop(self) -> None:
        subprocess.run([*self.cli, "rm", "-af", "-t", "0"], env=self.env,
                       capture_output=True, timeout=120)
        for _ in range(3):
            left = self.own_processes()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        for top in CGROUP_ROOT.glob(f"*{self.cgroup_parent}"):
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()),
                          key=lambda p: len(p.parts), reverse=True)
            for d in [*dirs, top]:
                try:
                    d.rmdir()
                except OSError:
                    pass
        umount_and_remove(self.base)


@contextmanager
def running_podman(base: Path) -> Iterator[Podman]:
    base.mkdir(parents=True)
    p = Podman(base)
    try:
        yield p
    finally:
        p.stop()


CPUACCT = CGROUP_ROOT / "cpuacct"


class CpuGroup:
    """A cgroup v1 ``cpuacct`` dir (created here, or an engine's cgroup parent): the CPU
    time its processes, and those of every cgroup below it, have used so far."""

    def __init__(self, name: str, create: bool = True) -> None:
        self.path = CPUACCT / name.strip("/")
        self.created = create
        if create:
            self.path.mkdir()

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def seconds(self) -> float:
        try:
            return int((self.path / "cpuacct.usage").read_text()) / 1e9
        except FileNotFoundError:  # an engine's parent, before its first container
            return 0.0

    def remove(self) -> None:
        """Move what is left to the root cgroup, then remove the dir and any below it."""
        if not self.created or not self.path.exists():
            return
        dirs = sorted((p for p in self.path.rglob("*") if p.is_dir()),
                      key=lambda p: len(p.parts), reverse=True)
        for d in [*dirs, self.path]:
            for pid in (d / "cgroup.procs").read_text().split():
                try:
                    (CPUACCT / "cgroup.procs").write_text(pid)
                except OSError:
                    pass
            try:
                d.rmdir()
            except OSError:
                pass
