"""``dockyard image inspect``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from dockyard.cli import _image as ci
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("image inspect", "dockyard image inspect [OPTIONS] IMAGE [IMAGE...]")
    p.add_argument("images", nargs="+")
    p.add_argument("-f", "--format")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    found: list[dict[str, Any]] = []
    errors = []
    for name in a.images:
        try:
            found.append(images.inspect(name))
        except DockyardError as e:
            errors.append(str(e))
    if a.format:
        sys.stdout.write(ci.render(a.format, found))
    else:
        sys.stdout.write(json.dumps(found, indent=4) + "\n")
    for msg in errors:
        sys.stderr.write(f"Error: {msg}\n")
    return 1 if errors else 0
