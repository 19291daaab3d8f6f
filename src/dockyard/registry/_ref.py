"""Image references, the way Docker normalises them (distribution ``reference/normalize.go``).

Private stop-gap: the lead will unify it with ``dockyard.oci.reference``.

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [domain "/"] path-component ["/" path-component]*
    domain     := the first component, if it contains "." or ":" or is "localhost"
    path-component := [a-z0-9]+ (("." | "_" | "__" | "-"+) [a-z0-9]+)*
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex   (sha256: 64 lowercase hex digits)

``busybox`` is ``docker.io/library/busybox:latest``; the API host of ``docker.io`` is
``registry-1.docker.io``.
"""

from __future__ import annotations

import ipaddress
import re

from dockyard.errors import InvalidArgument
from dockyard.record import record

__all__ = ["DEFAULT_DOMAIN", "DOCKER_API_HOST", "Reference", "is_loopback", "parse_reference"]

DEFAULT_DOMAIN = "docker.io"
DOCKER_API_HOST = "registry-1.docker.io"
_LEGACY_DOMAINS = ("index.docker.io", "registry-1.docker.io")

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}\Z")
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}\Z")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?\Z")


@record(frozen=True)
class Reference:
    """A fully qualified image reference: ``domain/repository[:tag][@digest]``."""

    domain: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host[:port] whose ``/v2/`` API serves this reference."""
        return DOCKER_API_HOST if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.repository}"

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def validate_digest(digest: str) -> str:
    if not _DIGEST.match(digest) or (digest.startswith("sha256:") and not _SHA256.match(digest)):
        raise InvalidArgument(f"invalid digest format: {digest!r}")
    return digest


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``text``; a reference without tag or digest gets ``latest``."""
    if not text or text != text.strip():
        raise InvalidArgument(f"invalid reference format: {text!r}")
    rest, at, digest = text.partition("@")
    if at:
        validate_digest(digest)
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"
                  or first != first.lower()):
        domain, path = first, remainder
        if not _DOMAIN.match(domain):
            raise InvalidArgument(f"invalid reference format: bad domain {domain!r} in {text!r}")
        if domain in _LEGACY_DOMAINS:
            domain = DEFAULT_DOMAIN
    else:
        domain, path = DEFAULT_DOMAIN, rest
    tag: str | None = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
        if not _TAG.match(tag):
            raise InvalidArgument(f"invalid reference format: bad tag {tag!r} in {text!r}")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            if component != component.lower():
                raise InvalidArgument(
                    f"invalid reference format: repository name must be lowercase: {text!r}")
            raise InvalidArgument(f"invalid reference format: {text!r}")
    if len(domain) + 1 + len(path) > 255:
        raise InvalidArgument(
            f"invalid reference format: name longer than 255 characters: {text!r}")
    if tag is None and not at:
        tag = "latest"
    return Reference(domain, path, tag, digest if at else None)


def validate_host(host: str) -> str:
    """``host[:port]`` as a registry address (``[::1]:5000`` for IPv6), else InvalidArgument."""
    if not _DOMAIN.match(host):
        raise InvalidArgument(f"invalid registry address {host!r}: want host[:port]")
    return host


def split_host_port(host: str) -> tuple[str, int | None]:
    """``"127.0.0.1:5000"`` -> ``("127.0.0.1", 5000)``; brackets of IPv6 literals dropped."""
    if host.startswith("["):
        addr, _, port = host[1:].partition("]")
        return addr, int(port[1:]) if port.startswith(":") else None
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (with or without a port)."""
    name, _ = split_host_port(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
