"""``dockyard image inspect``."""

from __future__ import annotations

from dockyard.cli import _image as ci
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("image inspect", "dockyard image inspect [OPTIONS] IMAGE [IMAGE...]")
    p.add_argument("images", nargs="+")
    p.add_argument("-f", "--format")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    from dockyard.cli.inspect import emit

    found: list[dict[str, Any]] = []
    errors = []
    for name in a.images:
        try:
            found.append(images.inspect(name))
        except DockyardError as e:
            errors.append(ci.one_line(e))
    return emit(found, errors, a.format)
