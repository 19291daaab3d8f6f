"""Networks as the engine sees them: ``network create/ls/inspect/rm/prune/connect/
disconnect``, and the hooks that give a container its network.

A container's life with a network: :meth:`Networks.prepare` (at create) checks its flags,
records them and writes its ``/etc/hosts``, ``resolv.conf`` and ``hostname`` in its bundle;
:func:`dockyard.engine.network_attach.attach` (after the runtime's create, before start)
wires its namespace and publishes its ports; the handle it returns undoes that when the
container stops; :meth:`Networks.release` (at rm) forgets it.
"""

from __future__ import annotations

import json
import os

from dockyard.engine.containers import rfc3339_ns
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.network.config import NetConfig
from dockyard.network.store import NetworkRecord, NetworkStore
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import builtins
    from collections.abc import Mapping
    from typing import Any

    from dockyard.engine.containers import ContainerRecord, ContainerStore
    from dockyard.engine.network_options import NetOptions

__all__ = ["Networks", "Prepared"]

BRIDGE_NAME_OPT = "com.docker.network.bridge.name"
PREDEFINED = ("bridge", "host", "none")


@record
class Prepared:
    """What ``create`` needs for the spec: the namespace mode (``container:`` + a path when
    joining another container's), the per-container files, the hostname."""

    mode: str
    etc_files: dict[str, str]
    hostname: str | None


class Networks:
    def __init__(self, root: str) -> None:
        self.root = root
        self.cfg = NetConfig.load(root)
        self.store = NetworkStore(root)

    def close(self) -> None:
        self.store.close()

    # --- the networks ------------------------------------------------------------------
    def _ensure_predefined(self) -> None:
        import ipaddress  # not at module level: a --network none run has no use for it

        have = {n.name: n for n in self.store.networks() if n.predefined}
        pool = self.cfg.bridge_subnet
        want = {
            "bridge": NetworkRecord(os.urandom(32).hex(), "bridge", "bridge", pool,
                                    str(ipaddress.IPv4Network(pool, strict=False)
                                        .network_address + 1),
                                    "", self.cfg.bridge, options={
                                        "com.docker.network.bridge.default_bridge": "true",
                                        "com.docker.network.bridge.enable_icc": "true",
                                        "com.docker.network.bridge.enable_ip_masquerade": "true",
                                        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                                        BRIDGE_NAME_OPT: self.cfg.bridge,
                                        "com.docker.network.driver.mtu": "1500"}),
            "host": NetworkRecord(os.urandom(32).hex(), "host", "host"),
            "none": NetworkRecord(os.urandom(32).hex(), "none", "null"),
        }
        missing = [n for n in PREDEFINED if n not in have]
        stale = "bridge" in have and (have["bridge"].subnet != pool
                                      or have["bridge"].bridge != self.cfg.bridge)
        if not missing and not stale:
            return
        with self.store.tx() as db:
            now = rfc3339_ns()
            current = {n.name for n in self.store.networks()}
            for name in PREDEFINED:
                if name not in current:
                    rec = want[name]
                    rec.created = now
                    self.store.insert(rec)
            if stale:
                w = want["bridge"]
                db.execute("UPDATE networks SET subnet = ?, gateway = ?, bridge = ?, "
                           "options = ? WHERE name = 'bridge'",
                           (w.subnet, w.gateway, w.bridge, json.dumps(w.options)))

    def list(self) -> list[NetworkRecord]:
        self._ensure_predefined()
        return self.store.networks()

    def get(self, ref: str) -> NetworkRecord:
        self._ensure_predefined()
        found = self.store.find(ref)
        if found is None:
            raise NotFound(f"network {ref} not found")
        return found

    def create(self, name: str, *, driver: str = "bridge", subnet: str = "", gateway: str = "",
               ip_range: str = "", internal: bool = False,
               labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None) -> NetworkRecord:
        from dockyard.network import ipam, links

        if driver != "bridge":
            raise NotFound(f"plugin \"{driver}\" not found")
        if not name or not all(c.isalnum() or c in "_.-" for c in name):
            raise InvalidArgument(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-]"
                                  " are allowed")
        if (gateway or ip_range) and not subnet:
            raise InvalidArgument("ip-range or gateway is set without a subnet")
        self._ensure_predefined()
        opts = dict(options or {})
        nid = os.urandom(32).hex()
        bridge = opts.get(BRIDGE_NAME_OPT) or f"br-{nid[:12]}"
        if len(bridge) > 15:
            raise InvalidArgument(f"bridge name {bridge} is longer than 15 characters")
        with self.store.tx():
            same = self.store.find(name)
            if same is not None and same.name == name:
                raise Conflict(f"network with name {name} already exists")
            import ipaddress

            others = [ipaddress.IPv4Network(n.subnet) for n in self.store.networks()
                      if n.subnet]
            if subnet:
                pool = ipam.parse_pool(subnet, gateway, ip_range)
                if ipam.overlaps(pool.subnet, others):
                    raise Conflict("Pool overlaps with other one on this address space")
            else:
                auto = ipam.auto_subnet([*others, *links.routes_in_use()])
                pool = ipam.parse_pool(str(auto))
            if any(n.bridge == bridge for n in self.store.networks()) or \
                    links.bridge_exists(bridge):  # never take over (and later delete) a link
                raise Conflict(f"bridge name {bridge} is used by another network interface")
            rec = NetworkRecord(nid, name, "bridge", str(pool.subnet), str(pool.gateway),
                                str(pool.ip_range or ""), bridge, internal,
                                dict(labels or {}), opts, rfc3339_ns())
            self.store.insert(rec)
            try:
                links.ensure_bridge(bridge, rec.gateway, pool.subnet.prefixlen)
                self.sync_nft()
            except BaseException:
                links.delete_link(bridge)
                raise
        _net_event(self.root, "create", rec)
        return rec

    def remove(self, ref: str) -> NetworkRecord:
        from dockyard.network import links

        rec = self.get(ref)
        if rec.predefined:
            raise Conflict(f"{rec.name} is a pre-defined network and cannot be removed")
        with self.store.tx():
            if self.store.endpoints(nid=rec.id):
                raise Conflict(f"error while removing network: network {rec.name} id {rec.id} "
                               "has active endpoints")
            self.store.delete_network(rec.id)
            links.delete_link(rec.bridge)
            self.sync_nft()
        _net_event(self.root, "destroy", rec)
        return rec

    def prune(self) -> builtins.list[str]:
        out = []
        for n in self.list():
            if n.predefined or self.store.endpoints(nid=n.id):
                continue
            try:
                self.remove(n.id)
                out.append(n.name)
            except (Conflict, NotFound):
                continue
        return out

    def sync_nft(self) -> None:
        """Render the nftables table from the records (call inside a ``tx``)."""
        from dockyard.network import links, nft

        bridges = []
        for n in self.store.networks():
            if n.driver != "bridge":
                continue
            if n.name == "bridge" and not self.store.endpoints(nid=n.id):
                continue
            if n.name == "bridge" and not links.bridge_exists(n.bridge):
                continue
            bridges.append(nft.Bridge(n.bridge, n.subnet, n.internal))
        ports = [nft.Published(p.proto, p.host_ip, p.host_port, p.container_ip,
                               p.container_port, p.bridge) for p in self.store.ports()]
        nft.apply(self.cfg.nft_table, bridges, ports)

    # --- containers -----------------------------------------------------------------------
    def prepare(self, record: ContainerRecord, net: NetOptions,
                image_config: Mapping[str, Any], containers: ContainerStore,
                hostname: str | None, files_dir: str) -> Prepared:
        """Check a new container's network flags, record them, write its /etc files
        (``hosts``, ``resolv.conf``, ``hostname``) in ``files_dir``."""
        from dockyard.network import etcfiles, ports

        mode = net.mode or "bridge"
        if mode == "default":
            mode = "bridge"
        publish = [r for spec in net.publish for r in ports.parse_publish(spec)]
        exposed = ports.exposed_ports(image_config, net.expose)
        if net.publish_all:
            publish += ports.publish_all(exposed, publish)
        for h in net.add_hosts:
            etcfiles.parse_add_host(h)
        if net.mac:
            _check_mac(net.mac)
        files = {n: os.path.join(files_dir, n) for n in ("resolv.conf", "hostname", "hosts")}
        host_resolv = _read("/etc/resolv.conf")
        if mode.startswith("container:"):
            other = containers.get(mode.partition(":")[2])
            if not other.status.is_active or not other.pid:
                raise Conflict(f"cannot join network of a non running container: {other.id}")
            if publish or net.ip or net.aliases:
                raise InvalidArgument("conflicting options: port publishing and the container "
                                      "type network mode")
            their_dir = (self.store.options(other.id) or {}).get("files_dir", "")
            theirs = {n: os.path.join(their_dir, n) for n in files}
            self.store.set_options(record.id, {"mode": mode, "joined": other.id,
                                               "files_dir": files_dir})
            return Prepared(f"container:/proc/{other.pid}/ns/net",
                            {k: v for k, v in theirs.items() if os.path.exists(v)}, None)
        if mode == "host":  # published ports are discarded in host mode, as Docker does
            hostname = hostname or os.uname().nodename
            _write(files["hosts"], _read("/etc/hosts"))
            _write(files["resolv.conf"], host_resolv)
            _write(files["hostname"], hostname + "\n")
            self.store.set_options(record.id, {"mode": "host", "files_dir": files_dir})
            return Prepared("host", files, hostname)
        hostname = hostname or record.id[:12]
        if mode == "none":
            if publish:
                raise InvalidArgument("conflicting options: port publishing and the none "
                                      "network mode")
            _write(files["hosts"], etcfiles.hosts([], []))
            _write(files["resolv.conf"], etcfiles.resolv_conf(host_resolv, embedded=False))
            _write(files["hostname"], hostname + "\n")
            self.store.set_options(record.id, {"mode": "none", "files_dir": files_dir})
            return Prepared("none", files, hostname)
        network = self.get(mode)
        if network.driver != "bridge":
            raise InvalidArgument(f"network {mode} is not a bridge network")
        user_net = network.name != "bridge"
        if not user_net and (net.ip or net.aliases):
            raise InvalidArgument("user specified IP address is supported on user defined "
                                  "networks only" if net.ip else
                                  "network-scoped alias is supported only for containers in "
                                  "user defined networks")
        options = {
            "mode": network.name, "hostname": hostname, "mac": net.mac, "dns": net.dns,
            "dns_search": net.dns_search, "dns_options": net.dns_options,
            "add_hosts": [list(etcfiles.parse_add_host(h)) for h in net.add_hosts],
            "publish": [[r.proto, r.container_port, r.host_ip, r.host_lo, r.host_hi]
                        for r in publish],
            "exposed": exposed, "name": record.name, "files_dir": files_dir,
        }
        with self.store.tx():
            self.store.set_options(record.id, options)
            self.store.attach(record.id, network.id, list(net.aliases), net.ip)
        _write(files["hosts"], etcfiles.hosts(
            [tuple(h) for h in options["add_hosts"]], []))  # type: ignore[misc]
        _write(files["resolv.conf"], etcfiles.resolv_conf(
            host_resolv, embedded=user_net, dns=net.dns, dns_search=net.dns_search,
            dns_options=net.dns_options))
        _write(files["hostname"], hostname + "\n")
        return Prepared(network.name, files, hostname)

    def release(self, cid: str) -> None:
        """Forget a removed container: its veths, addresses, ports and records."""
        with self.store.tx():
            had = self.store.endpoints(cid=cid) or self.store.ports(cid)
            for e in self.store.endpoints(cid=cid):
                from dockyard.network import links  # pyroute2 (~0.1 s): only if needed

                links.delete_link(e.veth)
            self.store.forget_container(cid)
            if had:
                self.drop_idle_default_bridge()
                self.sync_nft()

    def drop_idle_default_bridge(self) -> None:
        """The default bridge exists while a container uses it (call inside a ``tx``)."""
        from dockyard.network import links

        default = self.store.find("bridge")
        if default is not None and not self.store.endpoints(nid=default.id):
            links.delete_link(default.bridge)

    # --- connect and disconnect ---------------------------------------------------------------
    def connect(self, ref: str, container: ContainerRecord, aliases: builtins.list[str],
                ip: str) -> None:
        from dockyard.engine.network_attach import connect_running

        network = self.get(ref)
        opts = self.store.options(container.id)
        if opts is None or opts.get("mode") in ("host", "none") or \
                str(opts.get("mode", "")).startswith("container:"):
            raise Conflict("container sharing network namespace with another container or "
                           "host cannot be connected to any other network")
        if network.driver != "bridge":
            raise Conflict("container cannot be disconnected from host network or connected "
                           "to host network")
        if network.name == "bridge" and (ip or aliases):
            raise InvalidArgument("network-scoped alias is supported only for containers in "
                                  "user defined networks")
        with self.store.tx():
            if any(nid == network.id for nid, _, _ in self.store.attachments(container.id)):
                raise Conflict(f"endpoint with name {container.name} already exists in "
                               f"network {network.name}")
            self.store.attach(container.id, network.id, aliases, ip)
        if container.status.is_active and container.pid:
            try:
                connect_running(self, container, network)
            except BaseException:
                with self.store.tx():
                    self.store.detach(container.id, network.id)
                raise
        if network.name != "bridge":
            self._use_embedded_dns(container, opts)
        _net_event(self.root, "connect", network, container=container.id)

    def _use_embedded_dns(self, container: ContainerRecord, opts: dict[str, Any]) -> None:
        """On a user-defined network a container resolves names through the embedded DNS,
        as Docker's do, also one that was created on the default bridge: its resolv.conf
        (bind-mounted, rewritten in place) names 127.0.0.11, and a running one gets a
        server there if it has none."""
        from dockyard.engine.network_attach import serve_dns_until_exit
        from dockyard.network import etcfiles

        files_dir = str(opts.get("files_dir") or "")
        if files_dir:
            _write(os.path.join(files_dir, "resolv.conf"), etcfiles.resolv_conf(
                _read("/etc/resolv.conf"), embedded=True, dns=opts.get("dns") or [],
                dns_search=opts.get("dns_search") or [],
                dns_options=opts.get("dns_options") or []))
        if container.status.is_active and container.pid:
            serve_dns_until_exit(self.root, container, opts)

    def disconnect(self, ref: str, container: ContainerRecord) -> None:
        from dockyard.network import links

        network = self.get(ref)
        with self.store.tx():
            if not any(nid == network.id for nid, _, _ in self.store.attachments(container.id)):
                raise Conflict(f"container {container.id} is not connected to network "
                               f"{network.name}")
            for e in self.store.endpoints(cid=container.id, nid=network.id):
                links.delete_link(e.veth)
                self.store.remove_endpoint(container.id, network.id)
            self.store.detach(container.id, network.id)
            self.drop_idle_default_bridge()
            self.sync_nft()
        _net_event(self.root, "disconnect", network, container=container.id)

    # --- views ------------------------------------------------------------------------------------
    def containers_of(self, network: NetworkRecord,
                      containers: ContainerStore) -> dict[str, dict[str, str]]:
        import ipaddress

        out: dict[str, dict[str, str]] = {}
        for e in self.store.endpoints(nid=network.id):
            try:
                name = containers.get(e.container_id).name
            except NotFound:
                continue
            prefix = ipaddress.IPv4Network(network.subnet).prefixlen
            out[e.container_id] = {"Name": name, "EndpointID": e.endpoint_id,
                                   "MacAddress": e.mac, "IPv4Address": f"{e.ip}/{prefix}",
                                   "IPv6Address": ""}
        return out

    def settings(self, cid: str) -> dict[str, Any]:
        """``NetworkSettings`` of ``docker inspect``: Networks and Ports."""
        from dockyard.engine.network_views import network_settings

        return network_settings(self, cid)


def _net_event(root: str, action: str, rec: NetworkRecord, **extra: str) -> None:
    from dockyard.engine import events

    events.record(root, "network", action, rec.id,
                  {**extra, "name": rec.name, "type": rec.driver})


def _check_mac(mac: str) -> None:
    parts = mac.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                  for p in parts):
        raise InvalidArgument(f"{mac} is not a valid mac address")


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    """Rewritten in place: the container may have it bind-mounted already."""
    with open(path, "w") as f:
        f.write(text)
