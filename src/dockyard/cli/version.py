"""``dockyard version``."""

from __future__ import annotations

import platform
import sys

from dockyard import __version__

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write("Usage:  dockyard version\n\nShow the dockyard version information\n")
        return 0
    sys.stdout.write(
        "Client: dockyard\n"
        f" Version:       {__version__}\n"
        f" Python:        {platform.python_version()}\n"
        f" OS/Arch:       linux/{platform.machine()}\n")
    return 0
