"""``dockyard push NAME[:TAG]``."""

from __future__ import annotations

import sys

from dockyard.cli import _image as ci
from dockyard.cli.progress import TtyProgress

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("push", "dockyard push [OPTIONS] NAME[:TAG]")
    p.add_argument("name")
    p.add_argument("-q", "--quiet", action="store_true")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    def out(line: str) -> None:
        if not a.quiet:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    if not a.quiet and sys.stdout.isatty():
        tty = TtyProgress(sys.stdout, "Pushing")
        images.push(a.name, tty.line, tty.bytes)
    else:
        images.push(a.name, out)
    return 0
