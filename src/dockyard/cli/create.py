"""``dockyard create``: a container from an image, ready to ``start``; prints its ID."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

USAGE = "dockyard create [OPTIONS] IMAGE [COMMAND] [ARG...]"


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._container_flags import client_env, container_parser, options_from
    from dockyard.cli._image import UsageError
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    p = container_parser("create", USAGE, "Create a new container")
    try:
        args = p.parse_args(argv)
        opts = options_from(args)
    except (UsageError, DockyardError) as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard create --help'.\n")
        return 125
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        record = engine.create(args.image, opts, name=args.name, detach=True,
                               client_env=client_env(), pull=args.pull,
                               platform=args.platform)
    finally:
        engine.close()
    sys.stdout.write(record.id + "\n")
    return 0
