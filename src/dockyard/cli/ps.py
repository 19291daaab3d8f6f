"""``dockyard ps`` / ``container ls``: list containers; Docker's table, ``--format``,
``-a -q -s -l -n N --no-trunc --filter``."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

DEFAULT = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
           "{{.Ports}}\t{{.Names}}")
HELP = """\
Usage:  dockyard ps [OPTIONS]

List containers

Options:
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Pretty-print containers using a Go template
  -n, --last int        Show n last created containers (includes all states) (default -1)
  -l, --latest          Show the latest created container (includes all states)
      --no-trunc        Don't truncate output
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes
"""


SPEC = {"all": "bool", "a": "=all", "quiet": "bool", "q": "=quiet", "no-trunc": "bool",
        "size": "bool", "s": "=size", "latest": "bool", "l": "=latest", "last": "str",
        "n": "=last", "filter": "list", "f": "=filter", "format": "str", "help": "bool"}


def _expand(argv: list[str]) -> list[str]:
    """pflag's short forms: ``-aq`` -> ``-a -q``, ``-n2`` -> ``-n 2``, ``-af X`` -> ``-a -f
    X``."""
    out: list[str] = []
    for a in argv:
        if len(a) <= 2 or a[0] != "-" or a[1] == "-":
            out.append(a)
            continue
        for i, c in enumerate(a[1:], 1):
            if c in "aqsl":
                out.append(f"-{c}")
            elif c in "nf":
                out.append(f"-{c}")
                if a[i + 1:]:
                    out.append(a[i + 1:].removeprefix("="))
                break
            else:
                out.append(f"-{a[i:]}")  # unknown: let the parser report it
                break
    return out


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._args import parse
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError, InvalidArgument

    try:
        flags = parse(_expand(argv), SPEC)
        last = int(flags.opt("last") or "-1")
        filters: dict[str, list[str]] = {}
        for f in flags.many("filter"):
            key, eq, value = f.partition("=")
            if not eq:
                raise InvalidArgument(f'invalid argument "{f}" for "-f, --filter" flag: '
                                      "bad format of filter (expected name=value)")
            filters.setdefault(key.strip().lower(), []).append(value)
    except (InvalidArgument, ValueError) as e:
        sys.stderr.write(f"{e}\nSee 'dockyard ps --help'.\n")
        return 125
    if flags.flag("help"):
        sys.stdout.write(HELP)
        return 0
    if flags.flag("latest"):
        last = 1
    try:
        engine = Engine(ctx.root, ctx.exec_root)
        try:
            # A killed monitor or foreground `run` (a host restart) leaves "running"
            # behind: say exited once nobody runs the container.
            engine.refresh_all()
            records = engine.containers.list(all=flags.flag("all"), filters=filters,
                                             limit=max(last, 0))
        finally:
            engine.close()
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    trunc = not flags.flag("no-trunc")
    fmt = flags.opt("format") or ""
    if flags.flag("quiet"):
        fmt = "{{.ID}}"
    elif not fmt or fmt == "table":
        fmt = DEFAULT + ("\t{{.Size}}" if flags.flag("size") else "")
    sizes: dict[str, tuple[int, int]] = {}
    if flags.flag("size") or ".Size" in fmt:
        from dockyard.engine.inspect import container_sizes

        sizes = container_sizes(ctx.root, records)
    from dockyard.cli._ps_view import HEADERS, context
    from dockyard.template import TemplateError, render_rows

    try:
        sys.stdout.write(render_rows(fmt, [context(r, trunc, sizes.get(r.id), ctx.root)
                                           for r in records], HEADERS))
    except TemplateError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    return 0
