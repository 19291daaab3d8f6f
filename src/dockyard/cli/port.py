"""``dockyard port CONTAINER [PRIVATE_PORT[/PROTO]]``: a container's published ports."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.engine.containers import ContainerStore
    from dockyard.engine.network import Networks
    from dockyard.engine.network_views import port_lines
    from dockyard.errors import NotFound

    if not argv or len(argv) > 2 or argv[0] in ("-h", "--help"):
        sys.stderr.write('"dockyard port" requires at least 1 and at most 2 arguments.\n'
                         "See 'dockyard port --help'.\n\n"
                         "Usage:  dockyard port CONTAINER [PRIVATE_PORT[/PROTO]]\n")
        return 0 if argv[:1] in (["-h"], ["--help"]) else 1
    which = argv[1] if len(argv) == 2 else ""
    try:
        with ContainerStore(ctx.root) as containers:
            record = containers.get(argv[0])
    except NotFound:
        sys.stderr.write(f"Error: No such container: {argv[0]}\n")
        return 1
    nets = Networks(ctx.root)
    try:
        lines = port_lines(nets, record.id, which)
    finally:
        nets.close()
    if which and not lines:
        port = which if "/" in which else which + "/tcp"
        sys.stderr.write(f"Error: No public port '{port}' published for {argv[0]}\n")
        return 1
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0
