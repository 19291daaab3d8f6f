"""Registry authentication: anonymous, Basic and Bearer tokens; credentials in config.json.

Bearer flow (distribution ``docs/spec/auth/token.md``): a 401 carries
``WWW-Authenticate: Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"``;
the client GETs ``realm?service=..&scope=..`` (with Basic credentials if it has any) and
retries with ``Authorization: Bearer <token>``. Tokens are cached per scope until they expire.

Credentials live where Docker keeps them, ``$DOCKER_CONFIG/config.json`` (default
``~/.docker``): ``{"auths": {"<host>": {"auth": base64("user:pass")}}}``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument, PermissionDenied, Unavailable
from dockyard.registry._http import Verify, open_url

__all__ = [
    "Authenticator",
    "Challenge",
    "Credentials",
    "config_path",
    "load_credentials",
    "parse_challenges",
    "remove_credentials",
    "store_credentials",
]

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
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


def load_credentials(host: str, config_dir: str | None = None) -> Credentials | None:
    """The stored credentials for ``host``, or ``None`` (anonymous)."""
    path = config_path(config_dir)
    auths = _read_config(path).get("auths") or {}
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
        return False
    want = _normalize_host(host)
    keys = [k for k in auths if _normalize_host(k) == want]
    for key in keys:
        del auths[key]
    if keys:
        _write_config(path, data)
    return bool(keys)


# --- WWW-Authenticate ------------------------------------------------------------------

@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic", "bearer"
    params: dict[str, str]


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))\s*,?')
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` (RFC 7235): schemes with their auth-params."""
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        if header[pos] in ", ":
            pos += 1
            continue
        m = _SCHEME.match(header, pos)
        if not m:
            break
        scheme, pos = m.group(1).lower(), m.end()
        params: dict[str, str] = {}
        while True:
            p = _PARAM.match(header, pos)
            if not p:
                break
            value = p.group(2) if p.group(2) is not None else p.group(3)
            params[p.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            pos = p.end()
        out.append(Challenge(scheme, params))
    return out


def merge_scopes(scopes: Iterable[str]) -> list[str]:
    """``repository:a:pull`` + ``repository:a:push,pull`` -> ``repository:a:pull,push``:
    one scope per resource with the union of its actions, in a stable order."""
    actions: dict[str, set[str]] = {}
    for scope in scopes:
        if not scope:
            continue
        resource, _, acts = scope.rpartition(":")
        if not resource:
            resource, acts = scope, ""
        actions.setdefault(resource, set()).update(a for a in acts.split(",") if a)
    return [f"{r}:{','.join(sorted(a))}" if a else r for r, a in sorted(actions.items())]


# --- the authenticator -----------------------------------------------------------------

class Authenticator:
    """Holds one registry's auth state; thread-safe (layers are fetched concurrently).

    ``headers(scopes)`` gives what to send; after a 401, ``on_unauthorized`` learns the
    scheme from the challenge (fetching a token for Bearer) or raises ``PermissionDenied``.
    """

    def __init__(self, host: str, credentials: Credentials | None = None, *,
                 verify_tls: Verify = True, timeout: float = 60.0) -> None:
        self.host = host
        self.credentials = credentials
        self._verify_tls = verify_tls
        self._timeout = timeout
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._scheme: str | None = None
        self._tokens: dict[str, tuple[str, float]] = {}

    @property
    def scheme(self) -> str | None:
        """``"basic"``, ``"bearer"`` or ``None`` (no challenge seen yet: anonymous)."""
        return self._scheme

    @staticmethod
    def _key(scopes: Iterable[str]) -> str:
        return " ".join(sorted(set(scopes)))

    def headers(self, scopes: Iterable[str]) -> dict[str, str]:
        with self._lock:
            if self._scheme == "basic" and self.credentials:
                return {"Authorization": self.credentials.basic_header()}
            if self._scheme == "bearer":
                cached = self._tokens.get(self._key(scopes))
                if cached and cached[1] > time.monotonic():
                    return {"Authorization": f"Bearer {cached[0]}"}
        return {}

    def on_unauthorized(self, header: str | None, scopes: Iterable[str], what: str,
                        sent: str | None = None) -> None:
        """React to a 401 for ``what`` (``host/repo``) to a request that carried the
        ``Authorization`` header ``sent``: ready the retry, or raise ``PermissionDenied``.
        Concurrent callers share one token fetch per scope."""
        scopes = list(scopes)
        key = self._key(scopes)
        challenges = {c.scheme: c for c in parse_challenges(header or "")}
        if "bearer" in challenges and "realm" in challenges["bearer"].params:
            params = challenges["bearer"].params
            wanted = merge_scopes([*scopes, *params.get("scope", "").split(" ")])
            with self._fetch_lock:
                with self._lock:
                    cached = self._tokens.get(key)
                    if self._scheme == "bearer" and cached and cached[1] > time.monotonic() \
                            and sent != f"Bearer {cached[0]}":
                        return  # another thread fetched a fresh token meanwhile
                token, expires_in = self._fetch_token(params, wanted, what)
                with self._lock:
                    self._scheme = "bearer"
                    self._tokens[key] = (token, time.monotonic() + max(expires_in - 10, 1))
            return
        if "basic" in challenges:
            if self.credentials is None:
                raise PermissionDenied(f"unauthorized: authentication required for {what}")
            if sent == self.credentials.basic_header():
                raise PermissionDenied(
                    f"unauthorized: incorrect username or password for {self.host}")
            with self._lock:
                self._scheme = "basic"
            return
        if self.credentials is None:
            raise PermissionDenied(f"unauthorized: authentication required for {what}")
        raise PermissionDenied(f"unauthorized: {self.host} refused the credentials for {what}")

    def _fetch_token(self, params: dict[str, str], scopes: list[str],
                     what: str) -> tuple[str, int]:
        realm = params["realm"]
        query: list[tuple[str, str]] = []
        if params.get("service"):
            query.append(("service", params["service"]))
        query += [("scope", s) for s in scopes if s]
        if self.credentials:
            query.append(("account", self.credentials.username))
        sep = "&" if "?" in realm else "?"
        url = realm + (sep + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json"}
        if self.credentials:
            headers["Authorization"] = self.credentials.basic_header()
        realm_host = urllib.parse.urlsplit(realm).netloc
        resp = open_url("GET", url, headers=headers, verify_tls=self._verify_tls,
                        timeout=self._timeout, what=f"token server {realm_host}")
        body = resp.read(1 << 20)
        if resp.status in (401, 403):
            if self.credentials:
                raise PermissionDenied(
                    f"unauthorized: incorrect username or password for {self.host}")
            raise PermissionDenied(f"unauthorized: authentication required for {what}")
        if resp.status != 200:
            raise Unavailable(f"token server {realm_host} answered HTTP {resp.status} "
                              f"for {what}")
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
            expires_in = int(doc.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as e:
            raise Unavailable(f"token server {realm_host} sent an invalid answer: {e}") from e
        if not isinstance(token, str) or not token:
            raise Unavailable(f"token server {realm_host} sent no token for {what}")
        return token, expires_in
