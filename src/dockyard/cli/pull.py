"""``dockyard pull [OPTIONS] NAME[:TAG|@DIGEST]``."""

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
    p = ci.parser("pull", "dockyard pull [OPTIONS] NAME[:TAG|@DIGEST]")
    p.add_argument("name")
    p.add_argument("-a", "--all-tags", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--platform")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    def out(line: str) -> None:
        if not a.quiet:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    if not a.quiet and sys.stdout.isatty():
        tty = TtyProgress(sys.stdout, "Downloading")
        full = images.pull(a.name, all_tags=a.all_tags, platform=a.platform, out=tty.line,
                           on_bytes=tty.bytes)
    else:
        full = images.pull(a.name, all_tags=a.all_tags, platform=a.platform, out=out)
    sys.stdout.write(full + "\n")
    return 0
