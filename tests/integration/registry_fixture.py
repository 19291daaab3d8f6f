"""Test peers for the registry client, all on 127.0.0.1: Debian's ``docker-registry``
(distribution v2) plain, with htpasswd Basic auth or with Bearer tokens from a tiny token
server; a proxy that corrupts or cuts blob bodies; a busybox image in an OCI layout.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.registry.ocidir import OciLayout
from dockyard.registry.protocol import (
    MEDIA_OCI_CONFIG,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_LAYER,
    MEDIA_OCI_MANIFEST,
    Descriptor,
    host_platform,
)

REGISTRY_BIN = "/usr/bin/docker-registry"
SERVICE = "dockyard-test-registry"
ISSUER = "dockyard-test-issuer"

#: Every registry process started, so the session can check none outlived its test.
STARTED: list[Registry] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- docker-registry -----------------------------------------------------------------------

@dataclass
class Registry:
    host: str
    proc: subprocess.Popen[bytes]
    log: Path
    tls: bool = False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _wait_ready(reg: Registry, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reg.proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {reg.log.read_text()[-2000:]}")
        conn = (http.client.HTTPSConnection(reg.host, timeout=1,
                                            context=ssl._create_unverified_context())
                if reg.tls else http.client.HTTPConnection(reg.host, timeout=1))
        try:
            conn.request("GET", "/v2/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    raise RuntimeError(f"docker-registry not ready on {reg.host}: {reg.log.read_text()[-2000:]}")


@contextlib.contextmanager
def run_registry(tmp: Path, auth: dict[str, Any] | None = None,
                 tls: dict[str, Any] | None = None) -> Iterator[Registry]:
    """Start ``docker-registry`` on 127.0.0.1:<free port>; always stopped on exit."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "data")},
                    "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "dockyard-test-secret"},
    }
    if auth:
        config["auth"] = auth
    if tls:
        config["http"]["tls"] = tls
    cfg = tmp / "config.yml"
    cfg.write_text(json.dumps(config))  # YAML is a superset of JSON
    log = tmp / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    reg = Registry(f"127.0.0.1:{port}", proc, log, bool(tls))
    STARTED.append(reg)
    try:
        _wait_ready(reg)
        yield reg
    finally:
        reg.stop()


def htpasswd_auth(tmp: Path, users: dict[str, str]) -> dict[str, Any]:
    lines = [subprocess.run(["htpasswd", "-Bbn", u, p], check=True, capture_output=True,
                            text=True).stdout.strip() for u, p in users.items()]
    path = tmp / "htpasswd"
    path.write_text("\n".join(lines) + "\n")
    return {"htpasswd": {"realm": "basic-realm", "path": str(path)}}


def tls_config(tmp: Path, name: str = "tls") -> dict[str, Any]:
    """A self-signed certificate for 127.0.0.1 (SAN IP) -> docker-registry's ``http.tls``;
    the certificate is also the CA bundle a client can verify with (``<name>.crt``)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, pem = tmp / f"{name}.crt", tmp / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return {"certificate": str(crt), "key": str(pem)}


# --- Bearer tokens --------------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """Issues RS256 JWTs for docker-registry's ``auth: token:`` (``docs/spec/auth/jwt.md``)."""

    users: dict[str, str]
    read_only: frozenset[str] = frozenset()  # users granted "pull" only
    key: Any = None
    cert_der: bytes = b""
    port: int = 0
    requests: list[tuple[str | None, list[str]]] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None

    def start(self, tmp: Path) -> dict[str, Any]:
        """Make the key and certificate, start serving; return the registry auth config."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test token issuer")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        bundle = tmp / "token-cert.pem"
        bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return {"token": {"realm": f"http://127.0.0.1:{self.port}/token", "service": SERVICE,
                          "issuer": ISSUER, "rootcertbundle": str(bundle)}}

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _user(self, header: str | None) -> str | None:
        if not header or not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == password else None

    def _handle(self, req: http.server.BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(req.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for v in query.get("scope", []) for s in v.split(" ")]
        user = self._user(req.headers.get("Authorization"))
        self.requests.append((user, scopes))
        if url.path != "/token" or user is None:
            body = b'{"details":"invalid credentials"}'
            req.send_response(401)
        else:
            body = json.dumps({"token": self.issue(user, query.get("service", [""])[0], scopes),
                               "expires_in": 300}).encode()
            req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def issue(self, user: str, service: str, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            head, _, actions = scope.rpartition(":")
            kind, _, name = head.partition(":")
            granted = [a for a in actions.split(",") if user not in self.read_only or a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": user, "aud": service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "."
                         + _b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)


# --- a proxy that damages blob bodies ---------------------------------------------------------

class MangleProxy:
    """HTTP proxy on 127.0.0.1 in front of ``upstream``. ``mode``: ``"corrupt"`` flips one
    byte of every blob body; ``"truncate-once"`` cuts the first blob body (over 1 KiB) in
    half and drops the connection (``"truncate-always"``: every one); ``"lie-digest"``
    sends a wrong ``Docker-Content-Digest`` with manifests; ``"ignore-range"`` drops
    ``Range`` (a full 200 answer); ``"busy-once"`` answers the first manifest request
    503 with ``Retry-After: 0``; ``"pass"`` forwards untouched.
    ``log`` records (method, path, Range)."""

    def __init__(self, upstream: str, mode: str) -> None:
        self.upstream = upstream
        self.mode = mode
        self.log: list[tuple[str, str, str | None]] = []
        self.cuts = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                proxy._forward(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, req: http.server.BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        self.log.append((req.command, req.path, req.headers.get("Range")))
        if self.mode == "busy-once" and self.cuts == 0 and "/manifests/" in req.path:
            self.cuts += 1
            req.send_response(503)
            req.send_header("Retry-After", "0")
            req.send_header("Content-Length", "0")
            req.send_header("Connection", "close")
            req.end_headers()
            req.close_connection = True
            return
        dropped = ("connection", "keep-alive", "transfer-encoding") + (
            ("range",) if self.mode == "ignore-range" else ())
        headers = {k: v for k, v in req.headers.items() if k.lower() not in dropped}
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            conn.request(req.command, req.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        is_blob = (req.command == "GET" and "/blobs/sha256:" in req.path
                   and resp.status in (200, 206) and len(data) > 1)
        cut = False
        if is_blob and self.mode == "corrupt":
            data = data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) \
                + data[len(data) // 2 + 1:]
        elif is_blob and len(data) > 1024 and (
                self.mode == "truncate-always" or (self.mode == "truncate-once"
                                                   and self.cuts == 0)):
            self.cuts += 1
            cut = True
        lie = self.mode == "lie-digest" and "/manifests/" in req.path
        req.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                 "content-length"):
                if lie and k.lower() == "docker-content-digest":
                    v = "sha256:" + hashlib.sha256(b"something else").hexdigest()
                req.send_header(k, v)
        if req.command == "HEAD":
            req.send_header("Content-Length", resp.getheader("Content-Length") or "0")
        else:
            req.send_header("Content-Length", str(len(data)))
        req.send_header("Connection", "close")
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(data[: len(data) // 2] if cut else data)
        req.wfile.flush()
        req.close_connection = True


# --- a busybox image ------------------------------------------------------------------------

def _commit(layout: OciLayout, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = layout.blob_path_for_ingest(digest)
    Path(path).write_bytes(data)
    layout.commit(digest, path)
    return digest


def busybox_layer() -> tuple[bytes, str]:
    """A gzipped rootfs tar: /bin/busybox, its applet links, /etc/passwd, /etc/group.
    Returns (layer bytes, diff_id)."""
    raw = io.BytesIO()
    applets = subprocess.run(["/bin/busybox", "--list"], check=True, capture_output=True,
                             text=True).stdout.split()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.size, info.linkname, info.mtime = kind, mode, \
                len(data), link, 0
            tar.addfile(info, io.BytesIO(data) if data else None)
        for d in ("bin", "etc", "tmp", "root"):
            add(d, tarfile.DIRTYPE, 0o755)
        add("bin/busybox", tarfile.REGTYPE, 0o755, Path("/bin/busybox").read_bytes())
        for applet in sorted(set(applets) - {"busybox"}):
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\n")
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    return gzip.compress(raw.getvalue(), mtime=0), diff_id


def add_image(layout: OciLayout, name: str, layer: bytes, diff_id: str,
              arch: str | None = None) -> Descriptor:
    """Write config + manifest for one layer into ``layout``; tag it ``name``."""
    arch = arch or host_platform().architecture
    config = json.dumps({
        "created": "2026-01-01T00:00:00Z", "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "dockyard tests"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": _commit(layout, config),
                   "size": len(config)},
        "layers": [{"mediaType": MEDIA_OCI_LAYER, "digest": _commit(layout, layer),
                    "size": len(layer)}],
    }, sort_keys=True).encode()
    desc = Descriptor(MEDIA_OCI_MANIFEST, _commit(layout, manifest), len(manifest),
                      {"os": "linux", "architecture": arch})
    layout.set_image(name, desc)
    return desc


def add_index(layout: OciLayout, name: str, manifests: list[Descriptor]) -> Descriptor:
    index = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX,
                        "manifests": [m.to_json() for m in manifests]}).encode()
    desc = Descriptor(MEDIA_OCI_INDEX, _commit(layout, index), len(index))
    layout.set_image(name, desc)
    return desc
