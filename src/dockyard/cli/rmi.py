"""``dockyard rmi`` / ``dockyard image rm``."""

from __future__ import annotations

import sys

from dockyard.cli import _image as ci
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("rmi", "dockyard rmi [OPTIONS] IMAGE [IMAGE...]")
    p.add_argument("images", nargs="+")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--no-prune", action="store_true")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    code = 0
    for name in a.images:
        try:
            sys.stdout.write("".join(f"{line}\n" for line in images.remove(name, a.force)))
        except DockyardError as e:
            sys.stderr.write(f"Error: {ci.one_line(e)}\n")
            code = 1
    return code
