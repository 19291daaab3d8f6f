"""``dockyard run``: create a container from an image and run it in the foreground, or
(``-d``) detached under a monitor process."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.cli.main import Context

USAGE = "dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]"


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._container_flags import client_env, container_parser, options_from
    from dockyard.cli._image import UsageError
    from dockyard.engine.lifecycle import Engine, ExecFailure
    from dockyard.errors import DockyardError

    p = container_parser("run", USAGE, "Create and run a new container from an image")
    p.add_argument("-d", "--detach", action="store_true")
    try:
        args = p.parse_args(argv)
        opts = options_from(args)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard run --help'.\n")
        return 125
    except DockyardError as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard run --help'.\n")
        return 125
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        record = engine.create(args.image, opts, name=args.name, detach=args.detach,
                               client_env=client_env(), pull=args.pull,
                               platform=args.platform)
    except BaseException:
        engine.close()
        raise
    if args.detach:
        from dockyard.engine.monitor import spawn_monitor

        report = spawn_monitor(engine, record)  # closes the engine
        if report.get("started"):
            sys.stdout.write(record.id + "\n")
            return 0
        return start_failed(report)
    try:
        try:
            return engine.run_foreground(record)
        except ExecFailure as e:
            return start_failed({"status": e.status, "error": str(e)})
        finally:
            if args.rm:
                engine.remove(record.id, force=True, volumes=True)
    finally:
        engine.close()


def start_failed(report: dict[str, Any]) -> int:
    """Docker's message for a container that did not start; its exit status."""
    status = int(report.get("status", 125))
    error = report.get("error", "")
    if status in (126, 127):
        sys.stderr.write(f"dockyard: Error response from daemon: failed to create "
                         f"task for container: {error}: unknown.\n")
    else:
        sys.stderr.write(f"dockyard: Error response from daemon: {error}\n")
    return status
