"""``dockyard ps``: list containers, Docker's table."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.containers import ContainerRecord


def _status(r: ContainerRecord) -> str:
    """moby ``State.String``: Up/Paused/Restarting/Exited, with the health in brackets."""
    import time

    from dockyard.cli._image import human_duration, parse_time

    status = r.status.value
    if status in ("running", "paused"):
        text = "Up " + human_duration(time.time() - parse_time(r.started_at))
        if status == "paused":
            return text + " (Paused)"
        health = (r.health or {}).get("Status")
        if health == "starting":
            return text + " (health: starting)"
        return text + (f" ({health})" if health in ("healthy", "unhealthy") else "")
    if status == "restarting":
        return (f"Restarting ({r.exit_code}) "
                + human_duration(time.time() - parse_time(r.finished_at)) + " ago")
    if status == "exited":
        return (f"Exited ({r.exit_code}) "
                + human_duration(time.time() - parse_time(r.finished_at)) + " ago")
    if status == "removing":
        return "Removal In Progress"
    return status.capitalize()


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import since, table
    from dockyard.engine.lifecycle import Engine
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
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        # A killed monitor or foreground `run` (a host restart) leaves "running" behind:
        # say exited once nobody runs the container.
        engine.refresh_all()
        records = engine.containers.list(all=show_all)
    finally:
        engine.close()
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
