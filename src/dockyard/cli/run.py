"""``dockyard run``: create a container from an image and run it in the foreground, or
(``-d``) detached under a monitor process."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine
    from dockyard.engine.run_options import RunOptions

USAGE = "dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]"


def _parser() -> argparse.ArgumentParser:
    from dockyard.cli._image import parser
    from dockyard.cli._netflags import add_network_flags

    p = parser("run", USAGE, description="Create and run a new container from an image",
               short_h=False)
    p.add_argument("--name", default="")
    p.add_argument("--rm", action="store_true")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("-w", "--workdir")
    p.add_argument("-u", "--user")
    p.add_argument("--entrypoint")
    p.add_argument("-h", "--hostname")
    p.add_argument("-m", "--memory")
    p.add_argument("--cpus")
    p.add_argument("--pids-limit", type=int)
    p.add_argument("--cap-add", action="append", default=[])
    p.add_argument("--cap-drop", action="append", default=[])
    p.add_argument("--read-only", action="store_true")
    add_network_flags(p)
    p.add_argument("image")
    p.add_argument("command", nargs="...")
    return p


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import UsageError
    from dockyard.cli._netflags import net_options
    from dockyard.engine.lifecycle import Engine, ExecFailure
    from dockyard.engine.run_options import RunOptions

    try:
        args = _parser().parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard run --help'.\n")
        return 125
    opts = RunOptions(cmd=list(args.command), entrypoint=args.entrypoint, env=args.env,
                      workdir=args.workdir, user=args.user, hostname=args.hostname,
                      memory=args.memory, cpus=args.cpus, pids_limit=args.pids_limit,
                      cap_add=args.cap_add, cap_drop=args.cap_drop, read_only=args.read_only,
                      net=net_options(args))
    engine = Engine(ctx.root, ctx.exec_root)
    if args.detach:
        return _detached(engine, args.image, opts, args.name, args.rm)
    try:
        record = engine.create(args.image, opts, name=args.name)
        try:
            return engine.run_foreground(record)
        except ExecFailure as e:
            sys.stderr.write(f"dockyard: Error response from daemon: failed to create "
                             f"task for container: {e}: unknown.\n")
            return e.status
        finally:
            if args.rm:
                engine.remove(record.id, force=True)
    finally:
        engine.close()



def _detached(engine: Engine, image: str, opts: RunOptions, name: str,
              auto_remove: bool) -> int:
    """``run -d``: a monitor runs the container; print its id once it started."""
    from dockyard.engine.monitor import spawn_monitor

    try:
        record = engine.create(image, opts, name=name)
    except BaseException:
        engine.close()
        raise
    report = spawn_monitor(engine, record, auto_remove)  # closes the engine
    if report.get("started"):
        sys.stdout.write(record.id + "\n")
        return 0
    status = int(report.get("status", 125))
    error = report.get("error", "")
    if status in (126, 127):
        sys.stderr.write(f"dockyard: Error response from daemon: failed to create "
                         f"task for container: {error}: unknown.\n")
    else:
        sys.stderr.write(f"dockyard: Error response from daemon: {error}\n")
    return status
