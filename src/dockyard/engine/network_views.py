"""What ``network inspect``, ``network ls``, ``port`` and ``inspect``'s NetworkSettings show."""

from __future__ import annotations

import ipaddress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.containers import ContainerStore
    from dockyard.engine.network import Networks
    from dockyard.network.store import NetworkRecord

__all__ = ["network_json", "network_settings", "port_lines", "settings_for"]


def settings_for(root: str, cid: str) -> dict[str, Any]:
    """:func:`network_settings` of container ``cid`` under dockyard root ``root``."""
    from dockyard.engine.network import Networks

    nets = Networks(root)
    try:
        return network_settings(nets, cid)
    finally:
        nets.close()


def network_json(nets: Networks, n: NetworkRecord, containers: ContainerStore) -> dict[str, Any]:
    """One element of ``docker network inspect``'s array."""
    config: list[dict[str, str]] = []
    if n.subnet:
        entry = {"Subnet": n.subnet}
        if n.name != "bridge":
            entry["Gateway"] = n.gateway
        if n.ip_range:
            entry["IPRange"] = n.ip_range
        config.append(entry)
    return {
        "Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local",
        "Driver": n.driver, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None if n.name == "bridge" else {},
                 "Config": config},
        "Internal": n.internal, "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
        "Containers": nets.containers_of(n, containers),
        "Options": dict(n.options), "Labels": dict(n.labels),
    }


def network_settings(nets: Networks, cid: str) -> dict[str, Any]:
    """``NetworkSettings.Networks`` and ``.Ports`` of ``docker inspect``."""
    opts = nets.store.options(cid) or {}
    eps = {e.network_id: e for e in nets.store.endpoints(cid=cid)}
    networks: dict[str, Any] = {}
    for nid, aliases, ip in nets.store.attachments(cid):
        try:
            n = nets.get(nid)
        except Exception:
            continue
        e = eps.get(nid)
        prefix = ipaddress.IPv4Network(n.subnet).prefixlen if n.subnet else 0
        networks[n.name] = {
            "IPAMConfig": {"IPv4Address": ip} if ip else None, "Links": None,
            "Aliases": ([*aliases, cid[:12]] if n.name != "bridge" else None),
            "NetworkID": n.id, "EndpointID": e.endpoint_id if e else "",
            "Gateway": n.gateway if e else "", "IPAddress": e.ip if e else "",
            "IPPrefixLen": prefix if e else 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": e.mac if e else "", "DriverOpts": None,
        }
    mode = opts.get("mode", "")
    if mode in ("host", "none"):
        networks[mode] = {"IPAMConfig": None, "Links": None, "Aliases": None,
                          "NetworkID": nets.get(mode).id, "EndpointID": "", "Gateway": "",
                          "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                          "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "",
                          "DriverOpts": None}
    ports: dict[str, Any] = {k: None for k in opts.get("exposed", [])}
    for p in nets.store.ports(cid):
        ports.setdefault(f"{p.container_port}/{p.proto}", None)
        key = f"{p.container_port}/{p.proto}"
        ports[key] = (ports[key] or []) + [{"HostIp": p.host_ip or "0.0.0.0",
                                            "HostPort": str(p.host_port)}]
    first = next((eps[nid] for nid, _, _ in nets.store.attachments(cid) if nid in eps), None)
    default = next((n for n in nets.store.networks() if n.name == "bridge"), None)
    on_default = first is not None and default is not None and first.network_id == default.id
    return {
        "Ports": ports, "Networks": networks,
        "IPAddress": first.ip if on_default and first else "",
        "Gateway": default.gateway if on_default and default else "",
        "MacAddress": first.mac if on_default and first else "",
    }


def port_lines(nets: Networks, cid: str, which: str = "") -> list[str]:
    """``docker port``: ``80/tcp -> 0.0.0.0:8080`` lines, or the bindings of one port."""
    rows = sorted(nets.store.ports(cid), key=lambda p: (p.container_port, p.proto))
    if which:
        port, _, proto = which.partition("/")
        proto = proto or "tcp"
        return [f"{p.host_ip or '0.0.0.0'}:{p.host_port}" for p in rows
                if str(p.container_port) == port and p.proto == proto]
    return [f"{p.container_port}/{p.proto} -> {p.host_ip or '0.0.0.0'}:{p.host_port}"
            for p in rows]
