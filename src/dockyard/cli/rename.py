"""``dockyard rename CONTAINER NEW_NAME``."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine import control
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    parsed = _verbs.parse("rename", argv, {}, min_args=2, max_args=2)
    if isinstance(parsed, int):
        return parsed
    old, new = parsed[1]
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        control.rename(engine, old, new)
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    finally:
        engine.close()
    return 0
