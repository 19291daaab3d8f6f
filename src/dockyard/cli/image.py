"""``dockyard image COMMAND``: Docker's two-word image verbs."""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

SUBCOMMANDS = {
    "ls": "images", "list": "images", "inspect": "image_inspect", "rm": "rmi",
    "remove": "rmi", "tag": "tag", "history": "history", "save": "save", "load": "load",
    "import": "import_", "prune": "image_prune",
}

USAGE = """\
Usage:  dockyard image COMMAND

Manage images

Commands:
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Display detailed information on one or more images
  load        Load an image from a tar archive or STDIN
  ls          List images
  prune       Remove unused images
  rm          Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
"""


def run(ctx: Context, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    mod = SUBCOMMANDS.get(argv[0])
    if mod is None:
        sys.stderr.write(f"dockyard: 'image {argv[0]}' is not a dockyard command.\n"
                         "See 'dockyard image --help'\n")
        return 125
    m = importlib.import_module(f"dockyard.cli.{mod}")
    code: int = m.run(ctx, argv[1:])
    return code
