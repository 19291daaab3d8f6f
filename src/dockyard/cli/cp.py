"""``dockyard cp [-a] [-L] CONTAINER:SRC_PATH DEST_PATH|-`` and the other way round."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine

USAGE = """dockyard cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
        dockyard cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"""


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _ctr, _image
    from dockyard.engine import cp

    p = _image.parser("cp", USAGE)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("-a", "--archive", action="store_true")
    p.add_argument("-L", "--follow-link", action="store_true")
    positional = [x for x in argv if x == "-" or not x.startswith("-")]
    if len(positional) != 2 and "--help" not in argv and "-h" not in argv:
        sys.stderr.write('"dockyard cp" requires exactly 2 arguments.\n'
                         "See 'dockyard cp --help'.\n")
        return 1
    a = _ctr.parse(p, argv)
    if isinstance(a, int):
        return a
    src, dst = cp.split_arg(a.src), cp.split_arg(a.dst)
    if (src.path == "-" and dst.path == "-") or (src.path == "-" and src.container) or (
            dst.path == "-" and dst.container):
        sys.stderr.write("Error: invalid use of \"-\"\n")
        return 1

    def body(engine: Engine) -> int:
        try:
            cp.copy(engine, src, dst, archive=a.archive, follow=a.follow_link,
                    stdin=sys.stdin.buffer, stdout=sys.stdout.buffer)
        except BrokenPipeError:  # the reader of the tar stream stopped early
            return 1
        except OSError as e:
            sys.stderr.write(f"Error: {e.strerror or e}: {e.filename or ''}\n")
            return 1
        return 0

    return _ctr.with_engine(ctx, body, prefix="Error: ")
