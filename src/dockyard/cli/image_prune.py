"""``dockyard image prune [-a] [-f]``."""

from __future__ import annotations

import sys

from dockyard.cli import _image as ci

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("image prune", "dockyard image prune [OPTIONS]")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--filter", action="append", default=[])
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    if not a.force:
        what = ("all images without at least one container associated to them" if a.all
                else "all dangling images")
        sys.stdout.write(f"WARNING! This will remove {what}.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    lines, reclaimed = images.prune(a.all)
    if lines:
        sys.stdout.write("Deleted Images:\n" + "".join(f"{ln}\n" for ln in lines) + "\n")
    sys.stdout.write(f"Total reclaimed space: {ci.human_size(reclaimed)}\n")
    return 0
