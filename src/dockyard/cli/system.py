"""``dockyard system check [--repair]`` and ``dockyard system prune [-a] [-f]``."""

from __future__ import annotations

import sys

from dockyard.cli import _image as ci
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.cli.main import Context

USAGE = """\
Usage:  dockyard system COMMAND

Manage dockyard

Commands:
  check       Check the root's state for dangling or partial data (--repair fixes it)
  df          Show dockyard disk usage
  prune       Remove unused data
"""


def run(ctx: Context, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    verb = {"check": _check, "prune": _prune, "df": _df}.get(argv[0])
    if verb is None:
        sys.stderr.write(f"dockyard: 'system {argv[0]}' is not a dockyard command.\n"
                         "See 'dockyard system --help'\n")
        return 125
    p = ci.parser(f"system {argv[0]}", f"dockyard system {argv[0]} [OPTIONS]")
    if argv[0] == "check":
        p.add_argument("--repair", action="store_true",
                       help="fix what is found (remove dangling and stale data)")
    elif argv[0] == "prune":
        p.add_argument("-a", "--all", action="store_true",
                       help="remove all unused images, not just dangling ones")
        p.add_argument("-f", "--force", action="store_true", help="do not prompt")
        p.add_argument("--volumes", action="store_true", help="prune anonymous volumes")
    try:
        args = p.parse_args(argv[1:])
    except ci.UsageError as e:
        sys.stderr.write(f"dockyard: {e}\nSee '{p.prog} --help'.\n")
        return 125
    except SystemExit as e:  # --help
        return int(e.code or 0)
    try:
        return verb(ctx, args)
    except (DockyardError, OSError) as e:
        if ctx.debug and not isinstance(e, DockyardError):
            raise
        sys.stderr.write(f"Error: {ci.one_line(e)}\n")
        return 1


def _check(ctx: Context, a: argparse.Namespace) -> int:
    """Exit 0 when nothing (left) is wrong, 1 when problems were found and not repaired."""
    from dockyard.engine.system import check

    findings = check(ctx.root, ctx.exec_root, repair=a.repair)
    for f in findings:
        sys.stdout.write(f.line() + "\n")
    problems = [f for f in findings if f.problem]
    if not problems:
        sys.stdout.write("no problems found\n")
        return 0
    n = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    if a.repair:
        sys.stdout.write(f"{n} repaired\n")
        return 0
    sys.stdout.write(f"{n} found; run 'dockyard system check "
                     "--repair' to fix them\n")
    return 1


def _prune(ctx: Context, a: argparse.Namespace) -> int:
    from dockyard.engine.system import prune

    if not a.force:
        images = ("all images without at least one container associated to them" if a.all
                  else "all dangling images")
        vols = ("  - all anonymous volumes not used by at least one container\n"
                if a.volumes else "")
        sys.stdout.write("WARNING! This will remove:\n  - all stopped containers\n"
                         "  - all networks not used by at least one container\n"
                         f"{vols}  - {images}\n\nAre you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stdout.write("\n")
            return 0
    report = prune(ctx.root, ctx.exec_root, a.all, a.volumes)
    if report.containers:
        sys.stdout.write("Deleted Containers:\n"
                         + "".join(f"{c}\n" for c in report.containers) + "\n")
    if report.networks:
        sys.stdout.write("Deleted Networks:\n" + "".join(f"{n}\n" for n in report.networks)
                         + "\n")
    if report.volumes:
        sys.stdout.write("Deleted Volumes:\n" + "".join(f"{v}\n" for v in report.volumes)
                         + "\n")
    if report.images:
        sys.stdout.write("Deleted Images:\n" + "".join(f"{ln}\n" for ln in report.images)
                         + "\n")
    sys.stdout.write(f"Total reclaimed space: {ci.human_size(report.reclaimed)}\n")
    return 0


def _size(n: float) -> str:
    """go-units ``HumanSize`` (``docker system df``): 4 significant digits."""
    return ci.human_size(n, 4)


def _df(ctx: Context, a: argparse.Namespace) -> int:
    """Docker's table (tabwriter: min width 10, padding 3); volumes and build cache are
    not dockyard's yet: zero rows, as Docker shows an unused kind."""
    from dockyard.engine.system import disk_usage

    du = disk_usage(ctx.root)
    rows = [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]]
    for kind, (total, active, size, free) in (("Images", du.images),
                                              ("Containers", du.containers)):
        pct = f" ({free * 100 // size}%)" if size else ""
        rows.append([kind, str(total), str(active), _size(size), _size(free) + pct])
    total, active, size, free = du.volumes
    pct = f" ({free * 100 // size}%)" if size else ""
    rows += [["Local Volumes", str(total), str(active), _size(size), _size(free) + pct],
             ["Build Cache", "0", "0", "0B", "0B"]]
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(4)]
    for r in rows:
        sys.stdout.write("".join(c.ljust(w) for c, w in zip(r, widths, strict=False))
                         + r[4] + "\n")
    return 0
