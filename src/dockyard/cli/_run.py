"""Runs one verb module and turns dockyard's errors into Docker's exit codes."""

from __future__ import annotations

import importlib
import sys

from dockyard.errors import DockyardError

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

#: Docker's exit status when the engine itself fails (as opposed to the container).
EXIT_ENGINE_ERROR = 125


def run_verb(module: str, ctx: Context, argv: list[str]) -> int:
    mod = importlib.import_module(f"dockyard.cli.{module}")
    try:
        code: int = mod.run(ctx, argv)
        return code
    except DockyardError as e:
        sys.stderr.write(f"Error: {e}\n")
        return EXIT_ENGINE_ERROR
    except OSError as e:
        if ctx.debug:
            raise
        sys.stderr.write(f"Error: {e}\n")
        return EXIT_ENGINE_ERROR
    except KeyboardInterrupt:
        return 130
