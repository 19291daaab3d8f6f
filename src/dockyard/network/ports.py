"""``-p``/``--publish``, ``--expose`` and ``-P`` (pure): Docker's ``nat.ParsePortSpec``.

``-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`` with ranges on either side
(``8000-8002:8000-8002``); no host port, or ``IP::PORT``: a random free host port.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = ["PortRequest", "exposed_ports", "parse_publish", "publish_all"]

PROTOS = ("tcp", "udp", "sctp")


@record(frozen=True)
class PortRequest:
    """One container port to publish; ``host_lo..host_hi`` (0..0: any free port)."""

    proto: str
    container_port: int
    host_ip: str = ""
    host_lo: int = 0
    host_hi: int = 0

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def _range(text: str, what: str, spec: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        a = int(lo, 10)
        b = int(hi, 10) if sep else a
    except ValueError:
        raise InvalidArgument(f"invalid {what}: {text}") from None
    if not (0 < a <= 65535 and 0 < b <= 65535) or b < a:
        raise InvalidArgument(f"invalid {what}: {text}")
    return a, b


def _split_proto(text: str) -> tuple[str, str]:
    port, sep, proto = text.rpartition("/")
    if not sep:
        return text, "tcp"
    proto = proto.lower()
    if proto not in PROTOS:
        raise InvalidArgument(f"invalid proto: {proto}")
    return port, proto


def parse_publish(spec: str) -> list[PortRequest]:
    """One ``-p`` value -> its port requests."""
    rest, proto = _split_proto(spec)
    ip = ""
    if rest.startswith("["):  # [v6]:host:ctr
        raise InvalidArgument(f"IPv6 host addresses are not supported: {spec}")
    parts = rest.split(":")
    if len(parts) == 1:
        host, ctr = "", parts[0]
    elif len(parts) == 2:
        host, ctr = parts
    elif len(parts) == 3:
        ip, host, ctr = parts
    else:
        raise InvalidArgument(f"invalid port format for --publish: {spec}")
    if ip:
        import ipaddress  # only for -p IP:...: ipaddress costs ~1.5 ms to import

        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise InvalidArgument(f"invalid IP address: {ip}") from None
    if not ctr:
        raise InvalidArgument(f"no port specified: {spec}<empty>")
    c_lo, c_hi = _range(ctr, "containerPort", spec)
    if not host:
        return [PortRequest(proto, p, ip) for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _range(host, "hostPort", spec)
    n = c_hi - c_lo + 1
    if n == 1:
        return [PortRequest(proto, c_lo, ip, h_lo, h_hi)]
    if h_hi - h_lo + 1 != n:
        raise InvalidArgument(f"invalid ranges specified for container and host Ports: "
                              f"{ctr} and {host}")
    return [PortRequest(proto, c_lo + i, ip, h_lo + i, h_lo + i) for i in range(n)]


def parse_expose(spec: str) -> list[str]:
    """``--expose 80[-81][/udp]`` -> ``["80/tcp", ...]``."""
    port, proto = _split_proto(spec)
    lo, hi = _range(port, "range format for --expose", spec)
    return [f"{p}/{proto}" for p in range(lo, hi + 1)]


def exposed_ports(image_config: Mapping[str, Any], expose: Iterable[str]) -> list[str]:
    """The image's ``ExposedPorts`` and ``--expose`` values, as ``PORT/PROTO`` keys."""
    keys = list((image_config.get("ExposedPorts") or {}).keys())
    for spec in expose:
        keys.extend(parse_expose(spec))
    out: list[str] = []
    for k in keys:
        if "/" not in k:
            k += "/tcp"
        if k not in out:
            out.append(k)
    return out


def publish_all(exposed: Iterable[str], explicit: Iterable[PortRequest]) -> list[PortRequest]:
    """``-P``: each exposed port not published explicitly, to a random host port."""
    have = {r.key for r in explicit}
    out = []
    for key in exposed:
        if key in have:
            continue
        port, _, proto = key.partition("/")
        out.append(PortRequest(proto, int(port)))
    return out
