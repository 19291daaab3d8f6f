"""``dockyard top CONTAINER``: its processes, ``ps -ef``'s columns."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def _table(rows: list[list[str]]) -> str:
    """Go's tabwriter as ``docker top`` sets it up: minimum width 20, padding 3; the last
    column is not padded."""
    widths = [max(20, *(len(r[i]) + 3 for r in rows)) for i in range(len(rows[0]) - 1)]
    return "".join("".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + r[-1] + "\n"
                   for r in rows)


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.top import TITLES, process_rows
    from dockyard.errors import DockyardError

    if argv and argv[0].startswith("-") and argv[0] != "-":
        sys.stderr.write(f"unknown flag: {argv[0]}\nSee 'dockyard top --help'.\n")
        return 125
    parsed = _verbs.parse("top", argv[:1], {})
    if isinstance(parsed, int):
        return parsed
    ref = parsed[1][0]
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        rec = engine.refresh(engine.containers.get(ref))
        rows = process_rows(engine.runtime_root, rec.id, rec.status)
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    finally:
        engine.close()
    sys.stdout.write(_table([TITLES, *rows]))
    return 0
