"""``dockyard attach CONTAINER``: the local stdio onto a running container's (its monitor's
attach socket); also the attached half of ``run -i/-t/-a`` and ``start -a``."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

    from dockyard.cli.main import Context
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine

USAGE = "dockyard attach [OPTIONS] CONTAINER"
STREAMS = ("stdin", "stdout", "stderr")


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import UsageError, parser
    from dockyard.cli.terminal import DEFAULT_DETACH_KEYS, parse_detach_keys
    from dockyard.engine.attach import connect
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    p = parser("attach", USAGE, description="Attach local standard input, output, and "
               "error streams to a running container")
    p.add_argument("--no-stdin", action="store_true")
    p.add_argument("--sig-proxy", default="true")
    p.add_argument("--detach-keys", default=DEFAULT_DETACH_KEYS)
    p.add_argument("container")
    try:
        args = p.parse_args(argv)
        keys = parse_detach_keys(args.detach_keys)
    except (UsageError, DockyardError) as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard attach --help'.\n")
        return 125
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        record, sock = connect(engine, args.container)
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    finally:
        engine.close()
    stdin = bool(record.config.get("OpenStdin")) and not args.no_stdin
    code = stream(record, sock, stdin=stdin, detach_keys=keys,
                  sig_proxy=args.sig_proxy.lower() not in ("false", "0"))
    if code is None:  # Docker's attach reports the detach as an error
        sys.stderr.write("read escape sequence\n")
        return 1
    return code


def stream(record: ContainerRecord, sock: socket.socket, *, stdin: bool,
           stdout: bool = True, stderr: bool = True, stdin_once: bool = False,
           detach_keys: bytes = b"\x10\x11", sig_proxy: bool = True) -> int | None:
    """The session over an attach socket; the container's exit code, None on detach."""
    from dockyard.cli.terminal import NOT_A_TTY, SocketPeer, session

    tty = bool(record.config.get("Tty"))
    if tty and stdin and not os.isatty(sys.stdin.fileno()):
        sock.close()
        sys.stderr.write(NOT_A_TTY)
        return 1
    peer = SocketPeer(sock, stdin_once)
    try:
        code = session(peer, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty,
                       detach_keys=detach_keys, sig_proxy=sig_proxy)
    finally:
        peer.close()
    if code is None:  # detached: the container runs on
        return None
    return code if code >= 0 else 125


def run_attached(engine: Engine, record: ContainerRecord, *, streams: list[str],
                 interactive: bool, detach_keys: bytes, sig_proxy: bool = True) -> int:
    """``run -i/-t/-a`` in the foreground: the container runs under its monitor (so that
    the detach keys leave it running), with this CLI as its first attached client.
    ``engine`` is closed here."""
    import socket

    from dockyard.cli.run import start_failed
    from dockyard.cli.terminal import window_size
    from dockyard.engine.attach import RESIZE, send_frame
    from dockyard.engine.monitor import spawn_monitor

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    size = window_size(sys.stdin.fileno()) if record.config.get("Tty") else None
    if size is not None:  # queued: the pty is sized before the container starts
        send_frame(ours, RESIZE, f"{size[0]} {size[1]}".encode())
    with theirs:
        report = spawn_monitor(engine, record, attach_fd=theirs.fileno())  # closes engine
    if not report.get("started"):
        ours.close()
        return start_failed(report)
    want = set(streams) if streams else {"stdout", "stderr"}
    stdin = interactive or "stdin" in want
    code = stream(record, ours, stdin=stdin, stdout="stdout" in want,
                  stderr="stderr" in want, stdin_once=stdin, detach_keys=detach_keys,
                  sig_proxy=sig_proxy)
    return 0 if code is None else code


def check_streams(values: list[str]) -> list[str]:
    """``-a`` values, lower-cased; Docker's error for any other."""
    from dockyard.errors import InvalidArgument

    out = [v.lower() for v in values]
    for v, low in zip(values, out, strict=True):
        if low not in STREAMS:
            raise InvalidArgument(f'invalid argument "{v}" for "-a, --attach" flag: valid '
                                  "streams are STDIN, STDOUT and STDERR")
    return out


def start_attached(ctx: Context, argv: list[str]) -> int:
    """``start -a [-i] CONTAINER``: start it under its monitor, attached from the first
    byte; the container's exit code. A running container is attached to."""
    import socket

    from dockyard.cli._image import UsageError, parser
    from dockyard.cli.run import start_failed
    from dockyard.cli.terminal import DEFAULT_DETACH_KEYS, NOT_A_TTY, parse_detach_keys
    from dockyard.engine.attach import connect
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    p = parser("start", "dockyard start [OPTIONS] CONTAINER [CONTAINER...]",
               description="Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true")
    p.add_argument("-i", "--interactive", action="store_true")
    p.add_argument("--detach-keys", default=DEFAULT_DETACH_KEYS)
    p.add_argument("containers", nargs="+")
    try:
        args = p.parse_args(argv)
        keys = parse_detach_keys(args.detach_keys)
    except (UsageError, DockyardError) as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard start --help'.\n")
        return 125
    if len(args.containers) > 1:
        sys.stderr.write("Error: you cannot start and attach multiple containers at once\n")
        return 1
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        config = engine.containers.get(args.containers[0]).config
    except DockyardError as e:
        engine.close()
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    if (args.interactive and config.get("Tty") and config.get("OpenStdin")
            and not os.isatty(sys.stdin.fileno())):
        engine.close()
        sys.stderr.write(NOT_A_TTY)
        return 1
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with theirs:
            record, report = engine.start(args.containers[0], theirs.fileno())
        if "pid" not in report and report.get("started"):  # it ran already
            ours.close()
            engine = Engine(ctx.root, ctx.exec_root)
            try:
                record, ours = connect(engine, record.id)
            finally:
                engine.close()
    except DockyardError as e:
        ours.close()
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    if not report.get("started"):
        ours.close()
        start_failed(report)
        sys.stderr.write(f"Error: failed to start containers: {args.containers[0]}\n")
        return 1
    stdin = args.interactive and bool(record.config.get("OpenStdin"))
    code = stream(record, ours, stdin=stdin, stdin_once=stdin, detach_keys=keys)
    return 0 if code is None else code
