"""``dockyard container COMMAND``: Docker's two-word container verbs."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.cli.main import Context

SUBCOMMANDS = {
    "create": "create", "kill": "kill", "logs": "logs", "ls": "ps", "list": "ps", "ps": "ps",
    "pause": "pause", "prune": "container_prune", "rename": "rename", "restart": "restart",
    "rm": "rm", "remove": "rm", "run": "run", "start": "start", "stop": "stop", "top": "top",
    "unpause": "unpause", "update": "update", "wait": "wait",
}

USAGE = """\
Usage:  dockyard container COMMAND

Manage containers

Commands:
""" + "".join(f"  {name}\n" for name in sorted(SUBCOMMANDS))


def run(ctx: Context, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    mod = SUBCOMMANDS.get(argv[0])
    if mod is None:
        sys.stderr.write(f"dockyard: 'container {argv[0]}' is not a dockyard command.\n"
                         "See 'dockyard container --help'\n")
        return 125
    m = importlib.import_module(f"dockyard.cli.{mod}")
    code: int = m.run(ctx, argv[1:])
    return code
