"""The network package's pure parts: IPAM, port specs, /etc files, DNS messages, nft text."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from dockyard.errors import Conflict, InvalidArgument
from dockyard.network import dns, etcfiles, ipam, nft, ports


def test_pools_follow_dockerd() -> None:
    pool = ipam.parse_pool("10.5.0.0/24")
    assert str(pool.gateway) == "10.5.0.1"
    assert str(ipam.free_address(pool, [])) == "10.5.0.2"
    assert str(ipam.free_address(pool, ["10.5.0.2", "10.5.0.4"])) == "10.5.0.3"
    ranged = ipam.parse_pool("10.5.0.0/16", "10.5.0.254", "10.5.7.0/24")
    assert str(ipam.free_address(ranged, [])) == "10.5.7.1"
    for bad, message in (("nope", "invalid CIDR address: nope"),
                         ("10.0.0.300/24", "invalid CIDR address"),
                         ("10.0.0.1", "invalid CIDR address")):
        with pytest.raises(InvalidArgument, match=message):
            ipam.parse_pool(bad)
    with pytest.raises(InvalidArgument, match=r"no matching subnet for gateway 10\.6\.0\.1"):
        ipam.parse_pool("10.5.0.0/24", "10.6.0.1")
    with pytest.raises(Conflict):
        ipam.free_address(ipam.parse_pool("10.5.0.0/30"), ["10.5.0.2"])
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.check_requested(pool, "10.5.0.9", ["10.5.0.9"])
    assert ipam.mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    taken = [ipaddress.IPv4Network("172.17.0.0/16"), ipaddress.IPv4Network("172.18.5.0/24")]
    assert str(ipam.auto_subnet(taken)) == "172.19.0.0/16"


def test_publish_specs() -> None:
    P = ports.PortRequest
    assert ports.parse_publish("8080:80") == [P("tcp", 80, "", 8080, 8080)]
    assert ports.parse_publish("127.0.0.1:8080:80") == [P("tcp", 80, "127.0.0.1", 8080, 8080)]
    assert ports.parse_publish("80") == [P("tcp", 80)]
    assert ports.parse_publish("127.0.0.1::80") == [P("tcp", 80, "127.0.0.1")]
    assert ports.parse_publish("5353:53/udp") == [P("udp", 53, "", 5353, 5353)]
    assert [r.host_lo for r in ports.parse_publish("8000-8002:9000-9002")] == [8000, 8001, 8002]
    assert ports.parse_publish("8000-8010:80") == [P("tcp", 80, "", 8000, 8010)]
    for bad, message in (("abc", "invalid containerPort: abc"),
                         ("x:80", "invalid hostPort: x"), ("80/xyz", "invalid proto: xyz"),
                         ("1-3:1-2", "invalid ranges"), ("300.1.1.1:80:80", "invalid IP")):
        with pytest.raises(InvalidArgument, match=message):
            ports.parse_publish(bad)
    exposed = ports.exposed_ports({"ExposedPorts": {"80/tcp": {}}}, ["53/udp", "8000-8001"])
    assert exposed == ["80/tcp", "53/udp", "8000/tcp", "8001/tcp"]
    assert [r.key for r in ports.publish_all(exposed, ports.parse_publish("8080:80"))] == \
        ["53/udp", "8000/tcp", "8001/tcp"]


def test_etc_files() -> None:
    text = etcfiles.hosts([("db", "10.0.0.9")], [("172.17.0.2", "abc")])
    assert text.startswith("127.0.0.1\tlocalhost\n")
    assert text.endswith("10.0.0.9\tdb\n172.17.0.2\tabc\n")
    host = "nameserver 127.0.0.53\nsearch example.org\noptions edns0\n"
    assert etcfiles.resolv_conf(host, embedded=False) == (
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch example.org\noptions edns0\n")
    assert etcfiles.resolv_conf(host, embedded=True, dns_search=["a.b"]) == (
        "nameserver 127.0.0.11\nsearch a.b\noptions ndots:0 edns0\n")
    assert etcfiles.resolv_conf(host, embedded=False, dns=["1.2.3.4"]).startswith(
        "nameserver 1.2.3.4\n")
    assert etcfiles.upstream_servers(host, []) == ["127.0.0.53"]
    assert etcfiles.parse_add_host("h:1.2.3.4") == ("h", "1.2.3.4")
    with pytest.raises(InvalidArgument):
        etcfiles.parse_add_host("nocolon")


def _query(name: str, qtype: int = 1) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def test_dns_messages() -> None:
    q = dns.parse_question(_query("Web.Net1"))
    assert q is not None and q.name == "web.net1" and q.qtype == 1 and q.ident == 0x1234
    reply = dns.answer(q, ["10.1.2.3"])
    ident, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (ident, flags & 0x8000, flags & 0xF, qd, an) == (0x1234, 0x8000, 0, 1, 1)
    assert reply.endswith(bytes([10, 1, 2, 3]))
    assert dns.answer(q, [], dns.RCODE_NXDOMAIN)[3] & 0xF == 3
    assert dns.parse_question(b"short") is None
    assert dns.parse_question(dns.answer(q, [])) is None  # a response is not a query


def test_nft_rules() -> None:
    text = nft.render("t", [nft.Bridge("b0", "10.1.0.0/24"),
                            nft.Bridge("b1", "10.2.0.0/24", internal=True)],
                      [nft.Published("tcp", "127.0.0.1", 8080, "10.1.0.2", 80, "b0"),
                       nft.Published("udp", "", 5353, "10.1.0.2", 53, "b0")])
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80" in text
    assert "    udp dport 5353 dnat to 10.1.0.2:53" in text
    assert 'ip saddr 10.1.0.0/24 oifname != "b0" masquerade' in text
    assert 'ip saddr 10.2.0.0/24 oifname != "b1" masquerade' not in text  # internal
    assert 'iifname { "b0", "b1" } oifname { "b0", "b1" } drop' in text
