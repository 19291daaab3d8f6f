"""``dockyard pause CONTAINER...``: freeze every process of the containers."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine import control

    parsed = _verbs.parse("pause", argv, {})
    if isinstance(parsed, int):
        return parsed
    return _verbs.each(ctx, parsed[1], control.pause)
