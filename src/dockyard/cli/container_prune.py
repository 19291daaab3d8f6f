"""``dockyard container prune [-f] [--filter until=...|label=...]``: remove every
stopped container."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def _until(value: str) -> float:
    """A Unix time, an RFC 3339 date or a Go duration before now."""
    import calendar
    import time

    from dockyard.engine.run_options import parse_duration
    from dockyard.errors import InvalidArgument

    try:
        return float(value)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return float(calendar.timegm(time.strptime(value.rstrip("Z")[:19], fmt)))
        except ValueError:
            continue
    try:
        return time.time() - parse_duration(value, "--filter") / 1e9
    except InvalidArgument:
        raise InvalidArgument(f'invalid filter \'until={value}\'') from None


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import human_size
    from dockyard.engine import control
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import InvalidArgument

    values: dict[str, list[str]] = {"filter": []}
    force = False
    it = iter(argv)
    for a in it:
        if a in ("-f", "--force"):
            force = True
        elif a == "--filter" or a.startswith("--filter="):
            v = a.partition("=")[2] if "=" in a else next(it, "")
            values["filter"].append(v)
        else:
            sys.stderr.write(f"unknown flag: {a}\nSee 'dockyard container prune --help'.\n")
            return 125
    until: float | None = None
    want: list[str] = []
    unwanted: list[str] = []
    for f in values["filter"]:
        key, _, value = f.partition("=")
        if key == "until":
            until = _until(value)
        elif key == "label":
            want.append(value)
        elif key.startswith("label!"):
            unwanted.append(value.lstrip("="))
        else:
            raise InvalidArgument(f"Invalid filter '{key}'")
    if not force:
        sys.stdout.write("WARNING! This will remove all stopped containers.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    engine = Engine(ctx.root, ctx.exec_root)
    try:
        removed, reclaimed = control.prune(engine, until, (want, unwanted))
    finally:
        engine.close()
    if removed:
        sys.stdout.write("Deleted Containers:\n" + "".join(f"{c}\n" for c in removed) + "\n")
    sys.stdout.write(f"Total reclaimed space: {human_size(reclaimed, 4)}\n")
    return 0
