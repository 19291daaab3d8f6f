"""`dockyard-runtime run` against `runc run` on the same bundle running `true`.

Interleaved, N runs each (default 30), after a warm-up; prints both medians and the
ratio. Run as root:  python bench/runtime_run.py [N]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import make_busybox_rootfs

from dockyard.runtime.spec import example_spec


def bundle_in(base: Path) -> Path:
    bundle = base / "bundle"
    make_busybox_rootfs(bundle / "rootfs")
    spec = example_spec()
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["true"]
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def time_run(argv: list[str], root: Path, bundle: Path, cid: str) -> float:
    start = time.perf_counter()
    subprocess.run([*argv, "--root", str(root), "run", "--bundle", str(bundle), cid],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    runc = shutil.which("runc")
    if runc is None or os.geteuid() != 0:
        print("needs root and runc (apt-get install runc)", file=sys.stderr)
        return 1
    ours = [os.path.join(os.path.dirname(sys.executable), "dockyard-runtime")]
    peers = {"dockyard-runtime": ours, "runc": [runc]}
    times: dict[str, list[float]] = {name: [] for name in peers}
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        base = Path(tmp)
        bundle = bundle_in(base)
        for i in range(runs + 3):
            for name, argv in peers.items():
                t = time_run(argv, base / f"state-{name}", bundle, f"b{i}")
                if i >= 3:  # warm-up: page cache, pyc files
                    times[name].append(t)
    ours_ms = statistics.median(times["dockyard-runtime"]) * 1000
    runc_ms = statistics.median(times["runc"]) * 1000
    print(f"runtime run true, median of {runs} interleaved runs:")
    print(f"  dockyard-runtime  {ours_ms:6.1f} ms")
    print(f"  runc              {runc_ms:6.1f} ms")
    print(f"  ratio             {ours_ms / runc_ms:6.2f}x runc")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
