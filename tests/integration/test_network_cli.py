"""Networks with real packets: the default bridge, published ports, user networks and DNS.

Every test runs on a root with its own default bridge, subnet and nftables table (the
``cli`` fixture's ``engine.json``); traffic goes only to loopback, the host's own address
and bridges the test made. Each test checks that ``ip link`` and ``nft list ruleset`` are
back to what they were once its containers and networks are gone.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.conftest import Dy

pytestmark = pytest.mark.integration

GET = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3"
SERVE = "echo hello > /tmp/index.html; httpd -f -h /tmp -p 80"


def host_address() -> str:
    """The host's own address: the source of its route to the outside (no packet sent)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        routes = ipr.route("get", dst="192.0.2.254") or []
        for r in routes:
            src = r.get("prefsrc")
            if src:
                return str(src)
    pytest.skip("no host address")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def http_get(host: str, port: int, tries: int = 30) -> str:
    last: Exception | None = None
    for _ in range(tries):
        try:
            with socket.create_connection((host, port), timeout=3) as s:
                s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            if data:
                return data.decode()
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"no answer from {host}:{port}: {last}")


def links() -> set[str]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return {str(link.get("ifname")) for link in ipr.get_links()}


def ruleset_tables() -> str:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
    return out.stdout


class Baseline:
    """The host's links and nft tables before a test, and what the test made."""

    def __init__(self, root: Path) -> None:
        import hashlib

        self.links = links()
        self.tables = ruleset_tables()
        self.veth_prefix = "dy" + hashlib.sha1(str(root).encode()).hexdigest()[:4]
        self.bridges: list[str] = [config(root)["bridge"]]
        self.table = config(root)["nft_table"]


@pytest.fixture
def baseline(cli: Dy, root: Path) -> Iterator[Baseline]:
    """The host's links and nft tables before the test (after ``cli`` made its config)."""
    yield Baseline(root)


def mknet(cli: Dy, base: Baseline, *args: str) -> str:
    """``network create ARGS`` that must work; its id (its bridge is checked at the end)."""
    nid = cli("network", "create", *args, check=True).stdout.strip()
    base.bridges.append(f"br-{nid[:12]}")
    return nid


def assert_back_to(base: Baseline) -> None:
    """No link this test's root made is left (its default bridge, its networks' bridges,
    its veths), nor its nftables table. (Runs beside this one add and remove links and
    tables of their own meanwhile: only this root's are checked.)"""
    now = links()
    assert not [n for n in now if n.startswith(base.veth_prefix)]
    assert not set(base.bridges) & now
    assert f" {base.table}\n" not in ruleset_tables()


def config(root: Path) -> dict[str, str]:
    import json

    data: dict[str, str] = json.loads((root / "engine.json").read_text())
    return data


def pid_of(root: Path, name: str) -> int:
    from dockyard.engine.containers import ContainerStore

    with ContainerStore(str(root)) as store:
        return store.get(name).pid


def test_published_ports_on_the_default_bridge(cli: Dy, busybox: str, root: Path,
                                               baseline: Baseline) -> None:
    cfg = config(root)
    p1, p2 = free_port(), free_port()
    r = cli("run", "-d", "--name", "web", "-p", f"{p1}:80", "-p", f"127.0.0.1:{p2}:80",
            "-p", "80", "busybox", "sh", "-c", SERVE, check=True)
    assert len(r.stdout.strip()) == 64
    host = host_address()
    assert http_get("127.0.0.1", p1).endswith("hello\n")
    assert http_get(host, p1).endswith("hello\n")
    assert http_get("127.0.0.1", p2).endswith("hello\n")
    ports = cli("port", "web", check=True).stdout.splitlines()
    assert f"80/tcp -> 0.0.0.0:{p1}" in ports and f"80/tcp -> 127.0.0.1:{p2}" in ports
    rnd = [int(x.rpartition(":")[2]) for x in ports
           if x.rpartition(":")[2] not in (str(p1), str(p2))]
    assert len(rnd) == 1 and 49153 <= rnd[0] <= 60999
    assert http_get("127.0.0.1", rnd[0]).endswith("hello\n")
    with pytest.raises(AssertionError):  # bound to 127.0.0.1 only
        http_get(host, p2, tries=1)
    # hairpin: another container reaches the published port at the host's address
    r = cli("run", "--rm", "busybox", "sh", "-c", f"{GET} {host} {p1}")
    assert r.stdout.endswith("hello\n"), r.stderr
    # the container's view: its address on the bridge, the generated /etc files
    r = cli("run", "--rm", "-h", "box1", "--add-host", "db.local:10.9.9.9", "busybox", "sh",
            "-c", "ip -4 addr show eth0; ip route; cat /etc/hosts /etc/hostname")
    prefix = cfg["bridge_subnet"].rsplit(".", 1)[0]
    assert f"inet {prefix}." in r.stdout and f"default via {prefix}.1" in r.stdout
    assert "10.9.9.9\tdb.local" in r.stdout and "\tbox1\n" in r.stdout
    assert cfg["bridge"] in links()
    assert cli("port", "web", "81").returncode == 1
    row = cli("ps", "--format", "{{.Ports}}|{{.Networks}}", check=True).stdout
    assert f"0.0.0.0:{p1}->80/tcp" in row and f"127.0.0.1:{p2}->80/tcp" in row
    assert row.strip().endswith("|bridge")
    import json

    settings = json.loads(cli("inspect", "web", check=True).stdout)[0]["NetworkSettings"]
    assert {"HostIp": "0.0.0.0", "HostPort": str(p1)} in settings["Ports"]["80/tcp"]
    bridge = settings["Networks"]["bridge"]
    assert bridge["IPAddress"].startswith(prefix + ".") and bridge["Gateway"] == prefix + ".1"
    assert bridge["MacAddress"].startswith("02:42:") and settings["IPAddress"]
    cli("rm", "-f", "web", check=True)
    assert cfg["bridge"] not in links()
    assert cfg["nft_table"] not in ruleset_tables()
    assert_back_to(baseline)


def test_a_port_in_use_is_refused_and_freed_at_stop(cli: Dy, busybox: str, root: Path,
                                                    baseline: Baseline) -> None:
    cfg = config(root)
    port = free_port()
    cli("run", "-d", "--name", "first", "-p", f"{port}:80", "busybox", "sleep", "100",
        check=True)
    r = cli("run", "-d", "--name", "second", "-p", f"{port}:80", "busybox", "sleep", "100")
    assert r.returncode == 125
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in r.stderr
    rules = subprocess.run(["nft", "list", "table", "ip", cfg["nft_table"]],
                           capture_output=True, text=True).stdout
    assert rules.count(f"dport {port} ") == 1
    with socket.socket() as s:  # a port a host process listens on
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        r = cli("run", "-d", "-p", f"127.0.0.1:{busy}:80", "busybox", "sleep", "100")
        assert r.returncode == 125 and "address already in use" in r.stderr
    cli("rm", "-f", "first", check=True)  # its port is free again
    cli("rm", "-f", "second", check=True)
    cli("run", "-d", "--name", "third", "-p", f"{port}:80", "busybox", "sleep", "1",
        check=True)
    time.sleep(2)  # it exits: its port is freed, and with it the last rule
    assert cfg["nft_table"] not in ruleset_tables()
    assert cli("port", "third").stdout == ""
    cli("rm", "-f", "third", check=True)
    assert_back_to(baseline)


def test_udp_publishing(cli: Dy, busybox: str, root: Path,
                        baseline: Baseline) -> None:
    port = free_port(socket.SOCK_DGRAM)
    cli("run", "-d", "--name", "udp", "-p", f"{port}:5353/udp", "busybox", "sleep", "100",
        check=True)
    pid = pid_of(root, "udp")
    echo = ("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind(('0.0.0.0',5353))\nd,a=s.recvfrom(100)\ns.sendto(b'echo:'+d,a)\n")
    server = subprocess.Popen(["nsenter", "-t", str(pid), "-n", "python3", "-c", echo])
    try:
        got = b""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            for _ in range(20):
                s.sendto(b"ping", (host_address(), port))
                try:
                    got = s.recv(100)
                    break
                except TimeoutError:
                    continue
        assert got == b"echo:ping"
        assert cli("port", "udp", "5353/udp", check=True).stdout == f"0.0.0.0:{port}\n"
    finally:
        server.kill()
        server.wait()
    cli("rm", "-f", "udp", check=True)
    assert_back_to(baseline)


def test_user_networks_names_aliases_and_isolation(cli: Dy, busybox: str, root: Path,
                                                   baseline: Baseline) -> None:
    tag = f"{os.getpid()}"
    a, b = f"neta{tag}", f"netb{tag}"
    nid = mknet(cli, baseline, a)
    mknet(cli, baseline, "--internal", b)
    assert len(nid) == 64
    ls = cli("network", "ls", check=True).stdout
    assert ls.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert {"bridge", "host", "none", a, b} <= {ln.split()[1] for ln in ls.splitlines()[1:]}
    cli("run", "-d", "--name", "server", "--network", a, "--network-alias", "db",
        "busybox", "sh", "-c", SERVE, check=True)
    cli("run", "-d", "--name", "other", "--network", b, "busybox", "sh", "-c", SERVE,
        check=True)
    r = cli("run", "--rm", "--network", a, "busybox", "sh", "-c",
            f"cat /etc/resolv.conf; nslookup server; nslookup db; ping -c 1 -W 3 server;"
            f" {GET} db 80; {GET} server.{a} 80")
    assert "nameserver 127.0.0.11" in r.stdout
    assert r.stdout.count("hello") == 2 and "1 packets received" in r.stdout, r.stdout
    inspect = cli("network", "inspect", a, check=True).stdout
    import json

    data = json.loads(inspect)[0]
    assert data["Name"] == a and data["Driver"] == "bridge"
    (ctr,) = data["Containers"].values()
    assert ctr["Name"] == "server" and ctr["MacAddress"].startswith("02:42:")
    other_ip = json.loads(cli("network", "inspect", b).stdout)[0]["Containers"]
    (other,) = other_ip.values()
    ip_b = other["IPv4Address"].split("/")[0]
    # another network cannot reach it, by name or by address
    r = cli("run", "--rm", "--network", a, "--dns", "127.0.0.1", "busybox", "sh", "-c",
            f"nslookup other; {GET} {ip_b} 80; echo done")  # (no lookup leaves the host)
    assert "hello" not in r.stdout and "done" in r.stdout
    # an internal network has no way out
    r = cli("run", "--rm", "--network", b, "busybox", "sh", "-c",
            f"ip route; {GET} {host_address()} 1; echo rc=$?")
    assert "default" not in r.stdout
    r = cli("network", "rm", a)
    assert r.returncode == 1 and "has active endpoints" in r.stderr
    # connect and disconnect a running container
    cli("network", "connect", "--alias", "again", a, "other", check=True)
    r = cli("run", "--rm", "--network", a, "busybox", "sh", "-c", f"{GET} again 80")
    assert r.stdout.endswith("hello\n"), r.stderr
    cli("network", "disconnect", a, "other", check=True)
    cli("rm", "-f", "server", "other", check=True)
    assert cli("network", "rm", a, b, check=True).stdout.split() == [a, b]
    assert cli("network", "ls", "-q", "--filter", "type=custom").stdout == ""
    assert_back_to(baseline)


def test_none_host_and_container_modes(cli: Dy, busybox: str, root: Path,
                                       baseline: Baseline) -> None:
    r = cli("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link", check=True)
    assert [ln.split(":")[1].strip() for ln in r.stdout.splitlines()] == ["lo"]
    r = cli("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link", check=True)
    names = {ln.split(":")[1].strip().split("@")[0] for ln in r.stdout.splitlines()}
    assert names <= links() | {"lo"} and len(names) > 1
    cli("run", "-d", "--name", "owner", "busybox", "sleep", "100", check=True)
    mine = cli("run", "--rm", "--network", "container:owner", "busybox", "ip", "-4", "-o",
               "addr", "show", "eth0", check=True).stdout
    pid = pid_of(root, "owner")
    theirs = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-4", "-o", "addr",
                             "show", "eth0"], capture_output=True, text=True).stdout
    assert mine.split()[3] == theirs.split()[3]
    cli("rm", "-f", "owner", check=True)
    assert_back_to(baseline)


def test_bad_input_makes_nothing(cli: Dy, busybox: str, baseline: Baseline
                                 ) -> None:
    name = f"bad{os.getpid()}"
    mknet(cli, baseline, "--subnet", "10.77.0.0/16", name)
    before = cli("network", "ls").stdout
    cases = [
        (["--subnet", "10.77.5.0/24"], "Pool overlaps with other one on this address space"),
        (["--subnet", "10.77.5.300/24"], "invalid CIDR address: 10.77.5.300/24"),
        (["--subnet", "nope"], "invalid CIDR address: nope"),
        (["--subnet", "10.78.0.0/24", "--gateway", "10.79.0.1"],
         "no matching subnet for gateway 10.79.0.1"),
    ]
    for flags, message in cases:
        r = cli("network", "create", *flags, name + "x")
        assert r.returncode == 1 and message in r.stderr, r.stderr
    r = cli("network", "create", name)
    assert r.returncode == 1 and f"network with name {name} already exists" in r.stderr
    r = cli("network", "create", "-o", "com.docker.network.bridge.name=lo", name + "lo")
    assert r.returncode == 1 and "bridge name lo is used by another" in r.stderr
    assert cli("network", "ls").stdout == before
    r = cli("network", "rm", "bridge")
    assert r.returncode == 1 and "pre-defined network" in r.stderr
    r = cli("network", "inspect", "nosuchnet")
    assert r.returncode == 1 and "No such network: nosuchnet" in r.stderr
    r = cli("run", "--rm", "--network", "nosuchnet", "busybox", "true")
    assert r.returncode == 125 and "network nosuchnet not found" in r.stderr
    r = cli("run", "--rm", "-p", "notaport", "busybox", "true")
    assert r.returncode == 125 and "invalid containerPort: notaport" in r.stderr
    assert cli("ps", "-aq").stdout == ""
    r = cli("network", "prune", "-f", check=True)
    assert r.stdout == f"Deleted Networks:\n{name}\n"
    mknet(cli, baseline, name)  # system prune takes unused networks too
    r = cli("system", "prune", "-f", check=True)
    assert f"Deleted Networks:\n{name}\n" in r.stdout
    assert_back_to(baseline)


def test_twenty_parallel_runs_get_distinct_addresses(cli: Dy, busybox: str,
                                                     baseline: Baseline) -> None:
    net = f"par{os.getpid()}"
    mknet(cli, baseline, net)

    def one(i: int) -> str:
        r = cli("run", "-d", "--name", f"p{i}", "--network", net, "busybox", "sleep", "60")
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(one, range(20)))
    import json

    data = json.loads(cli("network", "inspect", net, check=True).stdout)[0]["Containers"]
    addresses = [c["IPv4Address"] for c in data.values()]
    assert set(data) == set(ids) and len(set(addresses)) == 20
    # rm -f of 20 at once can meet the runtime's cgroup removal race ("read cgroup.procs: No
    # such device", not the network's): what is left is removed again, and must go
    for _ in range(3):
        left = cli("ps", "-aq").stdout.split()
        if not left:
            break
        cli("rm", "-f", *left)
    assert cli("ps", "-aq").stdout == ""
    cli("network", "rm", net, check=True)
    assert_back_to(baseline)


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A stand-in for the outside world: a namespace behind a veth of the host's own
    (not a bridge of dockyard's), serving TCP on port 8000 the address it sees a client
    at. Yields (its address, the host's address on that link)."""
    import random

    from dockyard.network.links import routes_in_use

    used = routes_in_use()
    while True:
        net = ipaddress.IPv4Network(f"10.{random.randrange(128, 255)}.{random.randrange(256)}.0/30")
        if not any(net.overlaps(u) for u in used):
            break
    host_ip, far_ip = str(net.network_address + 1), str(net.network_address + 2)
    tag = f"{os.getpid() % 100000}"
    ns, h, n = f"nxns{tag}", f"nxh{tag}", f"nxn{tag}"
    run = [["ip", "netns", "add", ns],
           ["ip", "link", "add", h, "type", "veth", "peer", "name", n],
           ["ip", "link", "set", n, "netns", ns],
           ["ip", "addr", "add", f"{host_ip}/30", "dev", h], ["ip", "link", "set", h, "up"],
           ["ip", "-n", ns, "addr", "add", f"{far_ip}/30", "dev", n],
           ["ip", "-n", ns, "link", "set", n, "up"], ["ip", "-n", ns, "link", "set", "lo", "up"]]
    server = None
    try:
        for cmd in run:
            subprocess.run(cmd, check=True, capture_output=True)
        code = ("import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,"
                "socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',8000))\ns.listen()\n"
                "while True:\n c,a=s.accept()\n c.sendall(('seen '+a[0]+'\\n').encode())\n"
                " c.close()\n")
        server = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", code])
        yield far_ip, host_ip
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", h], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_egress_is_masqueraded_and_internal_networks_have_none(
        cli: Dy, busybox: str, outside: tuple[str, str],
        baseline: Baseline) -> None:
    far, host_side = outside
    probe = f"for i in 1 2 3 4 5; do nc -w 3 {far} 8000 && break; sleep 0.3; done"
    r = cli("run", "--rm", "busybox", "sh", "-c", probe)
    assert r.stdout.strip() == f"seen {host_side}", (r.stdout, r.stderr)
    net = f"int{os.getpid()}"
    mknet(cli, baseline, "--internal", net)
    r = cli("run", "--rm", "--network", net, "busybox", "sh", "-c",
            f"nc -w 2 {far} 8000; echo rc=$?")
    assert "seen" not in r.stdout and "rc=1" in r.stdout
    cli("network", "rm", net, check=True)
    assert_back_to(baseline)


def test_publish_all_ranges_ip_mac_dns_and_stop_frees_ports(
        cli: Dy, busybox: str, root: Path, baseline: Baseline) -> None:
    import json

    net = f"opt{os.getpid()}"
    mknet(cli, baseline, "--subnet", "10.201.3.0/24", "--ip-range", "10.201.3.128/25", net)
    base = free_port()
    while True:  # three free ports in a row
        ok = True
        for p in range(base, base + 3):
            try:
                with socket.socket() as s:
                    s.bind(("0.0.0.0", p))
            except OSError:
                ok = False
        if ok:
            break
        base = free_port()
    cid = cli("create", "--name", "opts", "--network", net, "--ip", "10.201.3.77",
              "--mac-address", "02:42:de:ad:be:ef", "--dns", "10.201.3.1",
              "--dns-search", "corp.example", "--expose", "7000", "--expose", "7001/udp",
              "-P", "-p", f"{base}-{base + 2}:{base}-{base + 2}", "busybox", "sh", "-c",
              "ip -o link show eth0; ip -4 -o addr show eth0; cat /etc/resolv.conf;"
              " sleep 100", check=True).stdout.strip()
    assert cli("port", "opts").stdout == ""  # created, not running: nothing published
    obj = json.loads(cli("inspect", "opts", check=True).stdout)[0]
    assert obj["HostConfig"]["PortBindings"][f"{base}/tcp"] == [
        {"HostIp": "", "HostPort": str(base)}]
    assert obj["HostConfig"]["Dns"] == ["10.201.3.1"] and obj["HostConfig"]["PublishAllPorts"]
    assert {"7000/tcp", "7001/udp", f"{base}/tcp"} <= set(obj["Config"]["ExposedPorts"])
    cli("start", "opts", check=True)
    time.sleep(1)
    out = cli("logs", "opts").stdout
    assert "02:42:de:ad:be:ef" in out and "10.201.3.77/24" in out, out
    assert "nameserver 127.0.0.11" in out and "search corp.example" in out
    lines = cli("port", "opts", check=True).stdout.splitlines()
    for p in range(base, base + 3):
        assert f"{p}/tcp -> 0.0.0.0:{p}" in lines
    assert any(ln.startswith("7000/tcp -> 0.0.0.0:") for ln in lines)
    assert any(ln.startswith("7001/udp -> 0.0.0.0:") for ln in lines)
    # the next container on the network gets an address of the --ip-range
    r = cli("run", "--rm", "--network", net, "busybox", "ip", "-4", "-o", "addr", "show",
            "eth0", check=True)
    got = ipaddress.IPv4Interface(r.stdout.split()[3])
    assert got.ip in ipaddress.IPv4Network("10.201.3.128/25") and got.network.prefixlen == 24
    data = json.loads(cli("network", "inspect", net, check=True).stdout)[0]
    assert data["IPAM"]["Config"] == [{"Subnet": "10.201.3.0/24", "Gateway": "10.201.3.1",
                                       "IPRange": "10.201.3.128/25"}]
    assert data["Containers"][cid]["IPv4Address"] == "10.201.3.77/24"
    cli("stop", "-t", "1", "opts", check=True)
    assert cli("port", "opts").stdout == ""
    from dockyard.network.config import NetConfig

    table = NetConfig.load(str(root)).nft_table
    rules = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True,
                           text=True).stdout
    assert f"dport {base} " not in rules
    cli("rm", "opts", check=True)
    cli("network", "rm", net, check=True)
    assert_back_to(baseline)


def test_embedded_dns_forwards_other_names(cli: Dy, busybox: str,
                                           baseline: Baseline) -> None:
    """Names that are not containers go to the ``--dns`` server, asked from the host."""
    import random
    import threading

    from dockyard.network import dns

    upstream = f"127.{random.randrange(64, 250)}.{random.randrange(256)}.1"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((upstream, 53))
    sock.settimeout(0.5)
    asked: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                msg, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            q = dns.parse_question(msg)
            if q is not None:
                asked.append(q.name)
                sock.sendto(dns.answer(q, ["10.1.2.3"] if q.qtype == 1 else []), peer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        net = f"fwd{os.getpid()}"
        mknet(cli, baseline, net)
        r = cli("run", "--rm", "--network", net, "--dns", upstream, "busybox", "sh", "-c",
                "cat /etc/resolv.conf; nslookup far.example.test")
        assert "nameserver 127.0.0.11" in r.stdout and upstream not in r.stdout
        assert "Address: 10.1.2.3" in r.stdout, r.stdout + r.stderr
        assert "far.example.test" in asked
        cli("network", "rm", net, check=True)
    finally:
        stop.set()
        t.join()
        sock.close()
    assert_back_to(baseline)


def test_connect_gives_a_bridge_container_the_embedded_dns(cli: Dy, busybox: str,
                                                           root: Path,
                                                           baseline: Baseline) -> None:
    """A container created on the default bridge and then connected to a user network
    resolves that network's names, running or started later, and the server that
    ``connect`` left for a running one goes when the container does."""
    net = f"netc{os.getpid()}"
    mknet(cli, baseline, net)
    cli("run", "-d", "--name", "target", "--network", net, "--network-alias", "db",
        "busybox", "sh", "-c", SERVE, check=True)
    cli("run", "-d", "--name", "joiner", "busybox", "sleep", "300", check=True)
    cli("create", "--name", "later", "busybox", "sh", "-c",
        "cat /etc/resolv.conf; nslookup db", check=True)
    assert "127.0.0.11" not in cli("exec", "joiner", "cat", "/etc/resolv.conf").stdout
    cli("network", "connect", net, "joiner", check=True)
    cli("network", "connect", net, "later", check=True)
    r = cli("exec", "joiner", "sh", "-c", f"cat /etc/resolv.conf; nslookup target; {GET} db 80")
    assert "nameserver 127.0.0.11" in r.stdout, r.stdout
    assert r.stdout.endswith("hello\n"), r.stdout + r.stderr
    r = cli("start", "-a", "later")
    assert "nameserver 127.0.0.11" in r.stdout and "Address" in r.stdout.split("db")[-1], \
        r.stdout + r.stderr

    def keepers() -> list[str]:  # the `network connect` forks still serving `joiner`
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if str(root).encode() in cmd and b"\0connect\0" in cmd:
                out.append(pid)
        return out

    assert len(keepers()) == 1
    cli("rm", "-f", "joiner", "later", "target", check=True)
    import time

    deadline = time.monotonic() + 10
    while keepers():
        assert time.monotonic() < deadline, "the DNS keeper outlived its container"
        time.sleep(0.1)
    cli("network", "rm", net, check=True)
    assert_back_to(baseline)
