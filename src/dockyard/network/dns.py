"""The embedded DNS server of user-defined networks (RFC 1035 over UDP).

dockyard has no daemon: the process that holds a container (its monitor, or the CLI for
``run`` in the foreground) opens a UDP socket on 127.0.0.11:53 *inside* the container's
network namespace (a thread joins the namespace just to make the socket) and serves it on
a thread of its own, in the host's namespace. Names of containers, their aliases and
network-scoped names are answered from the database; anything else is forwarded to the
upstream servers (``--dns`` or the host's resolv.conf) from the host's namespace, where the
host's resolver is reachable. The listener goes when its process does.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Sequence

from dockyard.record import record

__all__ = ["DnsServer", "Question", "answer", "parse_question"]

TYPE_A = 1
TYPE_AAAA = 28
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
TTL = 600


@record(frozen=True)
class Question:
    ident: int
    flags: int
    name: str
    qtype: int
    qclass: int
    raw: bytes  # the question section as it came


def parse_question(msg: bytes) -> Question | None:
    """The first question of a query (RFC 1035 4.1.1 header, 4.1.2 question); ``None`` if
    the message is not a well-formed standard query."""
    if len(msg) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qdcount < 1:
        return None
    pos = 12
    labels: list[str] = []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return Question(ident, flags, ".".join(labels).lower(), qtype, qclass, msg[12:pos + 4])


def answer(q: Question, addresses: Sequence[str], rcode: int = 0) -> bytes:
    """A response to ``q`` with A records for ``addresses`` (name by pointer to the question)."""
    flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode  # QR AA RD RA
    out = struct.pack("!HHHHHH", q.ident, flags, 1, len(addresses), 0, 0) + q.raw
    for a in addresses:
        out += struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, TTL, 4) + socket.inet_aton(a)
    return out


Resolver = Callable[[str], list[str] | None]


class DnsServer:
    """Serve ``sock`` (bound already) on a thread: ``resolve(name)`` -> addresses, or
    ``None`` for "not ours" (forwarded to ``upstream``)."""

    def __init__(self, sock: socket.socket, resolve: Resolver,
                 upstream: Sequence[str]) -> None:
        self.sock = sock
        self.resolve = resolve
        self.upstream = list(upstream)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="dns", daemon=True)

    def start(self) -> None:
        self.sock.settimeout(0.5)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                msg, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._handle(msg, peer)
            except Exception:  # one bad query never stops the server
                continue

    def _handle(self, msg: bytes, peer: tuple[str, int]) -> None:
        q = parse_question(msg)
        if q is None:
            return
        found = self.resolve(q.name) if q.qclass == 1 else None
        if found is not None:
            self.sock.sendto(answer(q, found if q.qtype == TYPE_A else []), peer)
            return
        threading.Thread(target=self._forward, args=(msg, q, peer), daemon=True).start()

    def _forward(self, msg: bytes, q: Question, peer: tuple[str, int]) -> None:
        for server in self.upstream:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(2.0)
                    s.sendto(msg, (server, 53))
                    reply, _ = s.recvfrom(65535)
                self.sock.sendto(reply, peer)
                return
            except OSError:
                continue
        try:
            self.sock.sendto(answer(q, [], RCODE_SERVFAIL if self.upstream
                                    else RCODE_NXDOMAIN), peer)
        except OSError:
            pass
