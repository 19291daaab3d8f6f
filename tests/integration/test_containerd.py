"""containerd drives dockyard-runtime as its runc binary (io.containerd.runc.v2 shim)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.runtimes import DOCKYARD_RUNTIME, cgroup_dirs

pytestmark = [pytest.mark.integration, pytest.mark.peer]

#: Unique per test process: two suites may run at once on one host.
NAMESPACE = f"dockyard-test-{os.getpid()}"


class Containerd:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.address = str(base / "containerd.sock")
        self.proc: subprocess.Popen[bytes] | None = None

    def ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ctr", "--address", self.address, "-n", NAMESPACE, *args],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def start(self) -> None:
        config = self.base / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{self.base}/root"\n'
            f'state = "{self.base}/state"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            "[grpc]\n"
            f'  address = "{self.address}"\n'
            "[ttrpc]\n"
            f'  address = "{self.address}.ttrpc"\n')
        log = open(self.base / "containerd.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(["containerd", "--config", str(config)], stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.ctr("version", timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("containerd did not come up: "
                           + (self.base / "containerd.log").read_text()[-2000:])

    def stop(self) -> None:
        # Shims of our namespace outlive containerd: stop them too.
        for pid in _pids_with_arg(self.address):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f if str(self.base) in line]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        # the runc shim's state root for our namespace (empty once tasks are deleted)
        shutil.rmtree(f"/run/containerd/runc/{NAMESPACE}", ignore_errors=True)
        # containerd's cgroupsPath is /<namespace>/<id>: the namespace's dirs are ours
        for d in cgroup_dirs(NAMESPACE):
            for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass


def _pids_with_arg(arg: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if arg.encode() in f.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


@pytest.fixture
def containerd(tmp_path: Path) -> Iterator[Containerd]:
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.skip("containerd is not installed")
    base = Path(f"/tmp/dyctrd-{os.getpid()}-{tmp_path.name[-12:]}")
    base.mkdir(parents=True)
    c = Containerd(base)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def test_ctr_runs_a_busybox_image_with_dockyard_runtime(containerd: Containerd, dy: Dy,
                                                        busybox: str, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    dy("save", "-o", str(archive), "busybox:latest", check=True)
    r = containerd.ctr("images", "import", str(archive))
    assert r.returncode == 0, r.stderr
    image = "docker.io/library/busybox:latest"
    runtime = DOCKYARD_RUNTIME[0]
    r = containerd.ctr("run", "--rm", "--runc-binary", runtime, "--runtime",
                       "io.containerd.runc.v2", image, "dy1", "sh", "-c",
                       "echo hello from pid $$; exit 3")
    assert r.returncode == 3, r.stderr
    assert "hello from pid 1" in r.stdout
    # exec into a running task, then stop it
    r = containerd.ctr("run", "-d", "--runc-binary", runtime, "--runtime",
                       "io.containerd.runc.v2", image, "dy2", "sleep", "60")
    assert r.returncode == 0, r.stderr
    r = containerd.ctr("task", "exec", "--exec-id", "e1", "dy2", "sh", "-c", "exit 5")
    assert r.returncode == 5, r.stderr
    r = containerd.ctr("task", "ls")
    assert "dy2" in r.stdout and "RUNNING" in r.stdout
    # the shim drove dockyard-runtime: the state under its --root is ours, not runc's
    state = Path("/run/containerd/runc", NAMESPACE, "dy2", "state.json")
    assert "pid_start" in json.loads(state.read_text())
    assert containerd.ctr("task", "kill", "-s", "SIGKILL", "dy2").returncode == 0
    deadline = time.monotonic() + 20
    while "STOPPED" not in containerd.ctr("task", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert containerd.ctr("task", "rm", "dy2").returncode == 0
    assert containerd.ctr("container", "rm", "dy2").returncode == 0
