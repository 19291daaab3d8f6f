"""`dockyard pull` against `docker pull` and `skopeo copy` of a ~100 MB, 5-layer image.

The image is built here: 5 gzipped layers (as `docker push` sends them), each ~20 MB of
random (incompressible) files, the first with a busybox rootfs too; skopeo pushes it as a
Docker v2 schema 2 manifest to Debian's docker-registry on 127.0.0.1. Then, interleaved,
after one warm-up round, RUNS pulls each (default 5):

- dockyard:  `dockyard --root FRESH pull 127.0.0.1:PORT/bench/big:1`, a fresh root each run;
- docker:    `docker pull` against a private dockerd (its own data root, no host network;
             127.0.0.0/8 is an insecure registry by default), then `rmi` + `image prune`;
- skopeo:    `skopeo copy docker://... containers-storage:[overlay@FRESH+FRESH/run]...`,
             a fresh private storage each run (so skopeo unpacks the layers too, as the
             other two do).

Prints the three medians, the ratios dockyard/docker and dockyard/skopeo, and dockyard's
unpack throughput: after each dockyard pull, the same blobs go into another fresh root
(untimed) and only `ImageService.unpack` is timed; uncompressed tar bytes / that time.
Everything started (registry, dockerd) is stopped and every temp dir removed, also on
failure or Ctrl-C. Run as root:  python bench/pull.py [RUNS]
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from dockerd import dockerd_binary, mounts_under, running_dockerd
from registry_fixture import busybox_layer, run_registry

from dockyard.image.service import ImageService, LayerBlob
from dockyard.oci import image_types as mt
from dockyard.registry.protocol import host_platform

LAYERS = 5
FILES_PER_LAYER = 4
FILE_SIZE = 5_000_000  # 4 x 5 MB of random bytes per layer
REPO = "bench/big:1"


def _tar(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _merge(base_gz: bytes, extra: bytes) -> bytes:
    """busybox's rootfs tar followed by ``extra``'s entries, as one tar."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for blob in (gzip.decompress(base_gz), extra):
            with tarfile.open(fileobj=io.BytesIO(blob)) as src:
                for m in src.getmembers():
                    dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    return out.getvalue()


def _blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def build_image(layout: Path) -> tuple[list[str], list[tuple[str, int]], int]:
    """An OCI layout at ``layout`` tagged ``1``; returns (diff IDs, [(layer digest, size)],
    uncompressed bytes of all layers)."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    busybox_gz, _ = busybox_layer()
    diff_ids, layers, raw_total = [], [], 0
    for i in range(LAYERS):
        raw = _tar({f"data/layer{i}/file{j}": os.urandom(FILE_SIZE)
                    for j in range(FILES_PER_LAYER)})
        if i == 0:
            raw = _merge(busybox_gz, raw)
        gz = gzip.compress(raw, compresslevel=6, mtime=0)  # docker push: gzip default level
        raw_total += len(raw)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append((_blob(layout, gz), len(gz)))
    config = json.dumps({
        "created": "2026-01-01T00:00:00Z", "os": "linux",
        "architecture": host_platform().architecture,
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "bench/pull.py"}
                    for _ in diff_ids],
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": _blob(layout, config),
                   "size": len(config)},
        "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": d, "size": s}
                   for d, s in layers],
    }).encode()
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": _blob(layout, manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}))
    return diff_ids, layers, raw_total


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env, text=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return took


def time_unpack(root: Path, layout: Path, diff_ids: list[str],
                layers: list[tuple[str, int]]) -> float:
    """Seconds ``ImageService.unpack`` takes in a fresh root whose content store already
    holds the layer blobs (put there untimed)."""
    svc = ImageService(str(root))
    try:
        blobs = []
        for digest, size in layers:
            with open(layout / "blobs" / "sha256" / digest[7:], "rb") as f, \
                    svc.content.ingest(expected=digest) as w:
                while chunk := f.read(1 << 20):
                    w.write(chunk)
                w.commit()
            blobs.append(LayerBlob(digest, mt.DOCKER_LAYER_GZIP, size))
        start = time.perf_counter()
        svc.unpack(diff_ids, blobs)
        return time.perf_counter() - start
    finally:
        svc.close()


def remove(path: Path) -> None:
    for point in mounts_under(path):  # skopeo's containers-storage should leave none
        subprocess.run(["umount", "-l", point], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def _sigterm(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwind through every finally


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    dockerd = dockerd_binary()
    if os.geteuid() != 0 or dockerd is None or shutil.which("skopeo") is None:
        print("needs root, dockerd (docker.io) and skopeo", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _sigterm)
    dockyard = os.path.join(os.path.dirname(sys.executable), "dockyard")
    tmp = Path(tempfile.mkdtemp(prefix="bench-pull-", dir="/var/tmp"))
    times: dict[str, list[float]] = {"dockyard": [], "docker": [], "skopeo": []}
    unpacks: list[float] = []
    try:
        layout = tmp / "src"
        diff_ids, layers, raw_total = build_image(layout)
        gz_total = sum(s for _, s in layers)
        with contextlib.ExitStack() as stack:
            reg = stack.enter_context(run_registry(tmp / "registry"))
            ref = f"{reg.host}/{REPO}"
            timed(["skopeo", "--insecure-policy", "copy", "-q", "--format", "v2s2",
                   "--dest-tls-verify=false", f"oci:{layout}:1", f"docker://{ref}"])
            docker = stack.enter_context(running_dockerd(dockerd))

            def pull_dockyard(n: int) -> float:
                root = tmp / f"dockyard-{n}"
                try:
                    t = timed([dockyard, "--root", str(root), "--exec-root",
                               str(tmp / f"exec-{n}"), "pull", "-q", ref])
                finally:
                    remove(root)
                    remove(tmp / f"exec-{n}")
                root = tmp / f"unpack-{n}"
                try:
                    unpacks.append(time_unpack(root, layout, diff_ids, layers))
                finally:
                    remove(root)
                return t

            def pull_docker(_n: int) -> float:
                t = timed([docker.client, "pull", "-q", ref], env=docker.env)
                docker.docker("rmi", ref)
                docker.docker("image", "prune", "-f")
                return t

            def pull_skopeo(n: int) -> float:
                store = tmp / f"skopeo-{n}"
                try:
                    return timed(["skopeo", "--insecure-policy", "copy", "-q",
                                  "--src-tls-verify=false", f"docker://{ref}",
                                  f"containers-storage:[overlay@{store}/root+{store}/run]{ref}"])
                finally:
                    remove(store)

            peers = {"dockyard": pull_dockyard, "docker": pull_docker, "skopeo": pull_skopeo}
            for i in range(runs + 1):
                for name, fn in peers.items():
                    t = fn(i)
                    if i >= 1:  # round 0 warms the page cache and the registry
                        times[name].append(t)
            driver = docker.storage_driver
    finally:
        remove(tmp)
    ours, theirs, skopeo = (statistics.median(times[k]) for k in ("dockyard", "docker", "skopeo"))
    unpack = statistics.median(unpacks[1:])
    print(f"pull {LAYERS} layers, {gz_total / 1e6:.1f} MB gzipped / {raw_total / 1e6:.1f} MB "
          f"uncompressed, registry on 127.0.0.1, median of {runs} interleaved runs:")
    print(f"  dockyard pull         {ours:6.2f} s   (fresh --root each run)")
    print(f"  docker pull           {theirs:6.2f} s   (dockerd {driver}, rmi between runs)")
    print(f"  skopeo copy           {skopeo:6.2f} s   (to containers-storage overlay)")
    print(f"  ratio                 {ours / theirs:6.2f}x docker, {ours / skopeo:.2f}x skopeo")
    print(f"  dockyard unpack       {unpack:6.2f} s = {raw_total / 1e6 / unpack:.0f} MB/s "
          f"(ImageService.unpack alone, blobs already in the store)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
