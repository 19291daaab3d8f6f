"""A private Debian ``dockerd`` for interop tests, and everything needed to remove it again.

The daemon gets its own data root, exec root, pidfile, unix socket, daemon.json, trust key
and cgroup parent, all under one short temp dir (unix socket paths are limited to 108
bytes), and never touches the host's network: ``--iptables=false --ip6tables=false
--bridge=none --ip-forward=false``. Its containerd is the default managed child, whose
config, state and shims live under the exec root.

:meth:`Dockerd.stop` leaves nothing behind, also after a failed test: SIGTERM then SIGKILL
for dockerd, then any process whose command line names our dir (containerd, shims) or
that sits in our cgroup parent (container processes), a lazy unmount of every mount
under the dir (deepest first), the cgroup dirs, the few host dirs containerd and dockerd
create at fixed paths when they did not exist before, and the dir itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Dockerd", "DockerdError", "dockerd_binary", "running_dockerd"]

STORAGE_DRIVERS = ("overlay2", "vfs")  # vfs when the kernel refuses overlay here
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
# Fixed paths dockerd and containerd's shims create whatever their roots are.
HOST_DIRS = ("/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd")
CGROUP_ROOT = Path("/sys/fs/cgroup")


class DockerdError(Exception):
    """The private daemon did not come up; carries the tail of its log."""


def dockerd_binary() -> str | None:
    return shutil.which("dockerd")


def _client_binary(dockerd: str) -> str:
    """The ``docker`` CLI of the same package as ``dockerd`` (another one earlier on
    PATH may be much newer), else the first on PATH."""
    beside = Path(dockerd).with_name("docker")
    if beside.exists():
        return str(beside)
    return shutil.which("docker") or "docker"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def _signal_all(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _terminate(pids: set[int], timeout: float = 5.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL what is still alive."""
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    _signal_all({p for p in pids if _alive(p)}, signal.SIGKILL)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first (proc(5) mountinfo, field 5)."""
    prefix = str(path).rstrip("/") + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(path) or point.startswith(prefix):
            points.append(point)
    return sorted(points, key=lambda p: (p.count("/"), p), reverse=True)


class Dockerd:
    """One private daemon under ``base``; ``docker()`` runs the CLI against it."""

    def __init__(self, base: Path, dockerd: str) -> None:
        self.base = base
        self.dockerd = dockerd
        self.client = _client_binary(dockerd)
        self.socket = base / "d.sock"
        self.data_root = base / "data"
        self.exec_root = base / "exec"
        self.pidfile = base / "d.pid"
        self.log = base / "dockerd.log"
        self.cgroup_parent = f"dockyard-test-{base.name}"
        self.storage_driver = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._absent_host_dirs = [d for d in HOST_DIRS if not os.path.exists(d)]
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}",
                    "DOCKER_CONFIG": str(base / "client")}

    # running -------------------------------------------------------------------------
    def docker(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([self.client, *args], capture_output=True, text=True,
                           env={**self.env, **(env or {})}, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {r.returncode}: "
                                 f"{r.stderr.strip()}")
        return r

    def empty(self) -> None:
        """Remove every container and image, so that the next test sees a fresh daemon.

        ``rmi -f`` refuses an image that has children (a build's parent steps): remove
        what can go and repeat while that makes progress."""
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)
        left: set[str] = set()
        while True:
            ids = set(self.docker("images", "-aq", check=False).stdout.split())
            if not ids or ids == left:
                return
            left = ids
            self.docker("rmi", "-f", *sorted(ids), check=False)

    def start(self) -> None:
        """Start the daemon with the first storage driver it accepts."""
        tail = ""
        for driver in STORAGE_DRIVERS:
            if self._launch(driver):
                self.storage_driver = driver
                return
            tail = self.log.read_text(errors="replace")[-2000:]
            self._halt()
            shutil.rmtree(self.data_root, ignore_errors=True)
        raise DockerdError(f"dockerd did not come up with {STORAGE_DRIVERS}: {tail}")

    def _launch(self, driver: str) -> bool:
        for d in (self.data_root, self.exec_root, self.base / "client"):
            d.mkdir(mode=0o700, exist_ok=True)
        config = self.base / "daemon.json"  # not /etc/docker/daemon.json, nor its key.json
        config.write_text(json.dumps({"deprecated-key-path": str(self.base / "key.json")}))
        cmd = [self.dockerd, "--config-file", str(config),
               "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
               "--pidfile", str(self.pidfile), "--host", f"unix://{self.socket}",
               "--iptables=false", "--ip6tables=false", "--ip-forward=false",
               "--ip-masq=false", "--bridge=none", "--cgroup-parent", self.cgroup_parent,
               "--shutdown-timeout", "5",  # containers a failed test left running
               "--storage-driver", driver]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.socket.exists() and self.docker("version", check=False,
                                                    timeout=10).returncode == 0:
                return True
            time.sleep(0.2)
        return False

    # stopping ------------------------------------------------------------------------
    def own_processes(self) -> set[int]:
        """Processes naming our dir (dockerd, containerd, shims) or in our cgroups."""
        me = os.getpid()
        mark = f"{self.base}/"
        pids = {int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me
                and mark in _cmdline(int(p))}
        for procs in CGROUP_ROOT.glob(f"*/{self.cgroup_parent}/**/cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                continue
        return {p for p in pids if _alive(p)}

    def _halt(self) -> None:
        """Stop every process and unmount everything under ``base``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for _ in range(3):  # shims may exit slowly; container processes after them
            left = self.own_processes()
            if not left:
                break
            _terminate(left)
        for point in mounts_under(self.base):
            subprocess.run(["umount", "-l", point], capture_output=True)

    def _remove_cgroups(self) -> None:
        for top in CGROUP_ROOT.glob(f"*/{self.cgroup_parent}"):
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()),
                          key=lambda p: len(p.parts), reverse=True)
            for d in [*dirs, top]:
                try:
                    d.rmdir()
                except OSError:
                    pass

    def stop(self) -> None:
        """Leave nothing running, mounted or on disk; idempotent."""
        self._halt()
        self._remove_cgroups()
        for d in self._absent_host_dirs:  # deepest first, as listed; only if empty
            try:
                os.rmdir(d)
            except OSError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """What :meth:`stop` should have removed and did not."""
        left = [f"process {p}: {_cmdline(p)}" for p in self.own_processes()]
        left += [f"mount {m}" for m in mounts_under(self.base)]
        left += [f"cgroup {c}" for c in CGROUP_ROOT.glob(f"*/{self.cgroup_parent}")]
        if self.base.exists():
            left.append(f"dir {self.base}")
        return left


@contextmanager
def running_dockerd(dockerd: str) -> Iterator[Dockerd]:
    """A started private daemon, always stopped and removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="dyd-", dir="/tmp"))
    d = Dockerd(base, dockerd)
    try:
        d.start()
        yield d
    finally:
        d.stop()
