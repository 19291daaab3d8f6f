"""A small HTTP(S) transport over ``http.client``: one connection per request, redirects
followed for GET/HEAD (``Authorization`` dropped when the host changes, as Docker does),
connection failures turned into :class:`~dockyard.errors.Unavailable`.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import threading
import urllib.parse

from dockyard.errors import InvalidArgument, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import IO, TypeAlias

__all__ = ["Pool", "Response", "Verify", "open_url"]

_MAX_REDIRECTS = 5
_BLOCK = 1 << 16
_DRAIN_LIMIT = 1 << 16
_USER_AGENT = "dockyard/0.1 (registry client)"

Body: TypeAlias = "bytes | IO[bytes] | None"
#: ``True``: verify with the system CAs; a path: verify with that CA bundle only; ``False``:
#: no verification (Docker's insecure registries).
Verify = bool | str


class Pool:
    """Idle keep-alive connections, per (scheme, host, TLS verification); thread-safe.
    A connection is used by one request at a time and comes back only once its response
    was read to the end."""

    def __init__(self, max_idle: int = 8) -> None:
        self._idle: dict[tuple[str, str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._max_idle = max_idle

    def get(self, key: tuple[str, str, str]) -> http.client.HTTPConnection | None:
        with self._lock:
            conns = self._idle.get(key)
            return conns.pop() if conns else None

    def put(self, key: tuple[str, str, str], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(key, [])
            if len(conns) < self._max_idle:
                conns.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


class Response:
    """An open response; read the body with :meth:`read` or :meth:`read_chunk`, then
    ``close`` (which hands a fully read keep-alive connection back to its pool)."""

    def __init__(self, url: str, conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse, pool: Pool | None = None,
                 key: tuple[str, str, str] = ("", "", "")) -> None:
        self.url = url
        self.status = resp.status
        self.headers = resp.headers
        self._conn: http.client.HTTPConnection | None = conn
        self._resp = resp
        self._pool = pool
        self._key = key

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def read(self, limit: int = 16 << 20) -> bytes:
        """The whole body (at most ``limit`` bytes: manifests and errors are small)."""
        try:
            data = self._resp.read(limit + 1)
            truncated = self.truncated
        except (OSError, http.client.HTTPException) as e:
            raise Unavailable(f"reading {self.url} failed: {e!r}") from e
        finally:
            self.close()
        if len(data) > limit:
            raise InvalidArgument(f"response from {self.url} larger than {limit} bytes")
        if truncated:
            raise Unavailable(f"reading {self.url} failed: connection closed mid-body")
        return data

    def read_chunk(self, size: int = 1 << 16) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end of the body (see :attr:`truncated`)."""
        return self._resp.read(size)

    @property
    def truncated(self) -> bool:
        """Did the body end (connection closed) before its ``Content-Length``?
        ``http.client`` reports that as a quiet end of body to ``read(amt)``."""
        remaining = self._resp.length
        return remaining is not None and remaining > 0

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        resp = self._resp
        if self._pool is not None and not resp.isclosed() and resp.length is not None \
                and resp.length <= _DRAIN_LIMIT and not self.truncated:
            try:  # a small unread body (an error, a HEAD): read it to keep the connection
                resp.read()
            except (OSError, http.client.HTTPException):
                pass
        if self._pool is not None and resp.isclosed() and not resp.will_close \
                and not self.truncated:
            self._pool.put(self._key, conn)
        else:
            resp.close()
            conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.lru_cache(maxsize=16)
def _tls_context(verify_tls: Verify) -> ssl.SSLContext:
    """One client context per verification setting: loading the system CAs costs ~15 ms,
    and a context is safe to share between threads."""
    if verify_tls is False:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        return ssl.create_default_context(
            cafile=verify_tls if isinstance(verify_tls, str) else None)
    except (OSError, ssl.SSLError) as e:
        raise InvalidArgument(f"cannot load CA certificates from {verify_tls}: {e}") from e


def _connect(url: urllib.parse.SplitResult, verify_tls: Verify,
             timeout: float) -> http.client.HTTPConnection:
    host = url.hostname or ""
    if url.scheme == "https":
        ctx = _tls_context(verify_tls)
        return http.client.HTTPSConnection(host, url.port, timeout=timeout, context=ctx,
                                           blocksize=_BLOCK)
    if url.scheme == "http":
        return http.client.HTTPConnection(host, url.port, timeout=timeout, blocksize=_BLOCK)
    raise InvalidArgument(f"unsupported URL scheme in {urllib.parse.urlunsplit(url)!r}")


def _send(conn: http.client.HTTPConnection, method: str, target: str, body: Body,
          headers: dict[str, str]) -> http.client.HTTPResponse:
    if body is not None and not isinstance(body, bytes):
        body.seek(0)
    conn.request(method, target, body=body, headers=headers)
    return conn.getresponse()


def open_url(method: str, url: str, *, headers: Mapping[str, str] | None = None,
             body: Body = None, verify_tls: Verify = True, timeout: float = 60.0,
             what: str | None = None, pool: Pool | None = None) -> Response:
    """Send one request and return the response with its body unread.

    ``what`` names the peer in errors ("registry 127.0.0.1:5000"); it defaults to the host.
    Redirects are followed only for bodiless methods. With a ``pool``, an idle keep-alive
    connection is reused (and replaced by a new one if the peer had closed it).
    """
    hdrs = {"User-Agent": _USER_AGENT, **(headers or {})}
    for _ in range(_MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        peer = what or f"registry {parts.netloc}"
        key = (parts.scheme, parts.netloc, str(verify_tls))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        idle = pool.get(key) if pool else None
        if idle is not None:
            try:
                resp = _send(idle, method, target, body, hdrs)
                conn = idle
            except (OSError, http.client.HTTPException):
                idle.close()  # the peer closed it while idle: a new connection below
                idle = None
        if idle is None:
            try:
                conn = _connect(parts, verify_tls, timeout)
            except (ValueError, http.client.InvalidURL) as e:
                raise InvalidArgument(f"invalid URL {url!r}: {e}") from e
        try:
            if idle is None:
                resp = _send(conn, method, target, body, hdrs)
        except ssl.SSLCertVerificationError as e:
            conn.close()
            raise Unavailable(f"{peer}: TLS certificate verification failed: "
                              f"{e.verify_message}") from e
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or repr(e)
            raise Unavailable(f"{peer} is not reachable: {reason}") from e
        location = resp.headers.get("Location")
        if resp.status in (301, 302, 303, 307, 308) and location and body is None \
                and method in ("GET", "HEAD"):
            Response(url, conn, resp, pool, key).close()
            new = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(new).netloc != parts.netloc:
                hdrs = {k: v for k, v in hdrs.items() if k.lower() != "authorization"}
            url = new
            continue
        return Response(url, conn, resp, pool, key)
    raise Unavailable(f"{what or 'registry'}: too many redirects fetching {url}")


def is_tls_mismatch(err: BaseException) -> bool:
    """Did an HTTPS attempt fail because the peer speaks plain HTTP (or no TLS at all)?"""
    cause = err.__cause__
    return isinstance(cause, ssl.SSLError | ConnectionResetError | socket.timeout) and \
        not isinstance(cause, ssl.SSLCertVerificationError)
