"""Fixtures for the registry tests: real ``docker-registry`` processes on 127.0.0.1 only,
always stopped at teardown (also when a test fails)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixture import (
    STARTED,
    Registry,
    TokenServer,
    add_image,
    busybox_layer,
    htpasswd_auth,
    run_registry,
    tls_config,
)

from dockyard.registry.ocidir import OciLayout

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
