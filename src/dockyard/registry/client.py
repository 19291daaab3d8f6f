"""A client for one registry's OCI distribution API (distribution-spec ``spec.md``, v2).

Every piece of content is checked against its digest before anyone sees it: manifests
fetched by digest, the ``Docker-Content-Digest`` a registry claims, every blob. A registry
that lies about a digest gets :class:`DigestMismatch`, never wrong content.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import IO, NamedTuple, cast

from dockyard.errors import (
    DockyardError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from dockyard.registry._digest import DigestMismatch, digest_of, hash_file, hasher
from dockyard.registry._http import Pool, Response, Verify, is_tls_mismatch, open_url
from dockyard.registry._ref import Reference, is_loopback, validate_digest, validate_host
from dockyard.registry.auth import Authenticator, Credentials, load_credentials
from dockyard.registry.protocol import (
    MANIFEST_MEDIA_TYPES,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    Descriptor,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = ["DigestMismatch", "FetchedManifest", "OnBytes", "RegistryClient"]

#: ``on_bytes(done)``: how many bytes of a blob have moved so far (it may go back to 0 when a
#: download restarts). Called from the thread moving the blob, once per block: keep it cheap.
OnBytes = Callable[[int], None]

_MANIFEST_LIMIT = 4 << 20
_CHUNK = 1 << 20
_UNSET = Credentials("", "")


class FetchedManifest(NamedTuple):
    data: bytes
    media_type: str
    digest: str


#: Statuses after which an idempotent request is tried again (distribution-spec: 429
#: TOOMANYREQUESTS; proxies and load balancers in front of registries: 502-504).
_BUSY = (429, 502, 503, 504)


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    """Seconds to wait: the server's ``Retry-After`` (seconds form), else a backoff;
    at most 10."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), 10.0)
    return min(0.25 * 2.0 ** attempt, 10.0)


class _Download:
    """A blob file being written: where it is, and the hash of what it holds so far."""

    def __init__(self, f: IO[bytes], digest: str, resume: bool) -> None:
        self._f = f
        self._h = hasher(digest)
        self.offset = hash_file(f.name, self._h) if resume else 0

    def write(self, block: bytes) -> None:
        self._f.write(block)
        self._h.update(block)
        self.offset += len(block)

    def restart(self) -> None:
        self._f.truncate(0)
        self._h = hasher(f"{self._h.name}:")
        self.offset = 0

    def digest(self) -> str:
        return f"{self._h.name}:{self._h.hexdigest()}"


class _Counted:
    """A blob file as a request body that reports each block ``http.client`` reads."""

    def __init__(self, f: IO[bytes], on_bytes: OnBytes) -> None:
        self._f = f
        self._on_bytes = on_bytes
        self.mode = "rb"  # http.client sends it as bytes
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        block = self._f.read(size)
        self.done += len(block)
        self._on_bytes(self.done)
        return block

    def seek(self, pos: int) -> int:  # a retried request starts the body again
        self.done = pos
        return self._f.seek(pos)


def _sniff_media_type(data: bytes) -> str | None:
    """A manifest served without a useful Content-Type: its ``mediaType`` field, else its
    shape (image-spec: an index has ``manifests``, an image manifest ``config``)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("mediaType"), str):
        return str(doc["mediaType"])
    if doc.get("schemaVersion") == 2 and "manifests" in doc:
        return MEDIA_OCI_INDEX
    if doc.get("schemaVersion") == 2 and "config" in doc:
        return MEDIA_OCI_MANIFEST
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


class RegistryClient:
    """The ``/v2/`` API of one registry ``host`` (``host[:port]``).

    HTTPS with the system CAs, or only those in ``ca_file`` if given (Docker's
    ``certs.d/<host>/ca.crt``). Without ``ca_file``, for a loopback host or with
    ``insecure=True`` (Docker's ``insecure-registries``) HTTPS is tried without
    verification, then plain HTTP.
    ``credentials`` default to those stored for ``host`` in ``config.json``; pass ``None``
    for anonymous access. Safe to share between threads.
    """

    def __init__(self, host: str, *, insecure: bool = False,
                 credentials: Credentials | None = _UNSET, config_dir: str | None = None,
                 ca_file: str | None = None, timeout: float = 60.0,
                 retries: int = 3) -> None:
        self.host = validate_host(host)
        self.retries = retries
        self._plain_ok = ca_file is None and (insecure or is_loopback(host))
        self._verify: Verify = ca_file or not self._plain_ok
        self._timeout = timeout
        self._base: str | None = None
        self._lock = threading.Lock()
        self._pool = Pool()
        if credentials is _UNSET:
            credentials = load_credentials(host, config_dir)
        self.auth = Authenticator(host, credentials, verify_tls=self._verify, timeout=timeout)

    def close(self) -> None:
        """Close idle keep-alive connections (the client stays usable)."""
        self._pool.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def for_reference(cls, ref: Reference, **kwargs: Any) -> RegistryClient:
        """A client for the registry serving ``ref`` (``docker.io`` -> its API host)."""
        return cls(ref.api_host, **kwargs)

    # --- plumbing ------------------------------------------------------------------------

    def _base_url(self) -> str:
        with self._lock:
            if self._base is None:
                self._base = f"https://{self.host}"
                if self._plain_ok:
                    try:
                        open_url("GET", f"https://{self.host}/v2/", verify_tls=False,
                                 timeout=self._timeout).close()
                    except Unavailable as e:
                        if not is_tls_mismatch(e):
                            raise
                        self._base = f"http://{self.host}"
            return self._base

    def _url(self, path: str) -> str:
        return self._base_url() + path

    def _what(self, repo: str, ref: str | None = None) -> str:
        if ref is None:
            return f"{self.host}/{repo}"
        return f"{self.host}/{repo}{'@' if ':' in ref else ':'}{ref}"

    @staticmethod
    def _scopes(repo: str | None, push: bool = False) -> list[str]:
        return [f"repository:{repo}:{'pull,push' if push else 'pull'}"] if repo else []

    def _request(self, method: str, url: str, *, scopes: Sequence[str], what: str,
                 headers: dict[str, str] | None = None, body: bytes | IO[bytes] | None = None,
                 ok: Sequence[int] = (200,)) -> Response:
        """One API call: retried once after a 401 with what the challenge asks for.
        Errors name ``what``; auth errors name the repository (``host/repo``)."""
        realm = f"{self.host}/{scopes[0].split(':')[1]}" if scopes else self.host
        authenticated = False
        busy = 0
        while True:
            hdrs = {**(headers or {}), **self.auth.headers(scopes)}
            resp = open_url(method, url, headers=hdrs, body=body, verify_tls=self._verify,
                            timeout=self._timeout, pool=self._pool)
            if resp.status == 401 and not authenticated:
                authenticated = True
                challenge = resp.header("WWW-Authenticate")
                resp.close()
                self.auth.on_unauthorized(challenge, scopes, realm, hdrs.get("Authorization"))
                continue
            if resp.status in _BUSY and method in ("GET", "HEAD") and busy < self.retries:
                busy += 1
                resp.close()
                time.sleep(_retry_delay(resp.header("Retry-After"), busy))
                continue
            if resp.status in ok:
                return resp
            self._raise_for(resp, realm if resp.status in (401, 403) else what)

    def _raise_for(self, resp: Response, what: str) -> NoReturn:
        code, message = "", ""
        try:
            doc = json.loads(resp.read(1 << 16) or b"{}")
            first = (doc.get("errors") or [{}])[0]
            code, message = str(first.get("code", "")), _one_line(str(first.get("message", "")))
        except (ValueError, AttributeError, IndexError, TypeError, DockyardError, OSError,
                http.client.HTTPException):
            resp.close()
        status = resp.status
        if status == 401:
            if self.auth.credentials is not None and self.auth.scheme == "basic":
                raise PermissionDenied(
                    f"unauthorized: incorrect username or password for {self.host}")
            if self.auth.credentials is not None and self.auth.scheme == "bearer":
                # A token was issued for these credentials, without the access asked for.
                raise PermissionDenied(
                    f"denied: requested access to the resource is denied: {what}")
            raise PermissionDenied(
                f"unauthorized: {message or 'authentication required'} for {what}")
        if status == 403:
            raise PermissionDenied(
                f"denied: {message or 'requested access to the resource is denied'}: {what}")
        if status == 404:
            kind = urllib.parse.urlsplit(resp.url).path.rsplit("/", 2)[-2]
            default = {"manifests": "manifest unknown", "blobs": "blob unknown"}.get(kind)
            raise NotFound(f"{message or default or 'not found'}: {what}")
        if status == 429:
            raise Unavailable(f"toomanyrequests: {message or 'rate limit exceeded'}: {what}")
        if 400 <= status < 500:
            raise InvalidArgument(f"{message or code or f'HTTP {status}'}: {what}")
        raise Unavailable(f"registry {self.host} answered HTTP {status} for {what}"
                          + (f": {message}" if message else ""))

    # --- API -----------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``, authenticating if the registry asks: what ``login`` verifies."""
        try:
            self._request("GET", self._url("/v2/"), scopes=[], what=self.host).close()
        except NotFound as e:
            raise Unavailable(f"{self.host} is not a registry: GET /v2/ answered 404") from e

    def head_manifest(self, repo: str, reference: str,
                      accept: Sequence[str] = MANIFEST_MEDIA_TYPES) -> Descriptor:
        """The descriptor of a manifest without its body (falls back to GET if needed)."""
        what = self._what(repo, reference)
        resp = self._request("HEAD", self._url(f"/v2/{repo}/manifests/{reference}"),
                             scopes=self._scopes(repo), what=what,
                             headers={"Accept": ", ".join(accept)})
        resp.close()
        digest = resp.header("Docker-Content-Digest")
        media_type = (resp.header("Content-Type") or "").split(";")[0].strip()
        length = resp.header("Content-Length")
        if digest and media_type and length and length.isdigit():
            if ":" in reference and digest != reference:
                raise DigestMismatch(f"registry answered {digest} for {what}")
            return Descriptor(media_type, validate_digest(digest), int(length))
        m = self.get_manifest(repo, reference, accept)
        return Descriptor(m.media_type, m.digest, len(m.data))

    def get_manifest(self, repo: str, reference: str,
                     accept: Sequence[str] = MANIFEST_MEDIA_TYPES) -> FetchedManifest:
        """Fetch a manifest or index by tag or digest, verified against its digest."""
        what = self._what(repo, reference)
        resp = self._request("GET", self._url(f"/v2/{repo}/manifests/{reference}"),
                             scopes=self._scopes(repo), what=what,
                             headers={"Accept": ", ".join(accept)})
        claimed = resp.header("Docker-Content-Digest")
        media_type = (resp.header("Content-Type") or "").split(";")[0].strip()
        data = resp.read(_MANIFEST_LIMIT)
        pinned = reference if ":" in reference else None
        for expected in filter(None, (pinned, claimed)):
            actual = digest_of(data, expected)
            if actual != expected:
                raise DigestMismatch(f"manifest digest mismatch for {what}: "
                                     f"expected {expected}, got {actual}")
        if media_type in ("", "application/json", "text/plain",
                          "application/octet-stream"):
            media_type = _sniff_media_type(data) or media_type
        return FetchedManifest(data, media_type, pinned or claimed or digest_of(data))

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        """``PUT`` a manifest under a tag (or its digest); returns its digest."""
        digest = digest_of(data)
        what = self._what(repo, reference)
        resp = self._request("PUT", self._url(f"/v2/{repo}/manifests/{reference}"),
                             scopes=self._scopes(repo, push=True), what=what, body=data,
                             headers={"Content-Type": media_type}, ok=(201,))
        resp.close()
        claimed = resp.header("Docker-Content-Digest")
        if claimed and claimed != digest:
            raise DigestMismatch(f"registry stored {what} as {claimed}, expected {digest}")
        return digest

    def list_tags(self, repo: str, page_size: int | None = None) -> list[str]:
        """All tags of ``repo``, asked ``page_size`` at a time (``?n=``), following
        ``Link: <...>; rel="next"`` pages (distribution-spec "Listing Tags")."""
        tags: list[str] = []
        query = f"?n={page_size}" if page_size else ""
        url: str | None = self._url(f"/v2/{repo}/tags/list{query}")
        while url:
            resp = self._request("GET", url, scopes=self._scopes(repo),
                                 what=self._what(repo))
            link = resp.header("Link")
            try:
                tags += json.loads(resp.read()).get("tags") or []
            except (ValueError, AttributeError) as e:
                raise Unavailable(f"registry {self.host} sent an invalid tag list") from e
            m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link or "")
            url = urllib.parse.urljoin(url, m.group(1)) if m else None
        return tags

    def blob_exists(self, repo: str, digest: str) -> bool:
        """``HEAD`` the blob: ``True`` if the registry has it in ``repo``."""
        resp = self._request("HEAD", self._url(f"/v2/{repo}/blobs/{digest}"),
                             scopes=self._scopes(repo), what=self._what(repo, digest),
                             ok=(200, 404))
        resp.close()
        return resp.status == 200

    def fetch_blob(self, repo: str, digest: str, dest: str, size: int | None = None,
                   on_bytes: OnBytes | None = None) -> None:
        """Download a blob into ``dest``, verifying size and digest; ``on_bytes`` is told
        how many bytes ``dest`` holds after each block.

        Bytes already in ``dest`` (an interrupted earlier download) are kept and the rest is
        asked for with ``Range:``; a connection cut mid-body is resumed the same way up to
        ``retries`` times, then ``Unavailable`` is raised with the partial file kept. On a
        digest or size mismatch ``dest`` is deleted and :class:`DigestMismatch` raised.
        """
        what = self._what(repo, digest)
        url = self._url(f"/v2/{repo}/blobs/{digest}")
        resumed = os.path.isfile(dest) and os.path.getsize(dest) > 0
        with open(dest, "ab") as f:
            dl = _Download(f, digest, resumed)
            if size is not None and dl.offset > size:
                dl.restart()
            failures = 0
            while size is None or dl.offset < size:
                try:
                    self._fetch_range(repo, url, what, dl, size, on_bytes)
                    if size is not None and dl.offset < size:
                        raise Unavailable(f"download of {what} ended early at byte "
                                          f"{dl.offset} of {size}")
                    break
                except Unavailable:
                    failures += 1
                    if failures > self.retries:
                        raise  # the partial file stays for a later resume
                    time.sleep(0.1 * failures)
        actual = dl.digest()
        if actual != digest or (size is not None and dl.offset != size):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            if resumed:  # the partial file left by someone else may be what was wrong
                self.fetch_blob(repo, digest, dest, size, on_bytes)
                return
            raise DigestMismatch(f"blob digest mismatch for {what}: got {actual}"
                                 f" ({dl.offset} bytes, expected {size})")

    def _fetch_range(self, repo: str, url: str, what: str, dl: _Download,
                     size: int | None, on_bytes: OnBytes | None = None) -> None:
        """One ``GET`` of the blob from ``dl.offset`` into ``dl`` (restarted if the registry
        ignores ``Range``). A body cut short raises ``Unavailable``; what arrived is kept."""
        headers = {"Range": f"bytes={dl.offset}-"} if dl.offset else {}
        with self._request("GET", url, scopes=self._scopes(repo), what=what,
                           headers=headers, ok=(200, 206, 416)) as resp:
            if resp.status == 416:  # nothing past offset: let the size/digest check judge
                return
            if dl.offset and (resp.status != 206 or not (resp.header("Content-Range") or "")
                              .startswith(f"bytes {dl.offset}-")):
                dl.restart()
            while True:
                try:
                    block = resp.read_chunk()
                    if not block and resp.truncated:
                        raise http.client.IncompleteRead(b"")
                except (OSError, http.client.HTTPException) as e:
                    raise Unavailable(f"download of {what} interrupted at byte {dl.offset}: "
                                      f"{type(e).__name__}") from e
                if not block:
                    return
                dl.write(block)
                if on_bytes is not None:
                    on_bytes(dl.offset)
                if size is not None and dl.offset > size:
                    return  # too long: the size check rejects it

    def push_blob(self, repo: str, digest: str, path: str, size: int | None = None, *,
                  mount_from: str | None = None, chunk_size: int | None = None,
                  on_bytes: OnBytes | None = None) -> bool:
        """Upload a blob: ``POST`` an upload, then one ``PUT`` (monolithic) or ``PATCH``
        chunks of ``chunk_size`` bytes and a closing ``PUT ?digest=``; ``on_bytes`` is told
        how many bytes have been sent after each block. With ``mount_from``
        the registry is first asked to mount the blob from that repository: ``True`` if it
        did (``201``), ``False`` if the blob was uploaded.

        distribution-spec, "Pushing blobs": *POST /v2/<name>/blobs/uploads/ ... 202 Accepted
        with a Location*; *PATCH <location> with Content-Range: <start>-<end> (inclusive) ...
        each PATCH answers 202 with the next Location*; *PUT <location>?digest=<digest> ...
        201 Created*. "Mounting a blob": *POST .../uploads/?mount=<digest>&from=<other>:
        201 Created if mounted, else 202 Accepted and an upload session to use instead*.
        """
        what = self._what(repo, digest)
        size = os.path.getsize(path) if size is None else size
        scopes = self._scopes(repo, push=True)
        query = ""
        if mount_from:
            scopes += self._scopes(mount_from)
            query = "?" + urllib.parse.urlencode({"mount": digest, "from": mount_from})
        resp = self._request("POST", self._url(f"/v2/{repo}/blobs/uploads/{query}"),
                             scopes=scopes, what=what, ok=(201, 202))
        resp.close()
        if resp.status == 201:
            return True
        location = self._location(resp, what)
        with open(path, "rb") as f:
            if chunk_size and size > chunk_size:
                offset = 0
                while chunk := f.read(chunk_size):
                    resp = self._request(
                        "PATCH", location, scopes=scopes, what=what, body=chunk, ok=(202,),
                        headers={"Content-Type": "application/octet-stream",
                                 "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                                 "Content-Length": str(len(chunk))})
                    resp.close()
                    location = self._location(resp, what)
                    offset += len(chunk)
                    if on_bytes is not None:
                        on_bytes(offset)
                body: bytes | IO[bytes] = b""
                length = 0
            else:
                body = f if on_bytes is None else cast(IO[bytes], _Counted(f, on_bytes))
                length = size
            sep = "&" if "?" in location else "?"
            resp = self._request(
                "PUT", location + sep + urllib.parse.urlencode({"digest": digest}),
                scopes=scopes, what=what, body=body, ok=(201,),
                headers={"Content-Type": "application/octet-stream",
                         "Content-Length": str(length)})
            resp.close()
        return False

    def _location(self, resp: Response, what: str) -> str:
        location = resp.header("Location")
        if not location:
            raise Unavailable(f"registry {self.host} gave no upload location for {what}")
        return urllib.parse.urljoin(resp.url, location)
