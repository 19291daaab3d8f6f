"""``dockyard rm [-f] [-v] CONTAINER...``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    shorts = "".join(a[1:] for a in argv if a.startswith("-") and not a.startswith("--"))
    force = "f" in shorts or "--force" in argv
    volumes = "v" in shorts or "--volumes" in argv
    refs = [a for a in argv if not a.startswith("-")]
    if not refs:
        sys.stderr.write('"dockyard rm" requires at least 1 argument.\n')
        return 1
    engine = Engine(ctx.root, ctx.exec_root)
    code = 0
    try:
        for ref in refs:
            try:
                engine.remove(ref, force=force, volumes=volumes)
                sys.stdout.write(ref + "\n")
            except DockyardError as e:
                sys.stderr.write(f"Error response from daemon: {e}\n")
                code = 1
    finally:
        engine.close()
    return code
