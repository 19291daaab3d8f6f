"""``dockyard ps``: list containers, Docker's table."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.containers import ContainerRecord


def _status(r: ContainerRecord) -> str:
    import time

    from dockyard.cli._image import human_duration, parse_time

    if r.status.value == "running":
        return "Up " + human_duration(time.time() - parse_time(r.started_at))
    if r.status.value == "exited":
        return (f"Exited ({r.exit_code}) "
                + human_duration(time.time() - parse_time(r.finished_at)) + " ago")
    return r.status.value.capitalize()


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import since, table
    from dockyard.engine.containers import ContainerStore
    from dockyard.errors import InvalidArgument

    show_all = quiet = no_trunc = False
    for a in argv:
        if a in ("-a", "--all"):
            show_all = True
        elif a in ("-q", "--quiet"):
            quiet = True
        elif a == "--no-trunc":
            no_trunc = True
        elif a in ("-aq", "-qa"):
            show_all = quiet = True
        else:
            raise InvalidArgument(f"unknown flag: {a}")
    with ContainerStore(ctx.root) as store:
        # A foreground `run` killed with its container leaves "running" behind: say exited.
        store.reconcile(lambda r: r.pid > 0 and os.path.exists(f"/proc/{r.pid}"))
        records = store.list(all=show_all)
    if quiet:
        sys.stdout.write("".join((r.id if no_trunc else r.short_id) + "\n" for r in records))
        return 0
    rows = []
    for r in records:
        cmd = " ".join(r.config.get("Cmd") or [])
        if not no_trunc and len(cmd) > 20:
            cmd = cmd[:19] + "…"
        rows.append([r.id if no_trunc else r.short_id, r.image, f'"{cmd}"',
                     since(r.created), _status(r), "", r.name])
    sys.stdout.write(table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                            "NAMES"], rows))
    return 0
