"""Registry authentication: anonymous, Basic and Bearer tokens; credentials in config.json.

Bearer flow (distribution ``docs/spec/auth/token.md``): a 401 carries
``WWW-Authenticate: Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"``;
the client GETs ``realm?service=..&scope=..`` (with Basic credentials if it has any) and
retries with ``Authorization: Bearer <token>``. Tokens are cached per scope until they expire.

Credentials live where Docker keeps them, ``$DOCKER_CONFIG/config.json`` (default
``~/.docker``): ``{"auths": {"<host>": {"auth": base64("user:pass")}}}``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse

from dockyard.errors import PermissionDenied, Unavailable
from dockyard.record import record
from dockyard.registry._config import (
    DOCKER_HUB_AUTH_KEY,
    Credentials,
    config_path,
    load_credentials,
    remove_credentials,
    store_credentials,
)
from dockyard.registry._http import Verify, open_url
from dockyard.registry._ref import is_loopback

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DOCKER_HUB_AUTH_KEY",
    "Authenticator",
    "Challenge",
    "Credentials",
    "config_path",
    "load_credentials",
    "merge_scopes",
    "parse_challenges",
    "remove_credentials",
    "store_credentials",
]


# --- WWW-Authenticate ------------------------------------------------------------------

@record(frozen=True)
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
        realm_parts = urllib.parse.urlsplit(realm)
        realm_host = realm_parts.netloc
        if self.credentials:
            if realm_parts.scheme != "https" and not is_loopback(realm_host) \
                    and self._verify_tls is not False:
                raise PermissionDenied(f"refusing to send the credentials for {self.host} to "
                                       f"the plain-HTTP token server {realm_host}")
            headers["Authorization"] = self.credentials.basic_header()
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
