"""Wiring a started container's network namespace, and undoing it when it stops.

:func:`attach` runs between the runtime's create and start, when the container's init
exists in its new namespace (``/proc/PID/ns/net``): ``lo`` up; for each network it is
connected to, an address from the database, a veth pair (host end on the network's
bridge, the other end ``ethN`` inside); its published ports (DNAT rules in dockyard's
nftables table); its ``/etc/hosts``; the embedded DNS server on user-defined networks.
The :class:`Attached` handle it returns takes all of that down again.
"""

from __future__ import annotations

import os

from dockyard.errors import Conflict, DockyardError, NotFound
from dockyard.network.store import Endpoint, PortRow

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.network import Networks
    from dockyard.network.dns import DnsServer
    from dockyard.network.store import NetworkRecord

__all__ = ["Attached", "attach", "connect_running", "veth_name"]

#: Docker's range for random host ports (``portallocator``).
EPHEMERAL = (49153, 60999)


class Attached:
    """What :func:`attach` made for one running container; :meth:`close` removes it."""

    def __init__(self, root: str, cid: str) -> None:
        self.root = root
        self.cid = cid
        self.dns: DnsServer | None = None

    def close(self) -> None:
        from dockyard.engine.network import Networks

        if self.dns is not None:
            self.dns.close()
            self.dns = None
        nets = Networks(self.root)
        gone: list[str] = []
        try:
            with nets.store.tx():
                had = bool(nets.store.endpoints(cid=self.cid) or nets.store.ports(self.cid))
                for e in nets.store.endpoints(cid=self.cid):
                    from dockyard.network import links  # pyroute2: only when there are links

                    gone.append(e.network_id)
                    links.delete_link(e.veth)
                    nets.store.remove_endpoint(self.cid, e.network_id)
                nets.store.remove_ports(self.cid)
                if had:
                    nets.drop_idle_default_bridge()
                    nets.sync_nft()
            from dockyard.engine.network import _net_event

            for nid in gone:  # outside the transaction: the event log waits for none
                try:
                    _net_event(self.root, "disconnect", nets.get(nid), container=self.cid)
                except DockyardError:
                    pass
        finally:
            nets.close()


def veth_name(root: str, cid: str, n: int) -> str:
    """The host end of container ``cid``'s ``n``-th veth: ``dy``, 4 hex digits of the
    root (so one root's leftovers can be told from another's), 7 of the id, ``n``."""
    import hashlib

    return f"dy{hashlib.sha1(root.encode()).hexdigest()[:4]}{cid[:7]}{n:x}"


def _add_endpoint(nets: Networks, cid: str, network: NetworkRecord, aliases_ip: str,
                  mac: str, ns_path: str, ifname: str, default_route: bool) -> Endpoint:
    """Allocate an address on ``network`` and wire a veth for it; nothing left on failure."""
    from dockyard.network import ipam, links

    pool = ipam.parse_pool(network.subnet, network.gateway, network.ip_range)
    with nets.store.tx():
        used = [e.ip for e in nets.store.endpoints(nid=network.id)]
        addr = ipam.check_requested(pool, aliases_ip, used) if aliases_ip \
            else ipam.free_address(pool, used)
        n = len(nets.store.endpoints(cid=cid))
        veth = veth_name(nets.root, cid, n)
        ep = Endpoint(cid, network.id, os.urandom(32).hex(), str(addr),
                      mac or ipam.mac_for(addr), veth, ifname)
        nets.store.add_endpoint(ep)
        # the default bridge lives while it has containers; a user network's bridge is made
        # again here if the host lost it (a reboot)
        made = links.ensure_bridge(network.bridge, network.gateway, pool.subnet.prefixlen)
        if made or network.name == "bridge":
            nets.sync_nft()
    try:
        links.add_veth(veth, network.bridge, ns_path, ifname=ifname, address=ep.ip,
                       prefixlen=pool.subnet.prefixlen, gateway=network.gateway, mac=ep.mac,
                       default_route=default_route)
    except BaseException:
        with nets.store.tx():
            nets.store.remove_endpoint(cid, network.id)
            nets.drop_idle_default_bridge()
            nets.sync_nft()
        raise
    return ep


def attach(root: str, record: ContainerRecord, pid: int) -> Attached:
    """Give container ``record`` (its init is ``pid``) its network; see the module doc."""
    from dockyard.engine.network import Networks

    handle = Attached(root, record.id)
    handle.close()  # what a run whose monitor was killed (or a host restart) left
    nets = Networks(root)
    ns_path = f"/proc/{pid}/ns/net"
    try:
        opts = nets.store.options(record.id)
        if opts is None or opts["mode"] == "host" or opts["mode"].startswith("container:"):
            return handle
        if opts["mode"] == "none":
            # not through pyroute2: the monitor would keep its ~14 MiB while the container runs
            from dockyard.linux.netdev import link_up_in

            link_up_in(ns_path, "lo")
            return handle
        try:
            endpoints: list[tuple[Endpoint, NetworkRecord, list[str]]] = []
            for i, (nid, aliases, ip) in enumerate(nets.store.attachments(record.id)):
                network = nets.get(nid)
                ep = _add_endpoint(nets, record.id, network, ip,
                                   opts.get("mac", "") if i == 0 else "", ns_path, f"eth{i}",
                                   i == 0 and not network.internal)
                endpoints.append((ep, network, aliases))
            from dockyard.engine.network import _net_event

            for _, network, _ in endpoints:
                _net_event(root, "connect", network, container=record.id)
            if endpoints:
                _publish(nets, record, opts, endpoints[0][0], endpoints[0][1])
            _write_hosts(record, opts, [e for e, _, _ in endpoints])
            if any(n.name != "bridge" for _, n, _ in endpoints):
                handle.dns = _start_dns(root, record.id, ns_path, opts)
        except BaseException:
            handle.close()
            raise
        return handle
    finally:
        nets.close()


def connect_running(nets: Networks, container: ContainerRecord,
                    network: NetworkRecord) -> None:
    """``network connect`` of a running container: one more interface, now."""
    from dockyard.network import links

    ns_path = f"/proc/{container.pid}/ns/net"
    ip = next((ip for nid, _, ip in nets.store.attachments(container.id)
               if nid == network.id), "")
    ifname = links.next_ifname(ns_path)
    _add_endpoint(nets, container.id, network, ip, "", ns_path, ifname, False)


def _write_hosts(record: ContainerRecord, opts: dict[str, Any], eps: list[Endpoint]) -> None:
    import os

    from dockyard.network import etcfiles

    path = os.path.join(opts.get("files_dir") or record.bundle_dir, "hosts")
    own = [(e.ip, opts.get("hostname") or record.id[:12]) for e in eps[:1]]
    with open(path, "w") as f:
        f.write(etcfiles.hosts([(h[0], h[1]) for h in opts.get("add_hosts", [])], own))


# --- published ports ------------------------------------------------------------------------

def _host_free(proto: str, ip: str, port: int) -> bool:
    import socket  # here: ~3 ms of imports a container without ports never needs

    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip or "0.0.0.0", port))
        except OSError:
            return False
    return True


def _clash(rows: list[PortRow], proto: str, ip: str, port: int) -> bool:
    for r in rows:
        if r.proto == proto and r.host_port == port and (
                r.host_ip in ("", "0.0.0.0") or ip in ("", "0.0.0.0") or r.host_ip == ip):
            return True
    return False


def _publish(nets: Networks, record: ContainerRecord, opts: dict[str, Any], ep: Endpoint,
             network: NetworkRecord) -> None:
    """Reserve each requested host port and add its DNAT rule, all or none."""
    requests = opts.get("publish") or []
    if not requests:
        return
    name = opts.get("name") or record.name
    with nets.store.tx():
        rows = nets.store.ports()
        mine: list[PortRow] = []
        for proto, cport, hip, lo, hi in requests:
            shown = f"{hip or '0.0.0.0'}"
            if lo:
                candidates = list(range(lo, hi + 1))
            else:
                import random

                start = random.randint(*EPHEMERAL)
                candidates = [EPHEMERAL[0] + (start - EPHEMERAL[0] + k)
                              % (EPHEMERAL[1] - EPHEMERAL[0] + 1) for k in range(200)]
            chosen = 0
            failure = ""
            for port in candidates:
                if _clash(rows + mine, proto, hip, port):
                    failure = f"Bind for {shown}:{port} failed: port is already allocated"
                    continue
                if not _host_free(proto, hip, port):
                    failure = (f"Error starting userland proxy: listen {proto}4 {shown}:{port}: "
                               "bind: address already in use")
                    continue
                chosen = port
                break
            if not chosen:
                raise Conflict(f"driver failed programming external connectivity on endpoint "
                               f"{name} ({ep.endpoint_id}): {failure}")
            row = PortRow(record.id, proto, hip, chosen, cport, ep.ip, network.bridge)
            mine.append(row)
        for row in mine:
            nets.store.add_port(row)
        nets.sync_nft()


# --- DNS ----------------------------------------------------------------------------------------

def _start_dns(root: str, cid: str, ns_path: str, opts: dict[str, Any]) -> DnsServer:
    return _serve_dns(root, cid, _open_dns_socket(ns_path), opts)


def _open_dns_socket(ns_path: str) -> socket.socket:
    """A UDP socket bound to 127.0.0.11:53 in the network namespace at ``ns_path``."""
    import socket

    from dockyard.network import etcfiles, links

    def open_socket() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((etcfiles.EMBEDDED_DNS, 53))
        except BaseException:
            s.close()
            raise
        return s

    return links.in_netns(ns_path, open_socket)


def _serve_dns(root: str, cid: str, sock: socket.socket, opts: dict[str, Any]) -> DnsServer:
    from dockyard.network import etcfiles
    from dockyard.network.dns import DnsServer

    try:
        with open("/etc/resolv.conf") as f:
            host_resolv = f.read()
    except OSError:
        host_resolv = ""
    upstream = etcfiles.upstream_servers(host_resolv, opts.get("dns") or [])
    server = DnsServer(sock, _Resolver(root, cid), upstream)
    server.start()
    return server


def serve_dns_until_exit(root: str, container: ContainerRecord, opts: dict[str, Any]) -> None:
    """``network connect`` of a running container to a user-defined network: make sure the
    embedded DNS answers in it. A container that started on one is served by whoever holds
    it (127.0.0.11:53 is taken: nothing to do); one that started on the default bridge gets
    a detached keeper process that serves it until the container's init exits (a restart
    by its monitor then serves it from the records)."""
    import errno
    import select

    try:
        sock = _open_dns_socket(f"/proc/{container.pid}/ns/net")
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return
        raise
    try:
        pidfd = os.pidfd_open(container.pid)
    except OSError:  # it exited meanwhile
        sock.close()
        return
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked children
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # let go of the CLI's terminal or pipes at once
                os.dup2(null, fd)
            os.setsid()
            if os.fork() == 0:
                server = _serve_dns(root, container.id, sock, opts)
                select.select([pidfd], [], [])  # readable once the init has exited
                server.close()
        finally:
            os._exit(0)
    sock.close()
    os.close(pidfd)
    os.waitpid(child, 0)


class _Resolver:
    """Names on the networks container ``cid`` is on -> their addresses (fresh from the
    database at each query: containers come and go)."""

    def __init__(self, root: str, cid: str) -> None:
        self.root = root
        self.cid = cid

    def __call__(self, name: str) -> list[str] | None:
        from dockyard.engine.containers import ContainerStore
        from dockyard.engine.network import Networks

        nets = Networks(self.root)
        containers = ContainerStore(self.root)
        try:
            return self._lookup(nets, containers, name.rstrip(".").lower())
        except DockyardError:
            return None
        finally:
            nets.close()
            containers.close()

    def _lookup(self, nets: Networks, containers: Any, name: str) -> list[str] | None:
        mine = {e.network_id for e in nets.store.endpoints(cid=self.cid)}
        found: list[str] = []
        for nid in mine:
            try:
                network = nets.get(nid)
            except NotFound:
                continue
            if network.name == "bridge":
                continue
            short, _, scope = name.rpartition(".")
            candidates = {name}
            if scope and scope == network.name.lower():
                candidates.add(short)
            aliases = {cid: [a.lower() for a in al] for cid, al in self._aliases(nets, nid)}
            for e in nets.store.endpoints(nid=nid):
                try:
                    rec = containers.get(e.container_id)
                except NotFound:
                    continue
                names = {rec.name.lower(), rec.id[:12], *aliases.get(e.container_id, [])}
                if names & candidates and e.ip not in found:
                    found.append(e.ip)
        return found or None

    @staticmethod
    def _aliases(nets: Networks, nid: str) -> list[tuple[str, list[str]]]:
        return [(cid, aliases) for cid in nets.store.attached_to(nid)
                for n, aliases, _ in nets.store.attachments(cid) if n == nid]
