"""``dockyard import file|URL|- [REPOSITORY[:TAG]]``."""

from __future__ import annotations

import sys

from dockyard.cli import _image as ci
from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.download import is_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("import", "dockyard import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]")
    p.add_argument("source")
    p.add_argument("repo", nargs="?")
    p.add_argument("-c", "--change", action="append", default=[])
    p.add_argument("-m", "--message", default="")
    p.add_argument("--platform")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    if a.source == "-":
        rec = images.import_tar(sys.stdin.buffer, a.repo, a.change, a.message, a.platform)
    elif is_url(a.source):
        rec = images.import_url(a.source, a.repo, a.change, a.message, a.platform)
    else:
        try:
            f = open(a.source, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise NotFound(f"open {a.source}: no such file or directory") from None
        except OSError as e:
            raise InvalidArgument(f"open {a.source}: {e.strerror}") from e
        with f:
            rec = images.import_tar(f, a.repo, a.change, a.message, a.platform)
    sys.stdout.write(f"{rec.id}\n")
    return 0
