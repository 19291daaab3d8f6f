"""Docker's ``--format``: a Go template per row, and a ``table`` prefix that adds a header
row and aligns columns (docker/cli ``cli/command/formatter/formatter.go``)."""

from __future__ import annotations

from dockyard.template.exec import Struct, Template
from dockyard.template.funcs import HEADER_FUNCS
from dockyard.template.parse import TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

__all__ = ["is_table", "prepare", "render_rows", "tabwrite"]


def is_table(fmt: str) -> bool:
    return fmt.startswith("table")


def prepare(fmt: str) -> Template:
    """Docker's ``preFormat`` + ``parseFormat``: drop ``table``, trim spaces, turn the
    two-character ``\\t`` and ``\\n`` into a tab and a newline, parse."""
    text = fmt[len("table"):] if is_table(fmt) else fmt
    text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    try:
        return Template(text)
    except TemplateError as e:
        raise TemplateError(f"template parsing error: {e}") from None


def render_rows(fmt: str, rows: Iterable[Any], headers: dict[str, Any]) -> str:
    """Each row through the template, one per line; with ``table``, a header row from
    ``headers`` (field name -> column title, e.g. ``ID`` -> ``CONTAINER ID``, or a
    function of the field's arguments) and the columns aligned as Go's tabwriter
    (minwidth 10, padding 3)."""
    tmpl = prepare(fmt)
    try:
        body = "".join(tmpl.execute(r) + "\n" for r in rows)
    except TemplateError as e:
        raise TemplateError(f"template parsing error: {e}") from None
    if not is_table(fmt):
        return body
    head: list[str] = []
    try:
        tmpl.execute(Struct("formatter.SubHeaderContext", "", **headers), head, HEADER_FUNCS)
    except TemplateError:
        pass  # Docker ignores an error on the header row and keeps what was written
    return tabwrite("".join(head) + "\n" + body)


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's ``text/tabwriter`` (padchar ' ', no flags): tab-terminated cells of
    consecutive lines form a column block as wide as its widest cell + ``padding``."""
    lines = [ln.split("\t") for ln in text.split("\n")]
    trailing_newline = text.endswith("\n")
    if trailing_newline:
        lines.pop()
    out: list[str] = []
    widths: list[int] = []

    def write(lo: int, hi: int) -> None:
        for line in lines[lo:hi]:
            cells = [c.ljust(widths[j]) if j < len(widths) else c
                     for j, c in enumerate(line)]
            out.append("".join(cells))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out) + ("\n" if trailing_newline else "")
