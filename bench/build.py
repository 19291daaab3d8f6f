"""`dockyard build` against `docker build` (and `podman build` when installed).

A 10-step Dockerfile (ENVs, WORKDIR, a COPY of a few hundred files, RUNs, CMD) on a
busybox image made from Debian's busybox-static. Each builder does a cold build
(``--no-cache``) and a fully cached rebuild, interleaved, N rounds (default 5) after a
warm-up round; prints the medians and dockyard's ratios. Docker is a private dockerd
(Debian's docker.io 20.10, its default classic builder); podman gets a private storage
root and containers.conf (runc, lowered ulimits: this host lacks CAP_SYS_RESOURCE).
Run as root:  python bench/build.py [N]
"""

from __future__ import annotations

import os
import shutil
import statistics
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

DOCKERFILE = """\
FROM busybox
ENV APP=/app
ENV MODE=bench
WORKDIR /app
COPY src/ ./src/
RUN find src -type f | wc -l > count
RUN echo "$MODE" > mode
ENV DONE=1
RUN cat count mode > summary
CMD ["cat", "/app/summary"]
"""

FILES = 300


def make_context(base: Path) -> Path:
    ctx = base / "ctx"
    for i in range(FILES):
        p = ctx / "src" / f"pkg{i % 10}" / f"mod{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"# module {i}\nVALUE = {i}\n" + "x = 1\n" * (i % 50))
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


def busybox_tar(base: Path) -> Path:
    root = make_busybox_rootfs(base / "bb")
    out = base / "busybox.tar"
    with tarfile.open(out, "w") as tf:
        for p in sorted(root.iterdir()):
            tf.add(p, arcname=p.name)
    return out


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... failed: {r.stderr.decode()[-500:]}")
    return took


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 1
    dockerd = dockerd_binary()
    podman = shutil.which("podman")
    dy = [os.path.join(os.path.dirname(sys.executable), "dockyard")]
    # an installed package has its bytecode compiled; do the same for a source checkout
    src = Path(__file__).resolve().parent.parent / "src" / "dockyard"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)],
                   env={k: v for k, v in os.environ.items()
                        if k != "PYTHONDONTWRITEBYTECODE"}, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        base = Path(tmp)
        ctx = make_context(base)
        bb = busybox_tar(base)
        dyg = [*dy, "--root", str(base / "dy-root"), "--exec-root", str(base / "dy-exec")]
        subprocess.run([*dyg, "import", str(bb), "busybox"], check=True,
                       stdout=subprocess.DEVNULL)
        saved = base / "busybox-saved.tar"
        subprocess.run([*dyg, "save", "-o", str(saved), "busybox:latest"], check=True)
        builders: dict[str, dict[str, Callable[[], float]]] = {
            "dockyard": {
                "cold": lambda: timed([*dyg, "build", "-q", "--no-cache", "-t", "b", str(ctx)]),
                "cached": lambda: timed([*dyg, "build", "-q", "-t", "b", str(ctx)]),
            }}
        times: dict[str, dict[str, list[float]]] = {}
        with running_dockerd(dockerd) if dockerd else _nothing() as d:
            if d is not None:
                d.docker("load", "-i", str(saved))
                denv = {**d.env, "DOCKER_BUILDKIT": "0"}
                dk = [d.client, "build", "-q", "--network", "none", "-t", "b"]
                builders["docker"] = {
                    "cold": lambda: timed([*dk, "--no-cache", str(ctx)], denv),
                    "cached": lambda: timed([*dk, str(ctx)], denv),
                }
            penv: dict[str, str] = {}
            pg: list[str] = []
            if podman:
                conf = base / "containers.conf"
                conf.write_text('[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n'
                                'events_logger = "file"\n[containers]\n'
                                'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n')
                penv = {**os.environ, "CONTAINERS_CONF": str(conf)}
                pg = [podman, "--root", str(base / "podman-root"), "--runroot",
                      str(base / "podman-run"), "--storage-driver", "overlay"]
                subprocess.run([*pg, "load", "-q", "-i", str(saved)], check=True, env=penv,
                               stdout=subprocess.DEVNULL)
                pb = [*pg, "build", "-q", "--network", "none", "--layers", "-t", "b"]
                builders["podman"] = {
                    "cold": lambda: timed([*pb, "--no-cache", str(ctx)], penv),
                    "cached": lambda: timed([*pb, str(ctx)], penv),
                }
            try:
                times = {n: {"cold": [], "cached": []} for n in builders}
                for i in range(runs + 1):
                    for kind in ("cold", "cached"):
                        for name, fns in builders.items():
                            t = fns[kind]()
                            if i > 0:  # round 0 warms caches (page cache, pyc, layers)
                                times[name][kind].append(t)
            finally:
                if podman:
                    subprocess.run([*pg, "system", "reset", "-f"], env=penv,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"build of a 10-step Dockerfile, COPY of {FILES} files; medians of {runs} "
              "interleaved runs")
        print(f"{'':<10}{'cold':>10}{'cached':>10}")
        med = {n: {k: statistics.median(v) for k, v in kinds.items()}
               for n, kinds in times.items()}
        for name, m in med.items():
            print(f"{name:<10}{m['cold'] * 1000:>8.0f}ms{m['cached'] * 1000:>8.0f}ms")
        for peer in [n for n in med if n != "dockyard"]:
            print(f"dockyard/{peer}: cold {med['dockyard']['cold'] / med[peer]['cold']:.2f}x, "
                  f"cached {med['dockyard']['cached'] / med[peer]['cached']:.2f}x")
    return 0


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
