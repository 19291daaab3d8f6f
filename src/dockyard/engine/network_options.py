"""The network flags of ``docker run``/``create`` (``--network``, ``-p``, ``--dns``...)."""

from __future__ import annotations

from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NetOptions", "exposed_fields", "host_config_fields"]


@record
class NetOptions:
    #: ``bridge`` (the default network), ``host``, ``none``, ``container:NAME`` or a
    #: user-defined network's name or id.
    mode: str = "bridge"
    ip: str = ""
    mac: str = ""
    aliases: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    expose: list[str] = field(default_factory=list)


def host_config_fields(net: NetOptions) -> dict[str, Any]:
    """The ``HostConfig`` keys of the network flags, as ``docker inspect`` shows them."""
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in net.publish:
        from dockyard.network.ports import parse_publish  # only with -p: it needs ipaddress

        for r in parse_publish(spec):
            host = "" if not r.host_lo else (
                str(r.host_lo) if r.host_lo == r.host_hi else f"{r.host_lo}-{r.host_hi}")
            bindings.setdefault(r.key, []).append({"HostIp": r.host_ip, "HostPort": host})
    return {"PortBindings": bindings, "Dns": list(net.dns), "DnsOptions": list(net.dns_options),
            "DnsSearch": list(net.dns_search), "ExtraHosts": list(net.add_hosts) or None,
            "PublishAllPorts": net.publish_all}


def exposed_fields(net: NetOptions) -> dict[str, dict[str, Any]]:
    """``Config.ExposedPorts`` entries the flags add: ``--expose`` and each ``-p`` port."""
    if not net.expose and not net.publish:
        return {}  # the common case: no need for the ports module (ipaddress)
    from dockyard.network.ports import parse_expose, parse_publish

    keys = [k for spec in net.expose for k in parse_expose(spec)]
    keys += [r.key for spec in net.publish for r in parse_publish(spec)]
    return {k: {} for k in keys}
