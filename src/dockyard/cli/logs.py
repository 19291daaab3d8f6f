"""``dockyard logs [-f] [-t] [--tail N] CONTAINER``: a container's json-file log."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import BinaryIO

    from dockyard.cli.main import Context
    from dockyard.engine.containers import ContainerStore

USAGE = "dockyard logs [OPTIONS] CONTAINER"


def _parser() -> argparse.ArgumentParser:
    from dockyard.cli._image import parser

    p = parser("logs", USAGE, description="Fetch the logs of a container", short_h=False)
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-t", "--timestamps", action="store_true")
    p.add_argument("-n", "--tail", default="all")
    p.add_argument("container")
    return p


def _emit(line: bytes, timestamps: bool) -> None:
    import json

    try:
        entry = json.loads(line)
    except ValueError:
        return
    out = sys.stderr if entry.get("stream") == "stderr" else sys.stdout
    text = entry.get("log", "")
    if timestamps:
        text = f"{entry.get('time', '')} {text}"
    out.write(text)
    out.flush()


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import UsageError
    from dockyard.engine.containers import ContainerStore
    from dockyard.engine.monitor import log_path
    from dockyard.errors import NotFound

    try:
        args = _parser().parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}.\nSee 'dockyard logs --help'.\n")
        return 1
    tail = -1
    if args.tail != "all":
        try:
            tail = int(args.tail)
        except ValueError:
            sys.stderr.write(f'invalid value for "tail": "{args.tail}"\n')
            return 1
    with ContainerStore(ctx.root) as store:
        try:
            record = store.get(args.container)
        except NotFound as e:
            sys.stderr.write(f"Error response from daemon: {e}\n")
            return 1
        path = log_path(record)
        try:
            f: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return 0  # a foreground container: its output went to the terminal
        from dockyard.engine.logfile import read_log

        with f:
            rotated = read_log(path, rotated_only=True)  # --log-opt max-file: older files
            lines = (rotated + f.read()).splitlines(keepends=True)
            partial = b""
            if lines and not lines[-1].endswith(b"\n"):
                partial = lines.pop()
            if tail >= 0:
                lines = lines[len(lines) - tail:] if tail else []
            for line in lines:
                _emit(line, args.timestamps)
            if not args.follow:
                return 0
            _follow(store, record.id, f, partial, args.timestamps, path).close()
    return 0


def _follow(store: ContainerStore, cid: str, f: BinaryIO, partial: bytes,
            timestamps: bool, path: str) -> BinaryIO:
    """Print lines as they are written until the container is no longer running (its
    monitor records that only after the last line is written). A rotated log
    (``--log-opt max-size``) is read to its end, then the new file is followed; the file
    open at the end is returned (the caller closes it)."""
    import os
    import time

    from dockyard.engine.monitor import monitor_holds
    from dockyard.errors import NotFound

    while True:
        try:
            rec = store.get(cid)
            # the monitor records the exit once the last line is written; a monitor
            # killed with its container leaves "running" behind: look at the pid too
            running = rec.status.is_active and (
                monitor_holds(rec) or (rec.pid > 0 and os.path.exists(f"/proc/{rec.pid}")))
        except NotFound:
            running = False
        chunk = f.read()
        if chunk:
            partial += chunk
            *whole, partial = partial.split(b"\n")
            for line in whole:
                _emit(line + b"\n", timestamps)
            continue
        try:
            rotated = os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
        except FileNotFoundError:
            rotated = False
        if rotated:
            f.close()
            f = open(path, "rb")  # noqa: SIM115 - the caller closes it
            continue
        if not running:
            return f
        time.sleep(0.1)
