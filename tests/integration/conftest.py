from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.registry.ocidir import OciLayout
from tests.conftest import make_busybox_rootfs
from tests.integration.dockerd import Dockerd, dockerd_binary, running_dockerd
from tests.integration.registry_fixture import (
    STARTED,
    Registry,
    TokenServer,
    add_image,
    busybox_layer,
    htpasswd_auth,
    run_registry,
    tls_config,
)
from tests.integration.runtimes import DOCKYARD_RUNTIME, Runtime, remove_test_cgroup_parents

Dy = Callable[..., subprocess.CompletedProcess[str]]


# --- OCI runtimes --------------------------------------------------------------------

def _runtime(name: str, tmp_path: Path) -> Runtime:
    if name == "dockyard":
        return Runtime("dockyard", list(DOCKYARD_RUNTIME), tmp_path / "state-dockyard")
    runc = shutil.which("runc")
    if runc is None:
        pytest.skip("runc is not installed")
    return Runtime("runc", [runc], tmp_path / "state-runc")


@pytest.fixture(params=["dockyard", "runc"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """Each observable case runs under dockyard-runtime and under runc."""
    rt = _runtime(request.param, tmp_path)
    try:
        yield rt
    finally:
        rt.cleanup()
        remove_test_cgroup_parents()


@pytest.fixture
def dockyard_runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = _runtime("dockyard", tmp_path)
    try:
        yield rt
    finally:
        rt.cleanup()
        remove_test_cgroup_parents()


# --- the dockyard CLI and images -------------------------------------------------------

@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs from Debian's busybox-static, as a tar."""
    d = tmp_path_factory.mktemp("bb")
    root = make_busybox_rootfs(d / "rootfs")
    out = d / "busybox.tar"
    with tarfile.open(out, "w") as tf:
        for p in sorted(root.iterdir()):
            tf.add(p, arcname=p.name)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A private dockyard root, with a default bridge, subnet and nftables table of its own
    (removed at teardown in case a test or dockyard left them)."""
    path = tmp_path / "root"
    net = private_network_config(path)
    try:
        yield path
    finally:
        remove_private_bridge(net)


@pytest.fixture
def dy(root: Path) -> Dy:
    def run(*args: str, input: bytes | str | None = None, check: bool = False,
            ) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        b = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root), *args],
                           input=data, capture_output=True)
        r = subprocess.CompletedProcess(b.args, b.returncode, b.stdout.decode(),
                                        b.stderr.decode())
        assert "Traceback" not in r.stderr, r.stderr
        if check:
            assert r.returncode == 0, r.stderr
        return r

    return run


@pytest.fixture
def cli(root: Path, tmp_path: Path) -> Iterator[Dy]:
    """The CLI as a user types it, with a private exec root and stdin closed; every
    container left at the end of the test is removed with ``rm -f``, failed test or not.
    Use this one for container tests: ``cli("run", "-d", "busybox", ...)``."""
    exec_root = tmp_path / "exec"

    def call(*args: str, input: bytes | str | None = None, check: bool = False,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        b = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                            "--exec-root", str(exec_root), *args], input=data,
                           stdin=None if data is not None else subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        r = subprocess.CompletedProcess(b.args, b.returncode, b.stdout.decode(),
                                        b.stderr.decode())
        assert "Traceback" not in r.stderr, r.stderr
        if check:
            assert r.returncode == 0, r.stderr
        return r

    try:
        yield call
    finally:
        ids = call("ps", "-aq").stdout.split()
        if ids:
            call("rm", "-f", *ids)
        for nid in call("network", "ls", "-q", "--filter", "type=custom").stdout.split():
            call("network", "rm", nid)


def private_network_config(root: Path) -> dict[str, str]:
    """A default bridge, subnet and nftables table of this root's own (``ROOT/engine.json``),
    so that tests running beside each other on this host never share them."""
    import json
    import random

    from dockyard.network.links import routes_in_use

    tag = f"{os.getpid() % 10000:04d}{random.randrange(16**3):03x}"
    used = routes_in_use()
    while True:
        subnet = ipaddress.IPv4Network(f"10.{random.randrange(128, 255)}."
                                       f"{random.randrange(256)}.0/24")
        if not any(subnet.overlaps(u) for u in used):
            break
    cfg = {"bridge": f"dyb{tag}", "bridge_subnet": str(subnet), "nft_table": f"dyt{tag}"}
    root.mkdir(parents=True, exist_ok=True)
    (root / "engine.json").write_text(json.dumps(cfg))
    return cfg


def remove_private_bridge(cfg: dict[str, str]) -> None:
    """The root's default bridge and nftables table, if dockyard failed to remove them."""
    subprocess.run(["ip", "link", "del", cfg["bridge"]], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", cfg["nft_table"]], capture_output=True)


@pytest.fixture
def busybox(dy: Dy, busybox_tar: Path) -> str:
    r = dy("import", str(busybox_tar), "busybox", check=True)
    return r.stdout.strip()


def no_mounts_under(path: Path) -> bool:
    return str(path) not in Path("/proc/self/mountinfo").read_text()


# --- a private Docker daemon (Debian's docker.io) ------------------------------------

@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """Debian's dockerd on its own socket, data and exec roots; stopped and removed at
    the end of the session, failed tests or not, and checked to have left nothing."""
    binary = dockerd_binary()
    if binary is None:
        pytest.skip("dockerd is not installed (Debian package docker.io)")
    with running_dockerd(binary) as d:
        yield d
    left = d.leftovers()
    assert not left, f"the private dockerd left {left}"


# --- registries (docker-registry on 127.0.0.1 only) ---------------------------------

USERS = {"alice": "s3cret-pass", "bob": "reader-pass"}  # bob may only pull (Bearer)
IMAGE_NAME = "busybox:1"


@pytest.fixture(scope="session", autouse=True)
def _no_registry_left_running() -> Iterator[None]:
    yield
    left = [r.host for r in STARTED if r.proc.poll() is None]
    assert not left, f"docker-registry still running on {left}"


@pytest.fixture(scope="session")
def layer() -> tuple[bytes, str]:
    return busybox_layer()


@pytest.fixture
def image_layout(tmp_path: Path, layer: tuple[bytes, str]) -> OciLayout:
    """An OCI layout holding one busybox image tagged ``busybox:1`` (ref.name ``1``)."""
    layout = OciLayout(str(tmp_path / "src-layout"))
    add_image(layout, IMAGE_NAME, *layer)
    return layout


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with run_registry(tmp_path / "registry") as reg:
        yield reg


@pytest.fixture
def basic_registry(tmp_path: Path) -> Iterator[Registry]:
    d = tmp_path / "basic-registry"
    d.mkdir()
    with run_registry(d, htpasswd_auth(d, USERS)) as reg:
        yield reg


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[Registry]:
    """HTTPS with a self-signed certificate; its CA bundle is ``<dir>/tls.crt``."""
    d = tmp_path / "tls-registry"
    d.mkdir()
    with run_registry(d, tls=tls_config(d)) as reg:
        yield reg


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[tuple[Registry, TokenServer]]:
    d = tmp_path / "token-registry"
    d.mkdir()
    tokens = TokenServer(dict(USERS), read_only=frozenset({"bob"}))
    try:
        auth = tokens.start(d)
        with run_registry(d, auth) as reg:
            yield reg, tokens
    finally:
        tokens.stop()


def skopeo_copy(layout: OciLayout, tag: str, dest: str, *extra: str) -> None:
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                    *extra, f"oci:{layout.path}:{tag}", f"docker://{dest}"],
                   check=True, capture_output=True, text=True)
