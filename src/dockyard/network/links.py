"""Bridges and veth pairs through netlink (pyroute2); nothing parses ``ip`` output.

A container's side of a veth pair is configured from inside its network namespace: a
short-lived thread ``setns``-es into ``/proc/PID/ns/net`` (network namespaces are per
thread) and opens its netlink socket there, so the CLI never forks for it.
"""

from __future__ import annotations

import ipaddress
import os
import threading

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard.errors import Conflict, DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

__all__ = [
    "add_veth",
    "addresses_in_use",
    "bridge_exists",
    "delete_link",
    "ensure_bridge",
    "in_netns",
    "loopback_up",
    "routes_in_use",
]

EEXIST = 17
ENODEV = 19


def in_netns(ns_path: str, fn: Callable[[], T]) -> T:
    """``fn()`` run on a thread that has joined the network namespace at ``ns_path``."""
    from dockyard.linux.namespaces import CLONE_NEWNET, setns

    box: dict[str, Any] = {}

    def body() -> None:
        try:
            fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                setns(fd, CLONE_NEWNET, path=ns_path)
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=body, name="netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _kind(ipr: Any, idx: int) -> str:
    """``IFLA_LINKINFO``'s ``IFLA_INFO_KIND`` of a link ("" for a plain device)."""
    link = ipr.get_links(idx)[0]
    info = link.get_attr("IFLA_LINKINFO")
    return str(info.get_attr("IFLA_INFO_KIND") or "") if info is not None else ""


def bridge_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return _index(ipr, name) is not None


def _write_sysctl(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


def ensure_bridge(name: str, gateway: str, prefixlen: int) -> bool:
    """The bridge ``name`` with ``gateway/prefixlen``, up; ``True`` if it was made now.

    ``route_localnet`` lets packets DNAT-ed from 127.0.0.1 leave through it (published
    ports reached on loopback); forwarding is switched on as dockerd does."""
    with IPRoute() as ipr:
        made = False
        idx = _index(ipr, name)
        if idx is not None and _kind(ipr, idx) != "bridge":
            raise Conflict(f"bridge name {name} is in use by a network interface that is not "
                           "a bridge")
        if idx is None:
            try:
                ipr.link("add", ifname=name, kind="bridge")
                made = True
            except NetlinkError as e:
                if e.code != EEXIST:
                    raise
            idx = _index(ipr, name)
            if idx is None:
                raise DockyardError(f"bridge {name} vanished while it was being set up")
        try:
            ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
        except NetlinkError as e:
            if e.code != EEXIST:
                raise
        ipr.link("set", index=idx, state="up")
    _write_sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")
    _write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")
    return made


def delete_link(name: str) -> None:
    """Delete a link (a bridge, the host end of a veth); gone already is fine."""
    with IPRoute() as ipr:
        idx = _index(ipr, name)
        if idx is None:
            return
        try:
            ipr.link("del", index=idx)
        except NetlinkError as e:
            if e.code != ENODEV:
                raise


def loopback_up() -> None:
    """Bring ``lo`` up (call inside the container's namespace)."""
    with IPRoute() as ipr:
        idx = _index(ipr, "lo")
        if idx is not None:
            ipr.link("set", index=idx, state="up")


def add_veth(host_name: str, bridge: str, ns_path: str, *, ifname: str, address: str,
             prefixlen: int, gateway: str, mac: str, default_route: bool) -> None:
    """A veth pair: ``host_name`` enslaved to ``bridge``; its peer moved into the namespace
    at ``ns_path``, named ``ifname``, with ``address``, ``mac`` and (``default_route``) the
    default route via ``gateway``. On failure nothing is left behind."""
    peer = "p" + host_name[1:]
    with IPRoute() as ipr:
        br = _index(ipr, bridge)
        if br is None:
            raise DockyardError(f"bridge {bridge} does not exist")
        try:
            ipr.link("add", ifname=host_name, kind="veth", peer={"ifname": peer})
        except NetlinkError as e:
            if e.code == EEXIST:
                raise Conflict(f"network interface {host_name} exists already") from None
            raise
        try:
            host_idx = _index(ipr, host_name)
            peer_idx = _index(ipr, peer)
            ipr.link("set", index=host_idx, master=br, state="up")
            fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                ipr.link("set", index=peer_idx, net_ns_fd=fd)
            finally:
                os.close(fd)

            def inside() -> None:
                with IPRoute() as nsr:
                    lo = _index(nsr, "lo")
                    if lo is not None:
                        nsr.link("set", index=lo, state="up")
                    idx = _index(nsr, peer)
                    nsr.link("set", index=idx, ifname=ifname, address=mac)
                    nsr.addr("add", index=idx, address=address, prefixlen=prefixlen)
                    nsr.link("set", index=idx, state="up")
                    if default_route:
                        nsr.route("add", dst="0.0.0.0/0", gateway=gateway)

            in_netns(ns_path, inside)
        except BaseException:
            delete_link(host_name)
            raise


def remove_in_netns(ns_path: str, ifname: str) -> None:
    """Delete interface ``ifname`` inside a namespace (``network disconnect``)."""

    def inside() -> None:
        delete_link(ifname)

    in_netns(ns_path, inside)


def next_ifname(ns_path: str) -> str:
    """The first ``ethN`` free inside a namespace."""

    def inside() -> str:
        with IPRoute() as ipr:
            names = {link.get("ifname") for link in ipr.get_links()}
        n = 0
        while f"eth{n}" in names:
            n += 1
        return f"eth{n}"

    return in_netns(ns_path, inside)


def routes_in_use() -> list[ipaddress.IPv4Network]:
    """The host's IPv4 routes and addresses (a new network's subnet must avoid them)."""
    out: list[ipaddress.IPv4Network] = []
    with IPRoute() as ipr:
        for r in ipr.get_routes(family=2):
            dst = r.get("dst")
            if dst and r["dst_len"] > 0:
                out.append(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
        for a in ipr.get_addr(family=2):
            out.append(ipaddress.IPv4Network(f"{a.get('address')}/{a['prefixlen']}",
                                             strict=False))
    return [n for n in out if not n.is_loopback]


def addresses_in_use() -> list[str]:
    with IPRoute() as ipr:
        return [str(a.get("address")) for a in ipr.get_addr(family=2)]
