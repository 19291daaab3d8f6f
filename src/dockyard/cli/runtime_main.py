"""``dockyard-runtime``: the OCI runtime with runc's command line (placeholder)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    sys.stderr.write("dockyard-runtime: not yet implemented\n")
    return 1
