"""``dockyard inspect [-f FORMAT] [-s] [--type container|image|network|volume] NAME...``
(also the body of ``container inspect``): Docker's JSON, or each object through a Go
template."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.main import Context

USAGE = "dockyard inspect [OPTIONS] NAME|ID [NAME|ID...]"
#: Docker's exit status for a template that does not parse (``cli.StatusError{64}``).
EXIT_TEMPLATE = 64


def dumps(objs: list[Any]) -> str:
    """Docker's indented JSON: 4 spaces, UTF-8 as is, ``<>&`` escaped as Go does."""
    import json

    text = json.dumps(objs, indent=4, ensure_ascii=False)
    for c, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                   ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(c, esc)
    return text + "\n"


def emit(found: list[Any], errors: list[str], fmt: str | None) -> int:
    """Print what was found (JSON or ``fmt`` per object), then the errors; Docker's exit
    statuses (1 if anything was not found, 64 for a template that does not parse)."""
    if fmt:
        from dockyard.engine.inspect_view import render
        from dockyard.template import Template, TemplateError

        try:
            tmpl = Template(fmt)
        except TemplateError as e:
            sys.stderr.write(f"template parsing error: {e}\n")
            return EXIT_TEMPLATE
        for obj in found:
            # Docker runs the template on its typed struct first, and on the raw JSON
            # (missing keys an error) if that fails
            try:
                sys.stdout.write(render(tmpl, obj) + "\n")
            except TemplateError as e:
                sys.stderr.write(f"template parsing error: {e}\n")
                return 1
    else:
        sys.stdout.write(dumps(found))
    for msg in errors:
        sys.stderr.write(f"Error: {msg}\n")
    return 1 if errors else 0


def parse(argv: list[str], prog: str, with_type: bool) -> tuple[dict[str, Any], list[str]]:
    from dockyard.cli._args import parse as parse_flags

    spec = {"format": "str", "f": "=format", "size": "bool", "s": "=size", "help": "bool"}
    if with_type:
        spec["type"] = "str"
    flags = parse_flags(argv, spec)
    return ({"format": flags.opt("format"), "size": flags.flag("size"),
             "type": flags.opt("type") or "", "help": flags.flag("help")},
            flags.positional)


def run(ctx: Context, argv: list[str], kind: str = "") -> int:
    from dockyard.errors import InvalidArgument

    prog = "container inspect" if kind else "inspect"
    try:
        opts, names = parse(argv, prog, with_type=not kind)
    except InvalidArgument as e:
        sys.stderr.write(f"{e}\nSee 'dockyard {prog} --help'.\n")
        return 125
    if opts["help"]:
        sys.stdout.write(f"Usage:  {USAGE}\n\nReturn low-level information on Docker objects\n\n"
                         "Options:\n"
                         "  -f, --format string   Format the output using the given Go "
                         "template\n"
                         "  -s, --size            Display total file sizes if the type is "
                         "container\n"
                         "      --type string     Return JSON for specified type\n")
        return 0
    if not names:
        sys.stderr.write(f'"dockyard {prog}" requires at least 1 argument.\n'
                         f"See 'dockyard {prog} --help'.\n")
        return 1
    kind = kind or opts["type"]
    if kind not in ("", "container", "image", "network", "volume"):
        sys.stderr.write(f'"{kind}" is not a valid value for --type\n')
        return 1
    from dockyard.engine.inspect_view import lookup

    found, errors = lookup(ctx.root, ctx.exec_root, names, kind, opts["size"])
    return emit(found, errors, opts["format"])
