"""The network flags of ``docker run``/``create`` (``--network``, ``-p``, ``--dns``...)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["NetOptions"]


@dataclass
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
