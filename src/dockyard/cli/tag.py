"""``dockyard tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]``."""

from __future__ import annotations

from dockyard.cli import _image as ci

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("tag", "dockyard tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
    p.add_argument("source")
    p.add_argument("target")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    images.tag(a.source, a.target)
    return 0
