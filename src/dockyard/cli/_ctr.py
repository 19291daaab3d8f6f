"""Shared by the container filesystem verbs (cp, diff, commit, export, stats, events):
argparse without exiting, and Docker's ``Error response from daemon`` lines (exit 1)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine


def parse(p: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed flags, or the exit status after a usage error (125) or ``--help`` (0)."""
    from dockyard.cli._image import UsageError

    try:
        return p.parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}\nSee '{p.prog} --help'.\n")
        return 125
    except SystemExit as e:
        return int(e.code or 0)


def with_engine(ctx: Context, body: Callable[[Engine], int], *,
                prefix: str = "Error response from daemon: ") -> int:
    """Run ``body`` with an engine; dockyard's errors become one line and exit 1."""
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    engine = Engine(ctx.root, ctx.exec_root)
    try:
        return body(engine)
    except DockyardError as e:
        sys.stderr.write(f"{prefix}{e}\n")
        return 1
    finally:
        engine.close()
