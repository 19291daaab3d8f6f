"""Network data path: dockyard against docker, same host, same run.

Four measures, each on a user-defined bridge network of each engine:
- container -> container TCP throughput (busybox ``nc`` sending ``dd`` zeros to ``nc -l``),
- container -> container connections per second (``nc`` to ``httpd -f``, sequentially),
- host -> published port TCP throughput (a Python client on 127.0.0.1 to ``-p``),
- host -> published port connections per second (HTTP GETs to ``httpd -f`` behind ``-p``).

Inside containers time comes from ``/proc/uptime`` (centiseconds; busybox ``date`` has no
``%N``). Docker is a private dockerd (Debian's docker.io) with its own data and exec roots,
socket and no iptables (so it never touches the host's firewall): its published ports go
through ``docker-proxy``, its default userland proxy. dockyard uses a private root whose
default bridge, subnet and nftables table are its own. Run as root:
``python bench/net.py [MB] [CONNECTIONS]``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import make_busybox_rootfs
from tests.integration.dockerd import dockerd_binary, running_dockerd

Cli = Callable[..., str]

SERVE_HTTP = "echo hello > /tmp/index.html; exec httpd -f -h /tmp -p 80"
#: ``nc -l`` ends a connection at EOF on its stdin: give it a FIFO that never ends.
SINK = ("mkfifo /tmp/f; exec 3<>/tmp/f; "
        "while true; do nc -l -p 5001 <&3 > /dev/null; done")


def uptime_script(body: str) -> str:
    """Run ``body`` in a container's shell, print its duration in centiseconds."""
    return ("read a _ < /proc/uptime; " + body + "; read b _ < /proc/uptime; "
            "echo $(( ${b/./} - ${a/./} ))")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def host_throughput(port: int, mb: int) -> float:
    """MB/s of ``mb`` MB sent to the sink behind ``port`` (until the sink closes)."""
    chunk = b"\0" * (1 << 20)
    for _ in range(50):
        try:
            start = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                for _ in range(mb):
                    s.sendall(chunk)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            return mb / (time.perf_counter() - start)
        except OSError:
            time.sleep(0.2)
    raise SystemExit("host throughput: the sink never answered")


def host_cps(port: int, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            while s.recv(65536):
                pass
    return n / (time.perf_counter() - start)


def measure(cli: Cli, net: str, ip_of: Callable[[str], str], mb: int, n: int,
            tag: str) -> dict[str, float]:
    http_port, sink_port = free_port(), free_port()
    cli("run", "-d", "--name", f"web{tag}", "--network", net, "-p", f"{http_port}:80",
        "busybox", "sh", "-c", SERVE_HTTP)
    cli("run", "-d", "--name", f"sink{tag}", "--network", net, "-p", f"{sink_port}:5001",
        "busybox", "sh", "-c", SINK)
    try:
        web, sink = ip_of(f"web{tag}"), ip_of(f"sink{tag}")
        wait_port(http_port)
        out: dict[str, float] = {}
        cs = float(cli("run", "--rm", "--network", net, "busybox", "sh", "-c", uptime_script(
            f"dd if=/dev/zero bs=1048576 count={mb} 2>/dev/null | nc {sink} 5001")).split()[-1])
        out["c2c MB/s"] = mb / max(cs, 1) * 100
        cs = float(cli("run", "--rm", "--network", net, "busybox", "sh", "-c", uptime_script(
            f"i=0; while [ $i -lt {n} ]; do "
            f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {web} 80 > /dev/null; "
            "i=$((i+1)); done")).split()[-1])
        out["c2c conn/s"] = n / max(cs, 1) * 100
        out["host->port MB/s"] = host_throughput(sink_port, mb)
        out["host->port conn/s"] = host_cps(http_port, n)
        return out
    finally:
        cli("rm", "-f", f"web{tag}", f"sink{tag}", check=False)


def main() -> int:
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 1
    dockerd = dockerd_binary()
    tag = str(os.getpid())
    with tempfile.TemporaryDirectory(prefix="bench-net-") as tmp:
        base = Path(tmp)
        root = base / "dy-root"
        root.mkdir()
        (root / "engine.json").write_text(json.dumps({
            "bridge": f"dybn{tag}"[:15], "bridge_subnet": "10.251.0.0/24",
            "nft_table": f"dybench{tag}"}))
        dyg = [os.path.join(os.path.dirname(sys.executable), "dockyard"), "--root", str(root),
               "--exec-root", str(base / "dy-exec")]
        rootfs = make_busybox_rootfs(base / "bb")
        bb = base / "busybox.tar"
        with tarfile.open(bb, "w") as tf:
            for p in sorted(rootfs.iterdir()):
                tf.add(p, arcname=p.name)

        def dy(*args: str, check: bool = True) -> str:
            r = subprocess.run([*dyg, *args], capture_output=True, text=True)
            if check and r.returncode != 0:
                raise SystemExit(f"dockyard {' '.join(args)}: {r.stderr.strip()}")
            return r.stdout

        dy("import", str(bb), "busybox")
        net = f"bench{tag}"
        dy("network", "create", "--subnet", "10.252.0.0/24", net)

        def dy_ip(name: str) -> str:
            data = json.loads(dy("network", "inspect", net))[0]["Containers"]
            return next(c["IPv4Address"].split("/")[0] for c in data.values()
                        if c["Name"] == name)

        results: dict[str, dict[str, float]] = {}
        try:
            results["dockyard"] = measure(dy, net, dy_ip, mb, n, "dy")
        finally:
            dy("network", "rm", net, check=False)
        if dockerd:
            saved = base / "bb-saved.tar"
            dy("save", "-o", str(saved), "busybox:latest")
            with running_dockerd(dockerd) as d:
                def dk(*args: str, check: bool = True) -> str:
                    return d.docker(*args, check=check).stdout

                dk("load", "-i", str(saved))
                dk("network", "create", "--subnet", "10.253.0.0/24", net)

                def dk_ip(name: str) -> str:
                    return dk("inspect", "-f",
                              f"{{{{.NetworkSettings.Networks.{net}.IPAddress}}}}",
                              name).strip()

                try:
                    results["docker"] = measure(dk, net, dk_ip, mb, n, "dk")
                finally:
                    dk("network", "rm", net, check=False)
    keys = list(results["dockyard"])
    print(f"{'':<20}" + "".join(f"{k:>14}" for k in results))
    for k in keys:
        row = "".join(f"{results[e][k]:>14.1f}" for e in results)
        ratio = (f"   dockyard/docker {results['dockyard'][k] / results['docker'][k]:.2f}x"
                 if "docker" in results else "")
        print(f"{k:<20}{row}{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
