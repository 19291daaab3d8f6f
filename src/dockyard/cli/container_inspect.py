"""``dockyard container inspect``: ``inspect --type container``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import inspect

    return inspect.run(ctx, argv, kind="container")
