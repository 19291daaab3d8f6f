"""``dockyard rm [-f] CONTAINER...``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    force = any(a in ("-f", "--force") for a in argv)
    refs = [a for a in argv if not a.startswith("-")]
    if not refs:
        sys.stderr.write('"dockyard rm" requires at least 1 argument.\n')
        return 1
    engine = Engine(ctx.root, ctx.exec_root)
    code = 0
    try:
        for ref in refs:
            try:
                engine.remove(ref, force=force)
                sys.stdout.write(ref + "\n")
            except DockyardError as e:
                sys.stderr.write(f"Error response from daemon: {e}\n")
                code = 1
    finally:
        engine.close()
    return code
