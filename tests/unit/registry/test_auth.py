from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.registry.auth import (
    Authenticator,
    Credentials,
    config_path,
    load_credentials,
    parse_challenges,
    remove_credentials,
    store_credentials,
)


def test_parse_bearer_challenge() -> None:
    [c] = parse_challenges('Bearer realm="https://auth.docker.io/token",'
                           'service="registry.docker.io",scope="repository:a/b:pull,push"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io", "scope": "repository:a/b:pull,push"}


def test_parse_several_challenges_and_escapes() -> None:
    cs = parse_challenges('Basic realm="a \\"b\\"", Bearer realm=x, error="insufficient_scope"')
    assert [(c.scheme, c.params) for c in cs] == [
        ("basic", {"realm": 'a "b"'}),
        ("bearer", {"realm": "x", "error": "insufficient_scope"})]


def test_config_path_honours_docker_config(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert config_path() == str(tmp_path / "config.json")
    assert config_path("/x") == "/x/config.json"


def test_store_load_remove_roundtrip(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    (cfg).mkdir()
    (cfg / "config.json").write_text(json.dumps({"credsStore": "", "psFormat": "x",
                                                 "auths": {"other:1": {"auth": "eDp5"}}}))
    store_credentials("127.0.0.1:5000", Credentials("u", "p:w"), str(cfg))
    data = json.loads((cfg / "config.json").read_text())
    assert data["psFormat"] == "x" and "other:1" in data["auths"]
    assert base64.b64decode(data["auths"]["127.0.0.1:5000"]["auth"]) == b"u:p:w"
    assert stat.S_IMODE((cfg / "config.json").stat().st_mode) == 0o600
    assert load_credentials("127.0.0.1:5000", str(cfg)) == Credentials("u", "p:w")
    assert load_credentials("other:1", str(cfg)) == Credentials("x", "y")
    assert load_credentials("nowhere", str(cfg)) is None
    assert remove_credentials("127.0.0.1:5000", str(cfg)) is True
    assert remove_credentials("127.0.0.1:5000", str(cfg)) is False
    assert load_credentials("127.0.0.1:5000", str(cfg)) is None
    assert [p.name for p in cfg.iterdir()] == ["config.json"]  # no temp files left


def test_docker_hub_key_aliases(tmp_path: Path) -> None:
    store_credentials("docker.io", Credentials("u", "p"), str(tmp_path))
    data = json.loads((tmp_path / "config.json").read_text())
    assert list(data["auths"]) == ["https://index.docker.io/v1/"]
    for host in ("registry-1.docker.io", "index.docker.io", "docker.io"):
        assert load_credentials(host, str(tmp_path)) == Credentials("u", "p")


def test_bad_config_is_invalid_argument(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(InvalidArgument, match="invalid JSON"):
        load_credentials("x", str(tmp_path))


def test_credentials_repr_hides_password() -> None:
    assert "secret" not in repr(Credentials("u", "secret"))


def test_basic_challenge() -> None:
    anon = Authenticator("h", None)
    with pytest.raises(PermissionDenied, match="authentication required for h/r"):
        anon.on_unauthorized('Basic realm="x"', [], "h/r")
    auth = Authenticator("h", Credentials("u", "p"))
    assert auth.headers([]) == {}
    auth.on_unauthorized('Basic realm="x"', [], "h/r")
    sent = auth.headers([])["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"u:p").decode()
    with pytest.raises(PermissionDenied, match="incorrect username or password for h"):
        auth.on_unauthorized('Basic realm="x"', [], "h/r", sent)


def test_merge_scopes() -> None:
    from dockyard.registry.auth import merge_scopes

    assert merge_scopes(["repository:b:pull", "repository:a:push,pull", "repository:a:pull",
                         "", "registry:catalog:*"]) == [
        "registry:catalog:*", "repository:a:pull,push", "repository:b:pull"]


FAKE_HELPER = """#!{python}
import json, os, sys
store = os.path.join(os.path.dirname(os.path.abspath(__file__)), "store.json")
data = json.load(open(store)) if os.path.exists(store) else {{}}
action, arg = sys.argv[1], sys.stdin.read().strip()
if action == "store":
    doc = json.loads(arg)
    data[doc["ServerURL"]] = [doc["Username"], doc["Secret"]]
elif action in ("get", "erase"):
    if arg not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    if action == "get":
        print(json.dumps({{"ServerURL": arg, "Username": data[arg][0], "Secret": data[arg][1]}}))
    else:
        del data[arg]
json.dump(data, open(store, "w"))
"""


def test_credential_helper_roundtrip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(FAKE_HELPER.format(python=sys.executable))
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credsStore": "fake"}))

    assert load_credentials("reg.example:5000", str(cfg)) is None
    store_credentials("reg.example:5000", Credentials("u", "secret"), str(cfg))
    data = json.loads((cfg / "config.json").read_text())
    assert data["auths"] == {"reg.example:5000": {}}  # the secret is not in config.json
    assert "secret" not in (cfg / "config.json").read_text()
    assert load_credentials("reg.example:5000", str(cfg)) == Credentials("u", "secret")
    assert remove_credentials("reg.example:5000", str(cfg)) is True
    assert load_credentials("reg.example:5000", str(cfg)) is None
    assert remove_credentials("reg.example:5000", str(cfg)) is False


def test_missing_credential_helper_is_one_line(tmp_path: Path) -> None:
    from dockyard.errors import Unavailable

    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {"h:1": "nonexistent"}}))
    with pytest.raises(Unavailable, match=r"docker-credential-nonexistent .* is not in PATH"):
        load_credentials("h:1", str(tmp_path))
    assert load_credentials("other:1", str(tmp_path)) is None


def test_credentials_never_go_to_a_plain_http_token_server() -> None:
    auth = Authenticator("registry.example.com", Credentials("u", "p"))
    with pytest.raises(PermissionDenied, match=r"plain-HTTP token server evil\.example"):
        auth.on_unauthorized('Bearer realm="http://evil.example/token",service="s"', [],
                             "registry.example.com/r")
