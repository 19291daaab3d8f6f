"""``dockyard import URL``: the source downloaded over HTTP from 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.registry_fixture import Registry

pytestmark = pytest.mark.integration


@pytest.fixture
def http_dir(tmp_path: Path, busybox_tar: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving a directory holding ``busybox.tar``."""
    d = tmp_path / "www"
    d.mkdir()
    (d / "busybox.tar").write_bytes(busybox_tar.read_bytes())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(d)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _left_in(root: Path) -> list[str]:
    tmp = root / "image" / "tmp"
    ingest = root / "image" / "ingest"
    return [str(p) for d in (tmp, ingest) if d.exists() for p in d.iterdir()]


def test_import_from_url(dy: Dy, root: Path, http_dir: str, busybox_tar: Path) -> None:
    url = f"{http_dir}/busybox.tar"
    r = dy("import", url, "webbox:1", check=True)
    image_id = r.stdout.strip()
    assert image_id.startswith("sha256:") and r.stdout.count("\n") == 1
    doc = json.loads(dy("image", "inspect", "webbox:1", check=True).stdout)[0]
    assert doc["Id"] == image_id
    assert doc["Comment"] == f"Imported from {url}"
    # the same layer as importing the file
    dy("import", str(busybox_tar), "filebox", check=True)
    same = json.loads(dy("image", "inspect", "filebox", check=True).stdout)[0]
    assert same["RootFS"] == doc["RootFS"]
    assert _left_in(root) == []
    out = dy("run", "--rm", "webbox:1", "echo", "from-url")
    assert out.returncode == 0 and out.stdout == "from-url\n", out.stderr


def test_import_url_errors(dy: Dy, root: Path, http_dir: str) -> None:
    missing = f"{http_dir}/missing.tar"
    r = dy("import", missing, "nope")
    assert r.returncode == 1 and r.stdout == ""
    # the status line as the server sent it, as Go's resp.Status
    assert r.stderr == f"Error: failed to GET {missing} with status 404 File not found\n"
    host, port = "127.0.0.1", _closed_port()
    url = f"http://{host}:{port}/busybox.tar"
    r = dy("import", url)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f'Error: Get "{url}": Connection refused\n'
    assert dy("images", "-q", check=True).stdout == ""
    assert _left_in(root) == []
    blobs = root / "image" / "blobs" / "sha256"
    assert not blobs.exists() or os.listdir(blobs) == []


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_import_https_verifies_with_system_cas(dy: Dy, root: Path,
                                               tls_registry: Registry) -> None:
    """A certificate the system CAs do not vouch for (the test registry's): one line."""
    url = f"https://{tls_registry.host}/v2/"
    r = dy("import", url, "tlsbox", "--platform", "linux/amd64")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f'Error: Get "{url}": ') and r.stderr.count("\n") == 1
    assert "certificate verify failed" in r.stderr
    assert dy("images", "-q", check=True).stdout == ""
    assert _left_in(root) == []


def test_import_url_bad_input_fails_before_download(dy: Dy, http_dir: str) -> None:
    r = dy("import", "--platform", "a/b/c/d", f"{http_dir}/busybox.tar")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert dy("images", "-q", check=True).stdout == ""
