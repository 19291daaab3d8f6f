"""``dockyard export [-o FILE] CONTAINER``: its filesystem as a tar archive."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _ctr, _image
    from dockyard.engine import ctrfs

    p = _image.parser("export", "dockyard export [OPTIONS] CONTAINER")
    p.add_argument("container")
    p.add_argument("-o", "--output")
    a = _ctr.parse(p, argv)
    if isinstance(a, int):
        return a
    if not a.output and sys.stdout.isatty():
        sys.stderr.write("Error: cowardly refusing to save to a terminal. Use the -o flag "
                         "or redirect\n")
        return 1

    def body(engine: Engine) -> int:
        if not a.output:
            try:
                ctrfs.export(engine, a.container, sys.stdout.buffer)
                sys.stdout.flush()
            except BrokenPipeError:  # the reader stopped early (| head)
                return 1
            return 0
        tmp = f"{a.output}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                ctrfs.export(engine, a.container, f)
            os.replace(tmp, a.output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return 0

    return _ctr.with_engine(ctx, body, prefix="Error: ")
