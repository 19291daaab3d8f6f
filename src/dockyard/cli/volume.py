"""``dockyard volume create|ls|inspect|rm|prune``: Docker's volume verbs.

Like Docker's, they exit 1 when the engine reports an error and 125 for bad flags."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from dockyard.cli.main import Context
    from dockyard.engine.volumes import Volumes

USAGE = """\
Usage:  dockyard volume COMMAND

Manage volumes

Commands:
  create      Create a volume
  inspect     Display detailed information on one or more volumes
  ls          List volumes
  prune       Remove unused local volumes
  rm          Remove one or more volumes
"""


def run(ctx: Context, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    verb = {"create": _create, "ls": _ls, "list": _ls, "inspect": _inspect, "rm": _rm,
            "remove": _rm, "prune": _prune}.get(argv[0])
    if verb is None:
        sys.stderr.write(f"dockyard: 'volume {argv[0]}' is not a dockyard command.\n"
                         "See 'dockyard volume --help'\n")
        return 125
    return verb(ctx, argv[1:])


def _call(ctx: Context, p: argparse.ArgumentParser, argv: list[str],
          body: Callable[[Volumes, argparse.Namespace], int]) -> int:
    from dockyard.cli import _image as ci
    from dockyard.engine.volumes import Volumes
    from dockyard.errors import DockyardError

    try:
        args = p.parse_args(argv)
    except ci.UsageError as e:
        sys.stderr.write(f"dockyard: {e}\nSee '{p.prog} --help'.\n")
        return 125
    except SystemExit as e:  # --help
        return int(e.code or 0)
    from dockyard.template import TemplateError

    vols = Volumes(ctx.root)
    try:
        return body(vols, args)
    except TemplateError as e:  # the CLI's own error, as Docker's formatter reports it
        sys.stderr.write(f"{e}\n")
        return 1
    except (DockyardError, OSError) as e:
        if ctx.debug and not isinstance(e, DockyardError):
            raise
        sys.stderr.write(f"Error response from daemon: {ci.one_line(e)}\n")
        return 1
    finally:
        vols.close()


def _kv(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _create(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import parser

    p = parser("volume create", "dockyard volume create [OPTIONS] [VOLUME]")
    p.add_argument("volume", nargs="?")
    p.add_argument("--name", default="")
    p.add_argument("-d", "--driver", default="local")
    p.add_argument("--label", action="append", default=[])
    p.add_argument("-o", "--opt", action="append", default=[])

    def body(vols: Volumes, a: argparse.Namespace) -> int:
        if a.volume and a.name and a.volume != a.name:
            sys.stderr.write("Conflicting options: either specify --name or provide "
                             "positional arg, not both\n")
            return 1
        rec, _ = vols.create(a.volume or a.name, a.driver, _kv(a.label), _kv(a.opt))
        sys.stdout.write(rec.name + "\n")
        return 0

    return _call(ctx, p, argv, body)


def _fields(vols: Volumes, names: list[str]) -> list[dict[str, Any]]:
    return [vols.inspect(n) for n in names]


def _ls(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _image as ci

    p = ci.parser("volume ls", "dockyard volume ls [OPTIONS]")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[])
    p.add_argument("--format")

    def body(vols: Volumes, a: argparse.Namespace) -> int:
        recs = vols.list(a.filter)
        if a.quiet:
            sys.stdout.write("".join(r.name + "\n" for r in recs))
        elif a.format:
            fields = []
            for f in _fields(vols, [r.name for r in recs]):
                labels = f["Labels"] or {}
                fields.append({**f, "Labels": ",".join(f"{k}={v}" for k, v in
                                                       sorted(labels.items())),
                               "Size": "N/A", "Links": "N/A"})
            sys.stdout.write(ci.render(a.format, fields, {"Name": "VOLUME NAME"}))
        else:
            sys.stdout.write(ci.table(["DRIVER", "VOLUME NAME"],
                                      [[r.driver, r.name] for r in recs]))
        return 0

    return _call(ctx, p, argv, body)


def _inspect(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _image as ci
    from dockyard.cli.inspect import emit
    from dockyard.errors import NotFound

    p = ci.parser("volume inspect", "dockyard volume inspect [OPTIONS] VOLUME [VOLUME...]")
    p.add_argument("volumes", nargs="+")
    p.add_argument("-f", "--format")

    def body(vols: Volumes, a: argparse.Namespace) -> int:
        found, missing = [], []
        for name in a.volumes:
            try:
                found.append(vols.inspect(name))
            except NotFound as e:
                missing.append(str(e))
        code = emit(found, [], a.format)  # Docker's JSON or template, as ``inspect``
        for msg in missing:
            sys.stderr.write(f"Error response from daemon: {msg}\n")
        return code or (1 if missing else 0)

    return _call(ctx, p, argv, body)


def _rm(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import parser
    from dockyard.errors import DockyardError

    p = parser("volume rm", "dockyard volume rm [OPTIONS] VOLUME [VOLUME...]")
    p.add_argument("volumes", nargs="+")
    p.add_argument("-f", "--force", action="store_true")

    def body(vols: Volumes, a: argparse.Namespace) -> int:
        code = 0
        for name in a.volumes:
            try:
                vols.remove(name, a.force)
                sys.stdout.write(name + "\n")
            except DockyardError as e:
                sys.stderr.write(f"Error response from daemon: {e}\n")
                code = 1
        return code

    return _call(ctx, p, argv, body)


def _prune(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _image as ci

    p = ci.parser("volume prune", "dockyard volume prune [OPTIONS]")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--filter", action="append", default=[])

    def body(vols: Volumes, a: argparse.Namespace) -> int:
        if not a.force:
            what = "all" if a.all else "anonymous"
            sys.stdout.write(f"WARNING! This will remove {what} local volumes not used by "
                             "at least one container.\nAre you sure you want to continue? "
                             "[y/N] ")
            sys.stdout.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return 0
        names, reclaimed = vols.prune(a.all, a.filter)
        if names:
            sys.stdout.write("Deleted Volumes:\n" + "".join(n + "\n" for n in names) + "\n")
        sys.stdout.write(f"Total reclaimed space: {ci.human_size(reclaimed)}\n")
        return 0

    return _call(ctx, p, argv, body)
