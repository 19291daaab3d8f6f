"""``dockyard system check [--repair]`` and ``system prune`` as a user runs them: a root
corrupted by hand, and a pull killed mid-download."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.registry.ocidir import OciLayout
from dockyard.registry.protocol import (
    MEDIA_OCI_CONFIG,
    MEDIA_OCI_LAYER,
    MEDIA_OCI_MANIFEST,
    Descriptor,
)
from tests.integration.conftest import Dy, skopeo_copy
from tests.integration.registry_fixture import Registry

pytestmark = [pytest.mark.integration]


@pytest.fixture
def run(root: Path, tmp_path: Path) -> Dy:
    """The CLI with a private exec root and stdin closed."""
    exec_root = tmp_path / "exec"

    def call(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                            "--exec-root", str(exec_root), *args], input=input,
                           capture_output=True, text=True,
                           stdin=None if input is not None else subprocess.DEVNULL)
        assert "Traceback" not in r.stderr, r.stderr
        return r

    return call


def _open_db(root: Path) -> Any:
    import sqlite3

    return sqlite3.connect(root / "dockyard.db", isolation_level=None)


def test_check_finds_and_repairs_a_corrupted_root(run: Dy, root: Path, busybox: str,
                                                  busybox_tar: Path) -> None:
    r = run("system", "check")
    assert (r.returncode, r.stdout) == (0, "no problems found\n"), r.stderr
    other = run("import", "-m", "second", str(busybox_tar), "other:1").stdout.strip()
    blobs = root / "image" / "blobs" / "sha256"
    # an orphan blob, a half-written ingest, an image without its config, an unused snapshot
    orphan = b"nobody refers to me\n"
    orphan_digest = "sha256:" + hashlib.sha256(orphan).hexdigest()
    (blobs / orphan_digest[7:]).write_bytes(orphan)
    (root / "image" / "ingest" / ("ab" * 16)).write_bytes(b"half a blob")
    stale = root / "image" / "pull-ingest" / f"sha256-{'0' * 64}"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"an old partial download")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    (blobs / other[7:]).unlink()
    subprocess.run([sys.executable, "-c", "import sys; from dockyard.image.service import "
                    "ImageService; ImageService(sys.argv[1]).snapshots.prepare('junk')",
                    str(root)], check=True)

    r = run("system", "check")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert f"image {other}: config blob missing" in lines
    assert f"blob {orphan_digest}: not referenced by any image (20 bytes)" in lines
    assert any(ln.startswith(f"partial ingest {'ab' * 16}: abandoned (11 bytes")
               for ln in lines)
    assert any(ln.startswith(f"partial download sha256:{'0' * 64}: stale (23 bytes")
               for ln in lines)
    assert "snapshot junk: active snapshot no image or container uses" in lines
    assert lines[-1] == (f"{len(lines) - 1} problems found; run 'dockyard system check "
                         "--repair' to fix them")

    r = run("system", "check", "--repair")
    assert r.returncode == 0, r.stderr
    assert f"repaired: image {other}: config blob missing" in r.stdout.splitlines()
    fixed = r.stdout.splitlines()
    assert all(ln.startswith("repaired: ") for ln in fixed[:-1])
    assert set(lines[:-1]) <= {ln.removeprefix("repaired: ") for ln in fixed}
    # forgetting the image left its manifest blob unreferenced: repaired in the same run
    assert fixed[-1] == f"{len(fixed) - 1} problems repaired" and len(fixed) > len(lines)
    r = run("system", "check")
    assert (r.returncode, r.stdout) == (0, "no problems found\n")
    assert not stale.exists() and not (blobs / orphan_digest[7:]).exists()
    assert run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"
    r = run("run", "--rm", "busybox", "true")
    assert r.returncode == 0, r.stderr
    assert run("system", "check").stdout == "no problems found\n"


def test_check_reports_dangling_tags_and_containers(run: Dy, root: Path, busybox: str) -> None:
    assert run("run", "--name", "kept", "busybox", "true").returncode == 0
    cid = run("ps", "-aq", "--no-trunc").stdout.strip()
    db = _open_db(root)  # foreign keys off: a hand edit (or an old bug) can do this
    db.execute("INSERT INTO image_tags VALUES ('docker.io/library/ghost:1', 'sha256:"
               + "f" * 64 + "', 0)")
    bundle = db.execute("SELECT bundle_dir FROM containers").fetchone()[0]
    db.close()
    os.rename(bundle, bundle + ".moved")
    r = run("system", "check")
    assert r.returncode == 1
    assert r.stdout.splitlines()[:2] == [
        f"tag docker.io/library/ghost:1: image sha256:{'f' * 64} missing",
        f"container {cid}: bundle {bundle} missing"]
    assert run("system", "check", "--repair").returncode == 0
    assert run("system", "check").stdout == "no problems found\n"
    assert run("ps", "-aq").stdout == ""


def test_system_prune(run: Dy, busybox: str, busybox_tar: Path) -> None:
    assert run("run", "--name", "stopped", "busybox", "true").returncode == 0
    cid = run("ps", "-aq", "--no-trunc").stdout.strip()
    dangling = run("import", str(busybox_tar)).stdout.strip()
    # no answer on a non-tty stdin: nothing is removed
    r = run("system", "prune")
    assert r.returncode == 0
    assert r.stdout.startswith("WARNING! This will remove:\n  - all stopped containers\n"
                               "  - all networks not used by at least one container\n"
                               "  - all dangling images\n")
    assert run("ps", "-aq").stdout.strip() == cid[:12]
    r = run("system", "prune", input="n\n")
    assert r.returncode == 0 and "Deleted" not in r.stdout
    r = run("system", "prune", input="y\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("[y/N] ", 1)[1]
    assert out.startswith(f"Deleted Containers:\n{cid}\n\nDeleted Images:\n"
                          f"deleted: {dangling}\n")
    assert out.splitlines()[-1].startswith("Total reclaimed space: ")
    assert run("ps", "-aq").stdout == ""
    assert run("images", "-q").stdout == f"{busybox[7:19]}\n"
    r = run("system", "prune", "-a", "-f")
    assert r.stdout.startswith("Deleted Images:\nuntagged: busybox:latest\n"), r.stdout
    assert run("images", "-q").stdout == ""
    assert run("system", "check").stdout == "no problems found\n"
    r = run("system", "prune", "-f")
    assert r.stdout == "Total reclaimed space: 0B\n"


# --- a pull killed mid-download --------------------------------------------------------

class SlowProxy:
    """HTTP proxy on 127.0.0.1 in front of a registry that streams blob bodies at about
    ``rate`` bytes a second (``rate = 0``: at full speed); ``ranges`` records the
    ``Range`` headers it forwarded."""

    def __init__(self, upstream: str, rate: int) -> None:
        self.upstream = upstream
        self.rate = rate
        self.ranges: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.forward(self)

            do_HEAD = do_GET

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(self, req: http.server.BaseHTTPRequestHandler) -> None:
        headers = {k: v for k, v in req.headers.items()
                   if k.lower() not in ("connection", "keep-alive")}
        if "Range" in req.headers:
            self.ranges.append(req.headers["Range"])
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            conn.request(req.command, req.path, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        req.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding"):
                req.send_header(k, v)
        req.send_header("Connection", "close")
        req.end_headers()
        req.close_connection = True
        if req.command == "HEAD":
            return
        step = 64 << 10
        try:
            for i in range(0, len(data), step):
                req.wfile.write(data[i:i + step])
                req.wfile.flush()
                if self.rate and "/blobs/" in req.path:
                    time.sleep(step / self.rate)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed


def _put(layout: OciLayout, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = layout.blob_path_for_ingest(digest)
    Path(path).write_bytes(data)
    layout.commit(digest, path)
    return digest


def _big_image(layout: OciLayout, name: str, layers: int, size: int) -> None:
    """An image of ``layers`` layers, each one file of ``size`` random bytes."""
    diff_ids, descs = [], []
    for i in range(layers):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo(f"data{i}.bin")
            info.size, info.mode, info.mtime = size, 0o644, 0
            tar.addfile(info, io.BytesIO(os.urandom(size)))
        diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        blob = gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)
        descs.append({"mediaType": MEDIA_OCI_LAYER, "digest": _put(layout, blob),
                      "size": len(blob)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "created": "2026-01-01T00:00:00Z",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
                           "config": {"mediaType": MEDIA_OCI_CONFIG,
                                      "digest": _put(layout, config), "size": len(config)},
                           "layers": descs}).encode()
    layout.set_image(name, Descriptor(MEDIA_OCI_MANIFEST, _put(layout, manifest),
                                      len(manifest)))


@pytest.fixture
def slow_proxy(registry: Registry) -> Iterator[SlowProxy]:
    proxy = SlowProxy(registry.host, rate=2 << 20)
    try:
        yield proxy
    finally:
        proxy.stop()


def _growing_partial(ingest: Path, timeout: float = 30.0) -> Path:
    """The first download file in ``ingest`` seen growing between two looks."""
    deadline = time.monotonic() + timeout
    sizes: dict[Path, int] = {}
    while time.monotonic() < deadline:
        if ingest.is_dir():
            for p in ingest.iterdir():
                if p.suffix == ".lock":
                    continue
                try:
                    size = p.stat().st_size
                except FileNotFoundError:
                    continue
                if 0 < sizes.get(p, size) < size:
                    return p
                sizes[p] = size
        time.sleep(0.05)
    raise AssertionError(f"no partial download grew in {ingest}")


@pytest.mark.peer
def test_killed_pull_leaves_committed_state_intact(run: Dy, root: Path, registry: Registry,
                                                   slow_proxy: SlowProxy,
                                                   tmp_path: Path) -> None:
    layout = OciLayout(str(tmp_path / "big-layout"))
    _big_image(layout, "big:1", layers=3, size=3 << 20)
    skopeo_copy(layout, "1", f"{registry.host}/test/big:1")
    name = f"{slow_proxy.host}/test/big:1"
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root), "pull",
                             name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        partial = _growing_partial(root / "image" / "pull-ingest")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert partial.stat().st_size > 0
    # Nothing committed is corrupt: at most blobs of the unfinished pull are unreferenced,
    # and the partial downloads are notes (a later pull resumes them), not problems.
    r = run("system", "check")
    lines = r.stdout.splitlines()
    digest = partial.name.replace("-", ":", 1)
    assert any(ln.startswith(f"note: partial download {digest} (") and
               ln.endswith(" bytes, resumable)") for ln in lines), r.stdout
    problems = [ln for ln in lines[:-1] if not ln.startswith("note: ")]
    assert all(ln.startswith("blob ") for ln in problems), r.stdout
    assert r.returncode == (1 if problems else 0)
    if len(problems) == 1:  # the config blob, fetched first
        assert lines[-1] == ("1 problem found; run 'dockyard system check --repair' "
                             "to fix them")
    # the second pull completes (resuming with Range:) and leaves a clean root
    slow_proxy.rate = 0
    r = run("pull", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-2:] == [f"Status: Downloaded newer image for {name}", name]
    assert any(rng.startswith("bytes=") and rng != "bytes=0-" for rng in slow_proxy.ranges)
    r = run("system", "check")
    assert (r.returncode, r.stdout) == (0, "no problems found\n")
    assert run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout == (
        f"{slow_proxy.host}/test/big:1\n")
    assert os.listdir(root / "image" / "pull-ingest") == []


def test_system_df(run: Dy, busybox: str) -> None:
    assert run("run", "--name", "big", "busybox", "sh", "-c",
               "head -c 100000 /dev/zero > /big").returncode == 0
    r = run("system", "df")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    assert lines[1].split()[:3] == ["Images", "1", "1"] and lines[1].endswith("0B (0%)")
    assert lines[2] == "Containers      1         0         100kB     100kB (100%)"
    assert lines[3:] == ["Local Volumes   0         0         0B        0B",
                         "Build Cache     0         0         0B        0B"]


def test_check_while_an_image_is_written(run: Dy, root: Path, busybox: str) -> None:
    """A writer holds the gc lock shared: in-flight blobs must not be reported or removed."""
    import fcntl

    blob = root / "image" / "blobs" / "sha256" / ("c" * 64)
    blob.write_bytes(b"in flight")
    fd = os.open(root / "image" / "locks" / "gc", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        r = run("system", "check")
        assert (r.returncode, r.stdout) == (0, "note: an image is being written: unused "
                                               "snapshots and blobs not checked\n"
                                               "no problems found\n")
        r = run("system", "check", "--repair")
        assert r.returncode == 1 and r.stderr == (
            "Error: system check --repair: an image is being written by another process; "
            "try again when it finishes\n")
        assert blob.exists()
    finally:
        os.close(fd)
    assert run("system", "check", "--repair").returncode == 0
    assert not blob.exists()


def test_a_container_being_created_is_left_alone(run: Dy, root: Path, busybox: str) -> None:
    """``run`` records a container before its bundle and snapshot exist."""
    from dockyard.engine.containers import ContainerRecord, ContainerStore

    with ContainerStore(str(root)) as store:
        rec = store.create(ContainerRecord(id="a" * 64, name="young", image="busybox",
                                           image_id=busybox, bundle_dir=str(root / "nope"),
                                           rootfs_key="a" * 64))
    r = run("system", "check", "--repair")
    assert (r.returncode, r.stdout) == (0, f"note: container {rec.id}: being created\n"
                                           "no problems found\n")
    db = _open_db(root)
    db.execute("UPDATE containers SET created = '2020-01-01T00:00:00.000000000Z'")
    db.close()
    r = run("system", "check")
    assert r.returncode == 1
    assert r.stdout.splitlines()[:2] == [f"container {rec.id}: bundle {root / 'nope'} missing",
                                         f"container {rec.id}: rootfs snapshot missing"]
    assert run("system", "check", "--repair").returncode == 0
    assert run("ps", "-aq").stdout == ""
