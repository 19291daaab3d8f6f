"""A tiny terminal: enough ANSI (CR, LF, cursor up/down, erase line) to read back what a
progress renderer leaves on screen."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\x1b\[(\d*)([ABK])|\r|\n|[^\x1b\r\n]+")


def screen(data: str) -> list[str]:
    """The lines ``data`` leaves on an unbounded screen, trailing blanks dropped."""
    lines: list[str] = [""]
    row = col = 0
    for m in _TOKEN.finditer(data):
        tok = m.group(0)
        if m.group(2) == "A":
            row = max(0, row - int(m.group(1) or 1))
        elif m.group(2) == "B":
            row = min(len(lines) - 1, row + int(m.group(1) or 1))
        elif m.group(2) == "K":
            lines[row] = ""  # 2K: the whole line
        elif tok == "\r":
            col = 0
        elif tok == "\n":
            row += 1
            col = 0  # a pty's ONLCR turns \n into \r\n; callers write \r\n or \n alike
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + tok + line[col + len(tok):]
            col += len(tok)
    while lines and not lines[-1]:
        lines.pop()
    return lines
