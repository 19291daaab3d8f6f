#!/usr/bin/env python3
"""Pull a busybox image from a local docker-registry: dockyard's client vs skopeo.

Both pull the same image from the same registry on 127.0.0.1 into a fresh OCI layout
directory; the best of N runs of each is printed, and their ratio (dockyard / skopeo).

    python bench/registry_pull.py [RUNS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from registry_fixture import add_image, busybox_layer, run_registry

from dockyard.registry import RegistryClient, pull
from dockyard.registry.ocidir import OciLayout


def best_of(runs: int, fn: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        src = OciLayout(os.path.join(tmp, "src"))
        layer, diff_id = busybox_layer()
        add_image(src, "busybox:1", layer, diff_id)
        with run_registry(Path(tmp) / "registry") as reg:
            ref = f"{reg.host}/bench/busybox:1"
            subprocess.run(["skopeo", "--insecure-policy", "copy", "-q",
                            "--dest-tls-verify=false", f"oci:{src.path}:1", f"docker://{ref}"],
                           check=True)
            n = iter(range(1_000_000))

            def dockyard_pull() -> None:
                pull(RegistryClient(reg.host), ref, OciLayout(f"{tmp}/d{next(n)}"))

            def skopeo_pull() -> None:
                subprocess.run(["skopeo", "--insecure-policy", "copy", "-q",
                                "--src-tls-verify=false", f"docker://{ref}",
                                f"oci:{tmp}/s{next(n)}:1"], check=True)

            ours = best_of(runs, dockyard_pull)
            theirs = best_of(runs, skopeo_pull)
    print(f"pull busybox ({len(layer) / 1e6:.1f} MB layer) from a 127.0.0.1 registry, "
          f"best of {runs}: dockyard {ours * 1000:.0f} ms, skopeo {theirs * 1000:.0f} ms, "
          f"ratio {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
