"""Docker's client config, ``$DOCKER_CONFIG/config.json`` (default ``~/.docker``):
credentials in ``auths`` (``{"<host>": {"auth": base64("user:pass")}}``) or kept by a
credential helper (``credsStore`` / ``credHelpers``: ``docker-credential-<name>`` with
``get`` / ``store`` / ``erase`` on stdin, docker-credential-helpers' protocol).

Re-exported by :mod:`dockyard.registry.auth`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import subprocess
import tempfile

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DOCKER_HUB_AUTH_KEY",
    "Credentials",
    "config_path",
    "load_credentials",
    "remove_credentials",
    "store_credentials",
]

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


@record(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


# --- config.json -----------------------------------------------------------------------

def config_path(config_dir: str | None = None) -> str:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    base = config_dir or os.environ.get("DOCKER_CONFIG") or os.path.join(
        os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def _normalize_host(key: str) -> str:
    """An ``auths`` key (``https://index.docker.io/v1/``, ``host:port``) -> host[:port]."""
    host = re.sub(r"^[a-z]+://", "", key.strip()).split("/", 1)[0].lower()
    return "docker.io" if host in _HUB_ALIASES else host


def _auth_key(host: str) -> str:
    return DOCKER_HUB_AUTH_KEY if _normalize_host(host) == "docker.io" else host


def _read_config(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"invalid JSON in {path}: {e}") from e
    if not isinstance(data, dict):
        raise InvalidArgument(f"invalid {path}: top level is not an object")
    return data


def _helper(data: dict[str, Any], host: str) -> str | None:
    """The credential helper for ``host``: ``credHelpers[host]``, else ``credsStore``."""
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if _normalize_host(key) == _normalize_host(host) and isinstance(name, str) \
                    and name:
                return name
    store = data.get("credsStore")
    return store if isinstance(store, str) and store else None


def _run_helper(name: str, action: str, stdin: str) -> str | None:
    """Run ``docker-credential-<name> <action>``; ``None`` if it has no such credentials."""
    exe = f"docker-credential-{name}"
    try:
        r = subprocess.run([exe, action], input=stdin, capture_output=True, text=True,
                           timeout=60, check=False)
    except FileNotFoundError as e:
        raise Unavailable(f"credential helper {exe} (from config.json) is not in PATH") from e
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"credential helper {exe} {action} failed: {e}") from e
    out = " ".join((r.stdout or r.stderr).split())
    if r.returncode != 0:
        if "credentials not found" in out.lower():
            return None
        raise Unavailable(f"credential helper {exe} {action} failed: {out[:200]}")
    return str(r.stdout)


def load_credentials(host: str, config_dir: str | None = None) -> Credentials | None:
    """The stored credentials for ``host``, or ``None`` (anonymous)."""
    path = config_path(config_dir)
    data = _read_config(path)
    helper = _helper(data, host)
    if helper:
        out = _run_helper(helper, "get", _auth_key(host))
        if out is None:
            return None
        try:
            doc = json.loads(out)
            user, secret = str(doc["Username"]), str(doc["Secret"])
        except (ValueError, KeyError, TypeError) as e:
            raise Unavailable(f"credential helper docker-credential-{helper} sent an "
                              f"invalid answer for {host}") from e
        # "<token>" marks an OAuth identity token, which this client does not speak.
        return None if user == "<token>" else Credentials(user, secret)
    auths = data.get("auths") or {}
    if not isinstance(auths, dict):
        raise InvalidArgument(f"invalid {path}: 'auths' is not an object")
    want = _normalize_host(host)
    for key, entry in auths.items():
        if _normalize_host(key) != want or not isinstance(entry, dict):
            continue
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                user, colon, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as e:
                raise InvalidArgument(f"invalid auth for {key} in {path}: {e}") from e
            if not colon:
                raise InvalidArgument(f"invalid auth for {key} in {path}: no ':' in it")
            return Credentials(user, password)
        if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            return Credentials(entry["username"], entry["password"])
    return None


def _write_config(path: str, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename in the same directory), mode 0600."""
    path = os.path.realpath(path)  # keep a symlinked config.json a symlink
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent="\t")
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def store_credentials(host: str, creds: Credentials, config_dir: str | None = None) -> str:
    """Record ``creds`` for ``host``, keeping everything else in the file; returns its path."""
    path = config_path(config_dir)
    data = _read_config(path)
    auths = data.get("auths")
    if not isinstance(auths, dict):
        auths = data["auths"] = {}
    want = _normalize_host(host)
    for key in [k for k in auths if _normalize_host(k) == want]:
        del auths[key]
    helper = _helper(data, host)
    if helper:  # the secret goes to the helper; config.json only names the server
        _run_helper(helper, "store", json.dumps({"ServerURL": _auth_key(host),
                                                 "Username": creds.username,
                                                 "Secret": creds.password}))
        auths[_auth_key(host)] = {}
    else:
        raw = f"{creds.username}:{creds.password}".encode()
        auths[_auth_key(host)] = {"auth": base64.b64encode(raw).decode("ascii")}
    _write_config(path, data)
    return path


def remove_credentials(host: str, config_dir: str | None = None) -> bool:
    """Forget ``host``'s credentials; ``False`` if there were none (not an error)."""
    path = config_path(config_dir)
    data = _read_config(path)
    auths = data.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    want = _normalize_host(host)
    keys = [k for k in auths if _normalize_host(k) == want]
    for key in keys:
        del auths[key]
    if keys:
        _write_config(path, data)
    helper = _helper(data, host)
    erased = helper is not None and _run_helper(helper, "erase", _auth_key(host)) is not None
    return bool(keys) or erased


