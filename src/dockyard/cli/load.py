"""``dockyard load [-i FILE]``."""

from __future__ import annotations

import shutil
import sys
import tempfile

from dockyard.cli import _image as ci
from dockyard.errors import NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("load", "dockyard load [OPTIONS]")
    p.add_argument("-i", "--input")
    p.add_argument("-q", "--quiet", action="store_true")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    if a.input and a.input != "-":
        try:
            f = open(a.input, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise NotFound(f"open {a.input}: no such file or directory") from None
        with f:
            lines = images.load(f)
    else:
        with tempfile.TemporaryFile() as tmp:  # a tar archive needs seeking
            shutil.copyfileobj(sys.stdin.buffer, tmp)
            tmp.seek(0)
            lines = images.load(tmp)
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0
