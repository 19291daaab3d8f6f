"""``dockyard run``: create a container from an image and run it in the foreground, or
(``-d``) detached under a monitor process."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.main import Context
    from dockyard.runtime.launch import Spawned

USAGE = "dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]"
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.engine import early_start

    # Before the imports below: stage 1 starts on the other CPU meanwhile.
    spawned = early_start.fork_stage1() if early_start.may_run_in_foreground(argv) else None
    try:
        return _run(ctx, argv, spawned)
    finally:
        if spawned is not None:
            spawned.abort()  # a no-op once the container's create used it


def _run(ctx: Context, argv: list[str], spawned: Spawned | None) -> int:
    from dockyard.cli._container_flags import client_env, container_parser, options_from
    from dockyard.cli._image import UsageError
    from dockyard.engine.lifecycle import Engine, ExecFailure
    from dockyard.errors import DockyardError

    p = container_parser("run", USAGE, "Create and run a new container from an image")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("--detach-keys", default=DEFAULT_DETACH_KEYS)
    p.add_argument("--sig-proxy", default="true")
    try:
        args = p.parse_args(argv)
        opts = options_from(args)
        streams, keys = _stream_flags(args)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard run --help'.\n")
        return 125
    except DockyardError as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard run --help'.\n")
        return 125
    if args.tty and args.interactive and not args.detach and not sys.stdin.isatty():
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        record = engine.create(args.image, opts, name=args.name, detach=args.detach,
                               client_env=client_env(), pull=args.pull,
                               platform=args.platform, keep_mounted=True)
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
    if args.tty or args.interactive or streams:
        from dockyard.cli.attach import run_attached

        return run_attached(engine, record, streams=streams, interactive=args.interactive,
                            detach_keys=keys,
                            sig_proxy=args.sig_proxy.lower() not in ("false", "0"))
    _stdin_from_devnull()  # no -i: the container reads an empty stdin, as Docker's
    try:
        try:
            return engine.run_foreground(record, spawned)
        except ExecFailure as e:
            return start_failed({"status": e.status, "error": str(e)})
        finally:
            if args.rm:
                engine.remove(record.id, force=True, volumes=True)
    finally:
        engine.close()


def _stdin_from_devnull() -> None:
    import os

    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def _stream_flags(args: Any) -> tuple[list[str], bytes]:
    """``-a`` streams and ``--detach-keys``, checked (see :mod:`dockyard.cli.attach`)."""
    if not args.attach and args.detach_keys == DEFAULT_DETACH_KEYS:
        return [], b"\x10\x11"  # the common case, without the attach modules' imports
    from dockyard.cli.attach import check_streams
    from dockyard.cli.terminal import parse_detach_keys
    from dockyard.errors import InvalidArgument

    if args.detach and args.attach:
        raise InvalidArgument("Conflicting options: -a and -d")
    return check_streams(args.attach), parse_detach_keys(args.detach_keys)


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
