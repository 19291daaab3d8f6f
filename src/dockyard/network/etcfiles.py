"""The per-container ``/etc/hosts``, ``/etc/resolv.conf`` and ``/etc/hostname`` (pure).

As dockerd writes them (libnetwork ``etchosts``/``resolvconf``): hosts has the loopback and
IPv6 lines, then ``--add-host`` entries, then the container's own address and hostname.
On user-defined networks resolv.conf names the embedded server (127.0.0.11, ``ndots:0``);
elsewhere it is the host's, without loopback nameservers (Google's when none are left).
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["EMBEDDED_DNS", "hosts", "parse_add_host", "resolv_conf"]

EMBEDDED_DNS = "127.0.0.11"

_DEFAULT = ("127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\n"
            "ff00::0\tip6-mcastprefix\n"
            "ff02::1\tip6-allnodes\n"
            "ff02::2\tip6-allrouters\n")


def parse_add_host(value: str) -> tuple[str, str]:
    """``--add-host name:ip`` (``name=ip`` too) -> ``(name, ip)``."""
    sep = "=" if "=" in value else ":"
    name, found, ip = value.partition(sep)
    if not found or not name or not ip:
        raise InvalidArgument(f'invalid argument "{value}" for "--add-host" flag: '
                              f"bad format for add-host: {value!r}")
    return name, ip.strip("[]")


def hosts(extra: Iterable[tuple[str, str]], own: Sequence[tuple[str, str]]) -> str:
    """``extra``: ``--add-host`` pairs; ``own``: ``(address, names)`` of the container."""
    text = _DEFAULT
    for name, ip in extra:
        text += f"{ip}\t{name}\n"
    for ip, names in own:
        text += f"{ip}\t{names}\n"
    return text


def _host_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:]
        elif words[0] == "options":
            options.extend(words[1:])
    return servers, search, options


def upstream_servers(host_text: str, dns: Sequence[str]) -> list[str]:
    """Where the embedded server forwards: ``--dns`` servers, else the host's."""
    return list(dns) or _host_resolv(host_text)[0]


def resolv_conf(host_text: str, *, embedded: bool, dns: Sequence[str] = (),
                dns_search: Sequence[str] = (), dns_options: Sequence[str] = ()) -> str:
    servers, search, options = _host_resolv(host_text)
    if embedded:
        servers = [EMBEDDED_DNS]
        options = ["ndots:0", *[o for o in options if not o.startswith("ndots")]]
    elif dns:
        servers = list(dns)
    else:
        servers = [s for s in servers if not s.startswith("127.") and s != "::1"]
        if not servers:
            servers = ["8.8.8.8", "8.8.4.4"]
    if dns_search:
        search = [] if list(dns_search) == ["."] else list(dns_search)
    if dns_options:
        options = list(dns_options)
    text = "".join(f"nameserver {s}\n" for s in servers)
    if search:
        text += "search " + " ".join(search) + "\n"
    if options:
        text += "options " + " ".join(options) + "\n"
    return text
