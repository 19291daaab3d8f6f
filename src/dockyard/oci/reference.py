"""Docker image references: parse, normalise, and print the familiar form.

Grammar (distribution/reference ``reference.go``)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [domain "/"] path-component ["/" path-component]*
    domain     := host [":" port]           -- the first component, when it has "." or ":"
                                                or is "localhost"
    path-component := [a-z0-9]+ (( "." | "_" | "__" | "-"+ ) [a-z0-9]+)*
    tag        := [\\w][\\w.-]{0,127}

Normalisation (``normalize.go``): no domain -> ``docker.io``; a single-component path on
docker.io gets ``library/``; neither tag nor digest -> ``:latest``.
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import parse_digest
from dockyard.record import record

__all__ = ["DEFAULT_DOMAIN", "Reference", "parse_reference"]

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DOMAIN = "index.docker.io"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
#: _DOMAIN and _TAG are compiled on first use (by ``re``'s cache): "busybox" needs neither
_DOMAIN = (
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")
_TAG = r"^[\w][\w.-]{0,127}$"
_HEX64 = re.compile(r"^[a-f0-9]{64}$")
_NAME_MAX = 255


@record(frozen=True)
class Reference:
    """A normalised reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """Full repository name, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """What Docker prints: ``busybox``, ``user/app``, ``host:5000/x/y``."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix("library/") if self.path.count("/") == 1 \
                else self.path
        return self.name

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def familiar(self) -> str:
        """``busybox:latest``, ``host:5000/x/y:tag``, ``busybox@sha256:...``."""
        out = self.familiar_name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, "")


def _bad(text: str, why: str = "") -> InvalidArgument:
    tail = f": {why}" if why else ""
    return InvalidArgument(f"invalid reference format{tail}: {text!r}")


def parse_reference(text: str, *, default_tag: str = "latest") -> Reference:
    """Parse and normalise ``text``; ``InvalidArgument`` for anything Docker rejects.

    ``default_tag`` is applied when neither tag nor digest is given (pass ``""`` to
    keep a bare name bare, as ``docker images REPO`` does).
    """
    if not text or text != text.strip():
        raise _bad(text)
    if _HEX64.match(text):
        raise _bad(text, "cannot specify 64-byte hexadecimal strings")
    rest, at, dig = text.partition("@")
    try:
        digest = str(parse_digest(dig)) if at else ""
    except InvalidArgument as e:
        raise _bad(text, "bad digest") from e
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not re.match(_TAG, tag):
            raise _bad(text, "bad tag")
    if not rest or len(rest) > _NAME_MAX:
        raise _bad(text)
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not re.match(_DOMAIN, first):
            raise _bad(text, "bad registry host")
        domain, path = first, remainder
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if domain == _LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    for comp in path.split("/"):
        if not _COMPONENT.match(comp):
            if comp.lower() != comp and _COMPONENT.match(comp.lower()):
                raise _bad(text, "repository name must be lowercase")
            raise _bad(text)
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if not tag and not digest:
        tag = default_tag
    return Reference(domain, path, tag, digest)
