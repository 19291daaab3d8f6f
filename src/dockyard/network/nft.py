"""dockyard's own nftables table: egress NAT, isolation, published ports.

The whole table is rendered from the database's state and replaced in one ``nft -f``
transaction each time something changes, so it never drifts from the records and a
crashed CLI leaves nothing a later change would not repair. With no network left the table
is deleted, and the host's ruleset is back to what it was.

The ``nft`` tool is driven through a subprocess (there is no maintained Python binding of
libnftables' rule syntax; pyroute2's nftables support does not cover NAT expressions).
"""

from __future__ import annotations

import subprocess

from dockyard.errors import DockyardError
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Bridge", "Published", "apply", "render"]


@record(frozen=True)
class Bridge:
    name: str
    subnet: str
    internal: bool = False


@record(frozen=True)
class Published:
    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    bridge: str


def _set(names: Sequence[str]) -> str:
    quoted = ", ".join(f'"{n}"' for n in names)
    return "{ " + quoted + " }"


def render(table: str, bridges: Sequence[Bridge], ports: Sequence[Published]) -> str:
    """The table's definition (without the delete that precedes it)."""
    lines = [f"table ip {table} {{"]
    lines += [
        "  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
        "    fib daddr type local jump published", "  }",
        "  chain output {", "    type nat hook output priority -100; policy accept;",
        "    fib daddr type local jump published", "  }",
        "  chain published {",
    ]
    for p in ports:
        match = f"ip daddr {p.host_ip} " if p.host_ip not in ("", "0.0.0.0") else ""
        lines.append(f"    {match}{p.proto} dport {p.host_port} "
                     f"dnat to {p.container_ip}:{p.container_port}")
    lines.append("  }")
    lines += ["  chain postrouting {",
              "    type nat hook postrouting priority srcnat; policy accept;"]
    for b in bridges:
        q = f'"{b.name}"'
        if not b.internal:
            lines.append(f"    ip saddr {b.subnet} oifname != {q} masquerade")
        # published ports reached from 127.0.0.1, and hairpin from the same bridge
        lines.append(f"    oifname {q} ip saddr 127.0.0.0/8 masquerade")
        lines.append(f"    oifname {q} ct status dnat ip saddr {b.subnet} masquerade")
    lines.append("  }")
    lines += ["  chain forward {", "    type filter hook forward priority filter; policy accept;"]
    names = [b.name for b in bridges]
    for b in bridges:
        q = f'"{b.name}"'
        lines.append(f"    iifname {q} oifname {q} accept")
        if b.internal:
            lines.append(f"    iifname {q} drop")
            lines.append(f"    oifname {q} drop")
    if names:
        lines.append("    ct state established,related accept")
        lines.append("    ct status dnat accept")
        lines.append(f"    iifname {_set(names)} oifname {_set(names)} drop")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _nft(script: str) -> None:
    try:
        res = subprocess.run(["nft", "-f", "-"], input=script, text=True,
                             capture_output=True, check=False)
    except FileNotFoundError:
        raise DockyardError("nft is not installed (apt-get install nftables)") from None
    if res.returncode != 0:
        raise DockyardError(f"nftables: {res.stderr.strip()}")


def apply(table: str, bridges: Sequence[Bridge], ports: Sequence[Published]) -> None:
    """Replace the table atomically; delete it when there is nothing to put in it."""
    script = f"table ip {table}\ndelete table ip {table}\n"
    if bridges or ports:
        script += render(table, bridges, ports)
    _nft(script)
