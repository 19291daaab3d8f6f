"""``dockyard container COMMAND``: Docker's two-word container verbs.

Every container verb Docker has is listed; one whose module is not written yet answers
with Docker's "not a command" error, so adding a verb is adding its module."""

from __future__ import annotations

import importlib
import importlib.util
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

#: sub-command -> (module under dockyard.cli, help line)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "attach": ("attach", "Attach local standard input, output, and error streams to a "
                         "running container"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "cp": ("cp", "Copy files/folders between a container and the local filesystem"),
    "create": ("create", "Create a new container"),
    "diff": ("diff", "Inspect changes to files or directories on a container's filesystem"),
    "exec": ("exec", "Run a command in a running container"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "inspect": ("container_inspect", "Display detailed information on one or more "
                                     "containers"),
    "kill": ("kill", "Kill one or more running containers"),
    "logs": ("logs", "Fetch the logs of a container"),
    "ls": ("ps", "List containers"),
    "list": ("ps", "List containers"),
    "ps": ("ps", "List containers"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "port": ("port", "List port mappings or a specific mapping for the container"),
    "prune": ("container_prune", "Remove all stopped containers"),
    "rename": ("rename", "Rename a container"),
    "restart": ("restart", "Restart one or more containers"),
    "rm": ("rm", "Remove one or more containers"),
    "run": ("run", "Run a command in a new container"),
    "start": ("start", "Start one or more stopped containers"),
    "stats": ("stats", "Display a live stream of container(s) resource usage statistics"),
    "stop": ("stop", "Stop one or more running containers"),
    "top": ("top", "Display the running processes of a container"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "update": ("update", "Update configuration of one or more containers"),
    "wait": ("wait", "Block until one or more containers stop, then print their exit "
                     "codes"),
}

_ALIASES = {"list", "ps"}


def _exists(module: str) -> bool:
    return importlib.util.find_spec(f"dockyard.cli.{module}") is not None


def usage() -> str:
    lines = [f"  {name:<10} {help_}" for name, (mod, help_) in sorted(SUBCOMMANDS.items())
             if name not in _ALIASES and _exists(mod)]
    return ("Usage:  dockyard container COMMAND\n\nManage containers\n\nCommands:\n"
            + "\n".join(lines)
            + "\n\nRun 'dockyard container COMMAND --help' for more information on a "
              "command.\n")


def run(ctx: Context, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(usage())
        return 0
    entry = SUBCOMMANDS.get(argv[0])
    if entry is None or not _exists(entry[0]):
        sys.stderr.write(f"dockyard: 'container {argv[0]}' is not a dockyard command.\n"
                         "See 'dockyard container --help'\n")
        return 125
    m = importlib.import_module(f"dockyard.cli.{entry[0]}")
    code: int = m.run(ctx, argv[1:])
    return code
