"""``dockyard exec [OPTIONS] CONTAINER COMMAND [ARG...]``: run a command in a running
container; the command's exit code is ours (126 if it could not be started)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.exec import ExecOptions

USAGE = "dockyard exec [OPTIONS] CONTAINER COMMAND [ARG...]"


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._container_flags import client_env
    from dockyard.cli._image import UsageError, parser
    from dockyard.cli.terminal import (
        DEFAULT_DETACH_KEYS,
        NOT_A_TTY,
        parse_detach_keys,
        window_size,
    )
    from dockyard.engine.exec import ExecOptions
    from dockyard.errors import DockyardError

    p = parser("exec", USAGE, description="Run a command in a running container")
    for short, flag in (("-i", "--interactive"), ("-t", "--tty"), ("-d", "--detach")):
        p.add_argument(short, flag, action="store_true")
    p.add_argument("--privileged", action="store_true")
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("--env-file", action="append", default=[])
    p.add_argument("-u", "--user")
    p.add_argument("-w", "--workdir")
    p.add_argument("--detach-keys", default=DEFAULT_DETACH_KEYS)
    p.add_argument("container")
    p.add_argument("command", nargs="...")
    try:
        args = p.parse_args(argv)
        keys = parse_detach_keys(args.detach_keys)
        env = _env(args.env_file, args.env, client_env())
    except (UsageError, DockyardError) as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard exec --help'.\n")
        return 125
    if not args.command:
        sys.stderr.write('"dockyard exec" requires at least 2 arguments.\n'
                         "See 'dockyard exec --help'.\n")
        return 1
    if args.tty and args.interactive and not args.detach and not sys.stdin.isatty():
        sys.stderr.write(NOT_A_TTY)
        return 1
    opts = ExecOptions(cmd=list(args.command), env=env, user=args.user,
                       workdir=args.workdir, tty=args.tty and not args.detach,
                       interactive=args.interactive, detach=args.detach,
                       privileged=args.privileged,
                       console_size=window_size(sys.stdin.fileno()) if args.tty else None)
    return _exec(ctx, args.container, opts, keys)


def _env(files: list[str], flags: list[str], client: dict[str, str]) -> list[str]:
    """``--env-file`` lines then ``-e``; a bare ``NAME`` takes the CLI's value (or goes)."""
    from dockyard.engine.run_options import parse_env_file
    from dockyard.errors import InvalidArgument

    out: list[str] = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                out += parse_env_file(f.read(), client)
        except OSError as e:
            raise InvalidArgument(f"open {path}: {(e.strerror or str(e)).lower()}") from None
    for entry in flags:
        if "=" not in entry:
            if entry not in client:
                continue
            entry = f"{entry}={client[entry]}"
        out.append(entry)
    return out


def _exec(ctx: Context, ref: str, opts: ExecOptions, keys: bytes) -> int:
    from dockyard.cli.terminal import PtyPeer, session
    from dockyard.engine.exec import ExecStartFailed, run_exec, start_exec
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError, NotFound

    engine = Engine(ctx.root, ctx.exec_root)
    try:
        if not opts.tty:
            return run_exec(engine, ref, opts)
        master, pid = start_exec(engine, ref, opts)
    except ExecStartFailed as e:
        sys.stderr.write(f"{e}\n")
        return e.status
    except NotFound as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    finally:
        engine.close()
    peer = PtyPeer(master, pid)
    try:
        code = session(peer, stdin=opts.interactive, tty=True, detach_keys=keys)
        if code is None:  # detached: the process runs on
            from dockyard.engine.exec import hold_detached

            hold_detached(master)
            sys.stderr.write("read escape sequence\n")
    finally:
        peer.close()
    return 0 if code is None else code
