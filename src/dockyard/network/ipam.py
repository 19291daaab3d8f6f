"""Subnets and addresses (pure): Docker's checks and messages, the lowest free address.

A network has a subnet, a gateway (its first host address unless given) and optionally an
``--ip-range`` within the subnet from which container addresses are handed out. A MAC
address is derived from the IPv4 address as Docker does: ``02:42`` then its four bytes.
"""

from __future__ import annotations

import ipaddress

from dockyard.errors import Conflict, InvalidArgument
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "Pool",
    "auto_subnet",
    "free_address",
    "mac_for",
    "parse_pool",
]

IPv4Net = ipaddress.IPv4Network


@record(frozen=True)
class Pool:
    subnet: IPv4Net
    gateway: ipaddress.IPv4Address
    ip_range: IPv4Net | None = None


def _network(text: str) -> IPv4Net:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if not isinstance(net, ipaddress.IPv4Network) or "/" not in text:
        raise InvalidArgument(f"invalid CIDR address: {text}")
    return net


def parse_pool(subnet: str, gateway: str = "", ip_range: str = "") -> Pool:
    """Check ``--subnet``/``--gateway``/``--ip-range`` the way dockerd does."""
    net = _network(subnet)
    if net.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {subnet}: too small for containers")
    rng = None
    if ip_range:
        rng = _network(ip_range)
        if not rng.subnet_of(net):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
    if gateway:
        try:
            gw = ipaddress.IPv4Address(gateway)
        except ValueError:
            raise InvalidArgument(f"invalid gateway address {gateway}") from None
        if gw not in net:
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
    else:
        gw = net.network_address + 1
    return Pool(net, gw, rng)


def overlaps(a: IPv4Net, others: Iterable[IPv4Net]) -> bool:
    return any(a.overlaps(b) for b in others)


#: Where dockerd's default address pools come from: 172.17-31.0.0/16, then 192.168.x.0/20.
def _candidates() -> Iterable[IPv4Net]:
    for i in range(17, 32):
        yield IPv4Net(f"172.{i}.0.0/16")
    for i in range(0, 256, 16):
        yield IPv4Net(f"192.168.{i}.0/20")


def auto_subnet(taken: Iterable[IPv4Net]) -> IPv4Net:
    """The first default pool that overlaps nothing in ``taken`` (networks and host routes)."""
    used = list(taken)
    for cand in _candidates():
        if not overlaps(cand, used):
            return cand
    raise Conflict("could not find an available, non-overlapping IPv4 address pool among "
                   "the defaults to assign to the network")


def free_address(pool: Pool, used: Iterable[str]) -> ipaddress.IPv4Address:
    """The lowest host address of the range (or subnet) that is neither the gateway nor used."""
    taken = {ipaddress.IPv4Address(u) for u in used} | {pool.gateway}
    net = pool.ip_range or pool.subnet
    for addr in net.hosts():
        if addr in taken or addr not in pool.subnet or addr == pool.subnet.broadcast_address:
            continue
        return addr
    raise Conflict(f"no available IPv4 addresses on this network's address pools: "
                   f"{pool.subnet}")


def check_requested(pool: Pool, ip: str, used: Iterable[str]) -> ipaddress.IPv4Address:
    """``--ip``: inside the subnet, not the gateway, not taken."""
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {ip}") from None
    if addr not in pool.subnet or addr in (pool.subnet.network_address,
                                           pool.subnet.broadcast_address):
        raise InvalidArgument(f"no available IPv4 addresses on this network's address "
                              f"pools: requested address {ip} is outside the subnet")
    if addr == pool.gateway or ip in set(used):
        raise Conflict(f"Address already in use: {ip}")
    return addr


def mac_for(addr: ipaddress.IPv4Address | str) -> str:
    """Docker's ``GenerateMACFromIP``: 02:42 then the address's bytes."""
    raw = ipaddress.IPv4Address(addr).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in raw)
