"""``dockyard diff CONTAINER``: A/C/D lines of its filesystem changes."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _ctr, _image
    from dockyard.engine import ctrfs

    p = _image.parser("diff", "dockyard diff CONTAINER")
    p.add_argument("container")
    a = _ctr.parse(p, argv)
    if isinstance(a, int):
        return a

    def body(engine: Engine) -> int:
        rec = engine.containers.get(a.container)
        sys.stdout.write("".join(f"{c}\n" for c in ctrfs.changes(engine, rec)))
        return 0

    return _ctr.with_engine(ctx, body)
