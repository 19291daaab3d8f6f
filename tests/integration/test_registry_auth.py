"""Auth against real docker-registry setups: htpasswd Basic and Bearer tokens (JWT, x5c),
and the ``dockyard login``/``logout`` verbs driving them through a subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.errors import PermissionDenied
from dockyard.registry import Credentials, RegistryClient, pull, push
from dockyard.registry.ocidir import OciLayout
from tests.integration.conftest import IMAGE_NAME, USERS
from tests.integration.registry_fixture import Registry, TokenServer

pytestmark = [pytest.mark.integration, pytest.mark.peer]

ALICE = Credentials("alice", USERS["alice"])


def _dockyard(*args: str, config: Path, stdin: str | None = None
              ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True,
                          text=True, env=env, input=stdin, timeout=60)


def test_basic_without_credentials_is_a_clear_error(basic_registry: Registry) -> None:
    client = RegistryClient(basic_registry.host, credentials=None)
    with pytest.raises(PermissionDenied) as err:
        client.get_manifest("test/busybox", "1")
    assert str(err.value) == ("unauthorized: authentication required for "
                              f"{basic_registry.host}/test/busybox")


def test_basic_push_and_pull(basic_registry: Registry, image_layout: OciLayout,
                             tmp_path: Path) -> None:
    ref = f"{basic_registry.host}/test/busybox:1"
    client = RegistryClient(basic_registry.host, credentials=ALICE)
    pushed = push(client, ref, image_layout, name=IMAGE_NAME)
    got = pull(RegistryClient(basic_registry.host, credentials=ALICE), ref,
               OciLayout(str(tmp_path / "sink")))
    assert got.digest == pushed.digest


def test_basic_wrong_password(basic_registry: Registry) -> None:
    client = RegistryClient(basic_registry.host, credentials=Credentials("alice", "nope"))
    with pytest.raises(PermissionDenied, match="incorrect username or password"):
        client.ping()


def test_bearer_without_credentials_is_a_clear_error(
        token_registry: tuple[Registry, TokenServer]) -> None:
    reg, _ = token_registry
    with pytest.raises(PermissionDenied) as err:
        RegistryClient(reg.host, credentials=None).get_manifest("test/busybox", "1")
    assert str(err.value) == f"unauthorized: authentication required for {reg.host}/test/busybox"


def test_bearer_push_and_pull_with_cached_tokens(
        token_registry: tuple[Registry, TokenServer], image_layout: OciLayout,
        tmp_path: Path) -> None:
    reg, tokens = token_registry
    ref = f"{reg.host}/test/busybox:1"
    pushed = push(RegistryClient(reg.host, credentials=ALICE), ref, image_layout,
                  name=IMAGE_NAME)
    tokens.requests.clear()
    got = pull(RegistryClient(reg.host, credentials=ALICE), ref,
               OciLayout(str(tmp_path / "sink")))
    assert got.digest == pushed.digest
    # One token for the pull scope serves the manifest, the config and the layer.
    assert tokens.requests == [("alice", ["repository:test/busybox:pull"])]


def test_bearer_wrong_password(token_registry: tuple[Registry, TokenServer]) -> None:
    reg, _ = token_registry
    client = RegistryClient(reg.host, credentials=Credentials("alice", "nope"))
    with pytest.raises(PermissionDenied) as err:
        client.ping()
    assert str(err.value) == f"unauthorized: incorrect username or password for {reg.host}"


@pytest.mark.parametrize("kind", ["basic", "bearer"])
def test_cli_login_then_client_uses_stored_credentials(
        kind: str, request: pytest.FixtureRequest, image_layout: OciLayout,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "basic":
        reg: Registry = request.getfixturevalue("basic_registry")
    else:
        reg = request.getfixturevalue("token_registry")[0]
    config = tmp_path / "docker-config"
    r = _dockyard("login", "-u", "alice", "--password-stdin", reg.host, config=config,
                  stdin=USERS["alice"] + "\n")
    assert (r.returncode, r.stdout) == (0, "Login Succeeded\n"), r.stderr
    path = config / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())["auths"]) == {reg.host}

    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    client = RegistryClient(reg.host)
    assert client.auth.credentials == ALICE
    push(client, f"{reg.host}/test/busybox:1", image_layout, name=IMAGE_NAME)
    assert RegistryClient(reg.host).list_tags("test/busybox") == ["1"]

    r = _dockyard("logout", reg.host, config=config)
    assert (r.returncode, r.stdout) == (0, f"Removing login credentials for {reg.host}\n")
    assert json.loads(path.read_text())["auths"] == {}
    assert RegistryClient(reg.host).auth.credentials is None
    r = _dockyard("logout", reg.host, config=config)
    assert r.stdout == f"Not logged in to {reg.host}\n"


def test_cli_login_failures_are_one_line(basic_registry: Registry, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    r = _dockyard("login", "-u", "alice", "-p", "wrong", basic_registry.host, config=config)
    assert r.returncode == 125
    assert r.stderr.splitlines()[-1] == (
        f"Error: unauthorized: incorrect username or password for {basic_registry.host}")
    assert "Traceback" not in r.stderr
    assert not (config / "config.json").exists()

    down = "127.0.0.1:1"
    r = _dockyard("login", "-u", "alice", "-p", "x", down, config=config)
    assert r.returncode == 125
    assert r.stderr.splitlines()[-1].startswith(f"Error: registry {down} is not reachable: ")
    assert "Traceback" not in r.stderr

    r = _dockyard("login", "-u", "alice", basic_registry.host, config=config, stdin="")
    assert r.returncode == 125
    assert r.stderr == "Error: Cannot perform an interactive login from a non TTY device\n"


def test_bearer_push_mounts_across_repositories(
        token_registry: tuple[Registry, TokenServer], image_layout: OciLayout) -> None:
    reg, tokens = token_registry
    client = RegistryClient(reg.host, credentials=ALICE)
    push(client, f"{reg.host}/test/busybox:1", image_layout, name=IMAGE_NAME)
    tokens.requests.clear()
    events: list[str] = []
    result = push(client, f"{reg.host}/other/copy:1", image_layout, name=IMAGE_NAME,
                  mount_from="test/busybox", progress=lambda event, d: events.append(event))
    assert sorted(events) == ["mounted", "mounted", "pushing", "pushing"]
    assert len(result.pushed) == 2
    # The mount asked for both repositories in one token.
    assert ("alice", ["repository:other/copy:pull,push", "repository:test/busybox:pull"]) \
        in tokens.requests


def test_bearer_push_without_push_access_is_denied(
        token_registry: tuple[Registry, TokenServer], image_layout: OciLayout) -> None:
    reg, _ = token_registry
    bob = Credentials("bob", USERS["bob"])
    with pytest.raises(PermissionDenied) as err:
        push(RegistryClient(reg.host, credentials=bob), f"{reg.host}/test/busybox:1",
             image_layout, name=IMAGE_NAME)
    assert str(err.value) == ("denied: requested access to the resource is denied: "
                              f"{reg.host}/test/busybox")
