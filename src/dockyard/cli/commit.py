"""``dockyard commit [-a -c -m -p] CONTAINER [REPOSITORY[:TAG]]``."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _ctr, _image
    from dockyard.engine import ctrfs

    p = _image.parser("commit", "dockyard commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")
    p.add_argument("container")
    p.add_argument("repo", nargs="?")
    p.add_argument("-a", "--author", default="")
    p.add_argument("-c", "--change", action="append", default=[])
    p.add_argument("-m", "--message", default="")
    p.add_argument("-p", "--pause", action="store_true", default=True)
    p.add_argument("--no-pause", dest="pause", action="store_false", help="-p=false")
    # Go's boolean flags: --pause=false / -p=false
    argv = ["--no-pause" if x in ("--pause=false", "-p=false", "--pause=0", "-p=0") else x
            for x in argv if x not in ("--pause=true", "-p=true")]
    a = _ctr.parse(p, argv)
    if isinstance(a, int):
        return a

    def body(engine: Engine) -> int:
        image_id = ctrfs.commit(engine, a.container, a.repo, changes=a.change,
                                message=a.message, author=a.author,
                                pause=a.pause)
        sys.stdout.write(f"{image_id}\n")
        return 0

    return _ctr.with_engine(ctx, body)
