"""Networks, container attachments, endpoints and published ports in the root's database.

Tables (created on first use): ``networks`` (one row per network, the predefined
``bridge``, ``host`` and ``none`` included), ``net_containers`` (a container's network
options, from create to rm), ``net_attach`` (which networks a container is connected to,
with its aliases and requested address), ``net_endpoints`` (the address, MAC and veth of a
running container on a network; ``UNIQUE(network_id, ip)`` makes a double allocation
impossible) and ``net_ports`` (published ports of running containers). Changes go through
``tx()``: ``BEGIN IMMEDIATE`` so two CLIs allocating at once take turns.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from typing import Any

__all__ = ["Endpoint", "NetworkRecord", "NetworkStore", "PortRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, driver TEXT NOT NULL,
    subnet TEXT NOT NULL DEFAULT '', gateway TEXT NOT NULL DEFAULT '',
    ip_range TEXT NOT NULL DEFAULT '', bridge TEXT NOT NULL DEFAULT '',
    internal INTEGER NOT NULL DEFAULT 0, labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS net_containers (
    container_id TEXT PRIMARY KEY, options TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS net_attach (
    container_id TEXT NOT NULL, network_id TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]',
    ip TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (container_id, network_id));
CREATE TABLE IF NOT EXISTS net_endpoints (
    container_id TEXT NOT NULL, network_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,
    ip TEXT NOT NULL, mac TEXT NOT NULL, veth TEXT NOT NULL, ifname TEXT NOT NULL,
    PRIMARY KEY (container_id, network_id), UNIQUE (network_id, ip));
CREATE TABLE IF NOT EXISTS net_ports (
    container_id TEXT NOT NULL, proto TEXT NOT NULL, host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL, container_port INTEGER NOT NULL, container_ip TEXT NOT NULL,
    bridge TEXT NOT NULL);
"""


@record
class NetworkRecord:
    id: str
    name: str
    driver: str
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    bridge: str = ""
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    created: str = ""

    @property
    def predefined(self) -> bool:
        return self.name in ("bridge", "host", "none")


@record
class Endpoint:
    container_id: str
    network_id: str
    endpoint_id: str
    ip: str
    mac: str
    veth: str
    ifname: str


@record
class PortRow:
    container_id: str
    proto: str
    host_ip: str
    host_port: int
    container_port: int
    container_ip: str
    bridge: str


_NET_COLS = ("id, name, driver, subnet, gateway, ip_range, bridge, internal, labels, options, "
             "created")


def _net(row: tuple[Any, ...]) -> NetworkRecord:
    return NetworkRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
                         json.loads(row[8]), json.loads(row[9]), row[10])


class NetworkStore:
    def __init__(self, root: str) -> None:
        from dockyard.sqlite import connect

        self.db = connect(root)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        from dockyard.sqlite import immediate

        with immediate(self.db) as c:
            yield c

    # --- networks -------------------------------------------------------------------
    def networks(self) -> list[NetworkRecord]:
        rows = self.db.execute(f"SELECT {_NET_COLS} FROM networks ORDER BY created, name")
        return [_net(r) for r in rows]

    def find(self, ref: str) -> NetworkRecord | None:
        """By name, full id or unique id prefix."""
        row = self.db.execute(f"SELECT {_NET_COLS} FROM networks WHERE name = ? OR id = ?",
                              (ref, ref)).fetchone()
        if row:
            return _net(row)
        if len(ref) < 1:
            return None
        rows = self.db.execute(f"SELECT {_NET_COLS} FROM networks WHERE id LIKE ?",
                               (ref.lower() + "%",)).fetchall()
        return _net(rows[0]) if len(rows) == 1 else None

    def insert(self, n: NetworkRecord) -> None:
        self.db.execute(f"INSERT INTO networks ({_NET_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (n.id, n.name, n.driver, n.subnet, n.gateway, n.ip_range, n.bridge,
                         int(n.internal), json.dumps(n.labels), json.dumps(n.options),
                         n.created))

    def delete_network(self, nid: str) -> None:
        self.db.execute("DELETE FROM networks WHERE id = ?", (nid,))

    # --- containers -----------------------------------------------------------------
    def set_options(self, cid: str, options: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO net_containers VALUES (?, ?)",
                        (cid, json.dumps(options)))

    def options(self, cid: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT options FROM net_containers WHERE container_id = ?",
                              (cid,)).fetchone()
        return json.loads(row[0]) if row else None

    def attach(self, cid: str, nid: str, aliases: list[str], ip: str) -> None:
        seq = self.db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM net_attach "
                              "WHERE container_id = ?", (cid,)).fetchone()[0]
        self.db.execute("INSERT INTO net_attach VALUES (?,?,?,?,?)",
                        (cid, nid, json.dumps(aliases), ip, seq))

    def attachments(self, cid: str) -> list[tuple[str, list[str], str]]:
        rows = self.db.execute("SELECT network_id, aliases, ip FROM net_attach "
                               "WHERE container_id = ? ORDER BY seq", (cid,))
        return [(r[0], json.loads(r[1]), r[2]) for r in rows]

    def attached_to(self, nid: str) -> list[str]:
        rows = self.db.execute("SELECT container_id FROM net_attach WHERE network_id = ?",
                               (nid,))
        return [r[0] for r in rows]

    def detach(self, cid: str, nid: str) -> None:
        self.db.execute("DELETE FROM net_attach WHERE container_id = ? AND network_id = ?",
                        (cid, nid))

    def forget_container(self, cid: str) -> None:
        for table in ("net_containers", "net_attach", "net_endpoints", "net_ports"):
            self.db.execute(f"DELETE FROM {table} WHERE container_id = ?", (cid,))

    # --- endpoints and ports -------------------------------------------------------------
    def endpoints(self, cid: str | None = None, nid: str | None = None) -> list[Endpoint]:
        q = "SELECT container_id, network_id, endpoint_id, ip, mac, veth, ifname " \
            "FROM net_endpoints WHERE 1=1"
        args: list[str] = []
        if cid is not None:
            q += " AND container_id = ?"
            args.append(cid)
        if nid is not None:
            q += " AND network_id = ?"
            args.append(nid)
        return [Endpoint(*r) for r in self.db.execute(q, args)]

    def add_endpoint(self, e: Endpoint) -> None:
        self.db.execute("INSERT INTO net_endpoints VALUES (?,?,?,?,?,?,?)",
                        (e.container_id, e.network_id, e.endpoint_id, e.ip, e.mac, e.veth,
                         e.ifname))

    def remove_endpoint(self, cid: str, nid: str) -> None:
        self.db.execute("DELETE FROM net_endpoints WHERE container_id = ? AND network_id = ?",
                        (cid, nid))

    def ports(self, cid: str | None = None) -> list[PortRow]:
        q = ("SELECT container_id, proto, host_ip, host_port, container_port, container_ip, "
             "bridge FROM net_ports")
        rows = self.db.execute(q + " WHERE container_id = ?", (cid,)) if cid is not None \
            else self.db.execute(q)
        return [PortRow(*r) for r in rows]

    def add_port(self, p: PortRow) -> None:
        self.db.execute("INSERT INTO net_ports VALUES (?,?,?,?,?,?,?)",
                        (p.container_id, p.proto, p.host_ip, p.host_port, p.container_port,
                         p.container_ip, p.bridge))

    def remove_ports(self, cid: str) -> None:
        self.db.execute("DELETE FROM net_ports WHERE container_id = ?", (cid,))
