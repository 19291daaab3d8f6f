"""``.dockerignore`` (moby ``patternmatcher``): which context paths the build sees.

One pattern a line; ``#`` lines and blank lines are skipped; each pattern is cleaned
(``./a//b/`` -> ``a/b``, a leading ``/`` dropped). ``*`` matches within one path
component, ``?`` one character, ``[a-z]`` a class, ``**`` any number of components
(``**/x`` also matches ``x`` at the top), ``\\`` escapes. A pattern that matches a
directory matches everything under it. Patterns apply in order and the last one that
matches decides: ``!pattern`` re-includes what an earlier pattern excluded.
"""

from __future__ import annotations

import posixpath
import re

from dockyard.record import record

__all__ = ["IgnoreMatcher", "Pattern", "read_patterns"]


@record(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]


def _compile(pat: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    n = len(pat)
    while i < n:
        ch = pat[i]
        if ch == "*":
            if i + 1 < n and pat[i + 1] == "*":
                i += 1
                while i + 1 < n and pat[i + 1] == "*":
                    i += 1
                if i + 1 < n and pat[i + 1] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                elif i + 1 >= n:
                    out.append(".*")
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pat.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                cls = pat[i + 1:end]
                if cls.startswith("!") or cls.startswith("^"):
                    cls = "^" + cls[1:]
                out.append("[" + cls.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


def read_patterns(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, in order, cleaned."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        if neg:
            line = line[1:].strip()
        if not line:
            continue
        clean = posixpath.normpath(line)
        if clean.startswith("/") and len(clean) > 1:
            clean = clean.lstrip("/")
        out.append(("!" if neg else "") + clean)
    return out


class IgnoreMatcher:
    def __init__(self, patterns: list[str]) -> None:
        self.patterns = []
        for p in patterns:
            neg = p.startswith("!")
            text = p[1:] if neg else p
            self.patterns.append(Pattern(text, neg, _compile(text)))
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """Whether the context path ``path`` (``a/b/c``, relative) is ignored."""
        if not self.patterns:
            return False
        path = posixpath.normpath(path).lstrip("/")
        parts = path.split("/")
        parents = ["/".join(parts[:k]) for k in range(1, len(parts))]
        matched = False
        for p in self.patterns:
            if p.regex.match(path) or any(p.regex.match(par) for par in parents):
                matched = not p.exclusion
        return matched

    def may_include_under(self, directory: str) -> bool:
        """Whether something under an ignored ``directory`` may be re-included by a
        ``!`` pattern (then the walk has to go in)."""
        if not self.has_exclusions:
            return False
        d = posixpath.normpath(directory).lstrip("/") + "/"
        for p in self.patterns:
            if p.exclusion and (p.text.startswith(d) or "*" in p.text or "?" in p.text
                                or "[" in p.text):
                return True
        return False
