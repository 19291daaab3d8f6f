"""Shared by the image verbs: argument parsing, Docker's formatting, exit codes.

Docker's image verbs exit 1 when the daemon reports an error (``Error: ...``) and 125
for bad flags; :func:`run` does that for a verb body.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images




def _ngettext(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


#: argparse passes its messages through gettext, whose first lookup imports ``locale``
#: (~1.5 ms on ``run``'s path) to find a translation; Docker's CLI is not translated either.
argparse._ = str  # type: ignore[attr-defined]
argparse.ngettext = _ngettext  # type: ignore[attr-defined]


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, told the width as ``shutil.get_terminal_size`` would:
    argparse asks ``shutil`` (which imports ``bz2``, ``lzma``, ``zlib``, ~2 ms) at every
    ``add_argument``."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


def _columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    out = sys.__stdout__
    if columns <= 0 and out is not None:
        try:
            columns = os.get_terminal_size(out.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns or 80


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parser(prog: str, usage: str, *, description: str | None = None,
           short_h: bool = True) -> Parser:
    """A verb's parser that raises :class:`UsageError` instead of exiting. With
    ``short_h=False`` only ``--help`` shows help (``run -h`` is ``--hostname``)."""
    p = Parser(prog=f"dockyard {prog}", usage=usage, description=description,
               add_help=short_h, formatter_class=_Formatter)
    if not short_h:
        p.add_argument("--help", action="help")
    return p


def run(ctx: Context, p: Parser, argv: list[str],
        body: Callable[[Images, argparse.Namespace], int]) -> int:
    try:
        args = p.parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}\nSee '{p.prog} --help'.\n")
        return 125
    except SystemExit as e:  # --help
        return int(e.code or 0)
    from dockyard.engine.images import Images

    images = Images(ctx.root)
    try:
        return body(images, args)
    except DockyardError as e:
        sys.stderr.write(f"Error: {one_line(e)}\n")
        return 1
    except OSError as e:
        if ctx.debug:
            raise
        sys.stderr.write(f"Error: {one_line(e)}\n")
        return 1
    finally:
        images.close()


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split("\n")).strip()


def human_size(n: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision(n, precision)``: decimal units; ``docker
    images`` uses 3 significant digits, ``HumanSize`` (``system df``) 4."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.{precision}g}{units[i]}"


def parse_time(rfc3339: str) -> float:
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?", rfc3339)
    if not m:
        return 0.0
    import calendar

    base = calendar.timegm((*(int(x) for x in m.groups()[:6]), 0, 0, 0))
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    return base + frac


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = round(seconds / 60)
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(seconds / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def since(rfc3339: str) -> str:
    t = parse_time(rfc3339)
    return human_duration(time.time() - t) + " ago" if t else "N/A"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Docker's ``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)``: a column is as wide as
    its widest cell plus 3 spaces, and at least 10."""
    widths = [max(10, 3 + max(len(r[i]) for r in [header, *rows]))
              for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        out.append("".join(cells).rstrip() + "\n")
    return "".join(out)


def go_str(v: Any) -> str:
    """How Go's text/template prints a value: ``[a b]``, ``map[k:v]``, ``true``."""
    from dockyard.template import go_str as tmpl_go_str

    return tmpl_go_str(v)


def render(template: str, fields: list[dict[str, Any]],
           headers: dict[str, str] | None = None, go_type: str = "struct") -> str:
    """Docker's ``--format`` on rows of fields (see :mod:`dockyard.template`): each row a
    Go struct named ``go_type``; with ``table``, a header row whose titles come from
    ``headers`` or, for fields it does not name, the field name in capitals
    (``CreatedSince`` -> ``CREATED SINCE``)."""
    from dockyard.template import Struct, render_rows

    titles: dict[str, str] = {}
    for f in fields[:1]:
        for key in f:
            titles[key] = re.sub(r"(?<!^)(?=[A-Z][a-z])", " ", key).upper()
    titles.update(headers or {})
    return render_rows(template, [Struct(go_type, **f) for f in fields], titles)
