"""``dockyard wait CONTAINER...``: block until each stops; print its exit code."""

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

    parsed = _verbs.parse("wait", argv, {})
    if isinstance(parsed, int):
        return parsed
    code = 0
    for ref in parsed[1]:
        engine = Engine(ctx.root, ctx.exec_root)
        try:
            sys.stdout.write(f"{control.wait(engine, ref)}\n")
            sys.stdout.flush()
        except DockyardError as e:
            sys.stderr.write(f"Error response from daemon: {e}\n")
            code = 1
        finally:
            engine.close()
    return code
