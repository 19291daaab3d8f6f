"""``dockyard logout [SERVER]``."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

USAGE = """\
Usage:  dockyard logout [SERVER]

Log out from a registry.
If no server is specified, the default is docker.io.
"""


def run(ctx: Context, argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        sys.stdout.write(USAGE)
        return 0
    flags = [a for a in argv if a.startswith("-")]
    if flags:
        sys.stderr.write(f"unknown flag: {flags[0]}\nSee 'dockyard logout --help'.\n")
        return 125
    if len(argv) > 1:
        sys.stderr.write('"dockyard logout" requires at most 1 argument.\n'
                         "See 'dockyard logout --help'.\n")
        return 125

    from dockyard.registry.login import display_name, logout, server_host

    name = display_name(server_host(argv[0] if argv else None))
    if logout(argv[0] if argv else None):
        sys.stdout.write(f"Removing login credentials for {name}\n")
    else:
        sys.stdout.write(f"Not logged in to {name}\n")
    return 0
