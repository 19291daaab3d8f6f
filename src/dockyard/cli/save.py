"""``dockyard save [-o FILE] IMAGE...``."""

from __future__ import annotations

import os
import sys

from dockyard.cli import _image as ci
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("save", "dockyard save [OPTIONS] IMAGE [IMAGE...]")
    p.add_argument("images", nargs="+")
    p.add_argument("-o", "--output")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    for name in a.images:
        images.resolve(name)  # fail before creating the file
    if not a.output:
        if sys.stdout.isatty():
            raise InvalidArgument("cowardly refusing to save to a terminal. "
                                  "Use the -o flag or redirect")
        images.save(a.images, sys.stdout.buffer)
        return 0
    tmp = f"{a.output}.tmp-{os.getpid()}"
    try:
        try:
            f = open(tmp, "wb")  # noqa: SIM115
        except OSError as e:
            raise InvalidArgument(f"failed to save to {a.output}: {e.strerror}") from e
        with f:
            images.save(a.images, f)
        os.rename(tmp, a.output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0
