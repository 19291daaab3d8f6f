"""Dockerfile text -> instructions (moby ``frontend/dockerfile/parser``); pure.

What it knows: the ``# syntax=`` and ``# escape=`` directives (only before anything
else), comments, line continuations (the escape character last on a line; comment and
blank lines inside one are dropped), the JSON (exec) form of RUN, CMD, ENTRYPOINT, SHELL,
COPY, ADD and VOLUME, ``--flag=value`` words of FROM, RUN, COPY, ADD and HEALTHCHECK, the
``KEY=VALUE`` pairs of ENV, LABEL and ARG (and ENV's legacy ``KEY value``), and heredocs
(``RUN <<EOF``, ``COPY <<EOF /path``, ``<<-`` strips leading tabs, a quoted delimiter is
not expanded). Variables are not expanded here: that happens per instruction while
building (:mod:`dockyard.build.shell`). Errors name the file and the line.
"""

from __future__ import annotations

import json
import re

from dockyard.errors import InvalidArgument
from dockyard.record import field, record

__all__ = ["Dockerfile", "DockerfileError", "Heredoc", "Instruction", "parse"]

INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
                "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")
_JSON_OK = {"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"}
_FLAGS = {
    "FROM": {"platform"},
    "RUN": {"network", "mount", "security"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
_HEREDOC_OK = {"RUN", "COPY", "ADD"}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be parsed or built; the message names file and line."""


@record(frozen=True)
class Heredoc:
    name: str
    content: str
    expand: bool


@record(frozen=True)
class Instruction:
    """One instruction. ``args``: the JSON form's list, the KEY, VALUE, KEY, VALUE ...
    of ENV/LABEL/ARG (quotes kept), else the words or the whole rest (RUN, CMD,
    ENTRYPOINT, HEALTHCHECK, WORKDIR, USER... keep it in one string)."""

    cmd: str
    args: list[str]
    line: int
    original: str
    json_form: bool = False
    flags: dict[str, str] = field(default_factory=dict)
    heredocs: list[Heredoc] = field(default_factory=list)
    #: ONBUILD's trigger, parsed
    sub: Instruction | None = None

    def where(self, filename: str) -> str:
        return f"{filename}:{self.line}"


@record
class Dockerfile:
    instructions: list[Instruction]
    escape: str = "\\"
    syntax: str = ""
    filename: str = "Dockerfile"


def _err(filename: str, line: int, msg: str) -> DockerfileError:
    return DockerfileError(f"Dockerfile parse error on line {line} ({filename}): {msg}")


def parse(text: str, filename: str = "Dockerfile") -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    df = Dockerfile([], filename=filename)
    i = 0
    seen: set[str] = set()
    while i < len(lines):  # directives: only at the very top
        m = _DIRECTIVE.match(lines[i].strip())
        if not m or m.group(1).lower() in seen:
            break
        name = m.group(1).lower()
        if name == "escape":
            if m.group(2) not in ("\\", "`"):
                raise _err(filename, i + 1, f"invalid escape token '{m.group(2)}' does not"
                           " match ` or \\")
            df.escape = m.group(2)
        elif name == "syntax":
            df.syntax = m.group(2)
        elif name != "check":
            break
        seen.add(name)
        i += 1
    esc = df.escape
    while i < len(lines):
        raw = lines[i]
        start = i
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        text_parts = []
        cur = raw.rstrip()
        while cur.endswith(esc):
            text_parts.append(cur[:-1])
            cur = ""
            while i < len(lines):
                nxt = lines[i]
                i += 1
                s = nxt.strip()
                if s.startswith("#") or not s:
                    continue
                cur = nxt.rstrip()
                break
            else:
                break
        text_parts.append(cur)
        logical = "".join(text_parts).strip()
        ins, i = _instruction(logical, start + 1, filename, lines, i)
        df.instructions.append(ins)
    return df


def _instruction(logical: str, line: int, filename: str, lines: list[str],
                 i: int) -> tuple[Instruction, int]:
    word, _, rest = logical.partition(" ")
    if "\t" in word:
        word, _, more = word.partition("\t")
        rest = more + " " + rest
    cmd = word.upper()
    rest = rest.strip()
    if cmd not in INSTRUCTIONS:
        raise _err(filename, line, f"unknown instruction: {word}")
    flags: dict[str, str] = {}
    if cmd in _FLAGS:
        while rest.startswith("--"):
            fw, _, after = rest.partition(" ")
            name, eq, value = fw[2:].partition("=")
            if name not in _FLAGS[cmd]:
                raise _err(filename, line, f"unknown flag: {name}")
            flags[name] = value if eq else "true"
            rest = after.strip()
    heredocs: list[Heredoc] = []
    if cmd in _HEREDOC_OK and "<<" in rest and not rest.startswith("["):
        for m in _HEREDOC.finditer(rest):
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise _err(filename, line, f"unterminated heredoc {m.group(3)}")
                ln = lines[i]
                i += 1
                if (ln.lstrip("\t") if m.group(1) else ln) == m.group(3):
                    break
                body.append(ln.lstrip("\t") if m.group(1) else ln)
            heredocs.append(Heredoc(m.group(3), "".join(b + "\n" for b in body),
                                    expand=not m.group(2)))
    ins = Instruction(cmd, [], line, logical, flags=flags, heredocs=heredocs)
    json_list = _json_list(rest) if cmd in _JSON_OK else None
    if json_list is not None:
        return _checked(_with(ins, args=json_list, json_form=True), filename), i
    if cmd in ("ENV", "LABEL"):
        args = _name_values(cmd, rest, filename, line, legacy=(cmd == "ENV"))
    elif cmd == "ARG":
        args = []
        for w in _shell_words(rest):
            k, eq, v = w.partition("=")
            args += [k, v if eq else "\0"]  # "\0": no default
    elif cmd == "ONBUILD":
        if not rest:
            raise _err(filename, line, "ONBUILD requires at least one argument")
        sub, _ = _instruction(rest, line, filename, [], 0)
        if sub.cmd in ("ONBUILD", "FROM", "MAINTAINER"):
            raise _err(filename, line, f"{sub.cmd} isn't allowed as an ONBUILD trigger")
        return _with(ins, args=[rest], sub=sub), i
    elif cmd in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "WORKDIR", "USER", "STOPSIGNAL",
                 "MAINTAINER", "HEALTHCHECK"):
        args = [rest] if rest else []
    else:
        args = rest.split()
    return _checked(_with(ins, args=args), filename), i


def _with(ins: Instruction, **kw: object) -> Instruction:
    from dockyard.record import replace

    return replace(ins, **kw)


def _json_list(rest: str) -> list[str] | None:
    if not rest.startswith("["):
        return None
    try:
        v = json.loads(rest)
    except ValueError:
        return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    return None


def _shell_words(rest: str) -> list[str]:
    """Blank-separated words; quotes group (and are kept for the later expansion)."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    j = 0
    while j < len(rest):
        ch = rest[j]
        if quote:
            cur.append(ch)
            if ch == "\\" and quote == '"' and j + 1 < len(rest):
                cur.append(rest[j + 1])
                j += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == "\\" and j + 1 < len(rest):
            cur += [ch, rest[j + 1]]
            j += 1
        elif ch in " \t":
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        j += 1
    if cur:
        words.append("".join(cur))
    return words


def _name_values(cmd: str, rest: str, filename: str, line: int, legacy: bool) -> list[str]:
    words = _shell_words(rest)
    if not words:
        raise _err(filename, line, f"{cmd} requires at least one argument")
    if "=" not in words[0]:
        if not legacy or len(words) < 2:
            if legacy:
                raise _err(filename, line, f"{cmd} must have two arguments")
            raise _err(filename, line, f"{cmd} names can not be blank" if not words[0]
                       else f"Syntax error - can't find = in \"{words[0]}\". "
                       "Must be of the form: name=value")
        key = words[0]
        return [key, rest[len(key):].strip()]
    out: list[str] = []
    for w in words:
        k, eq, v = w.partition("=")
        if not eq:
            raise _err(filename, line, f"Syntax error - can't find = in \"{w}\". "
                       "Must be of the form: name=value")
        if not k:
            raise _err(filename, line, f"{cmd} names can not be blank")
        out += [k, v]
    return out


_EXACTLY_ONE = {"WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"}
_AT_LEAST_ONE = {"RUN", "CMD", "ENTRYPOINT", "SHELL", "EXPOSE", "VOLUME", "ARG", "HEALTHCHECK"}


def _checked(ins: Instruction, filename: str) -> Instruction:
    n = len(ins.args)
    cmd = ins.cmd
    msg = ""
    if cmd == "FROM" and (n not in (1, 3) or (n == 3 and ins.args[1].upper() != "AS")):
        msg = "FROM requires either one or three arguments"
    elif cmd in ("COPY", "ADD") and n < 2 and not (ins.heredocs and n >= 1):
        msg = f"{cmd} requires at least two arguments, but only {n} provided"
    elif cmd in _EXACTLY_ONE and n != 1:
        msg = f"{cmd} requires exactly one argument"
    elif cmd in _AT_LEAST_ONE and n == 0 and not (cmd == "CMD" and ins.json_form):
        if cmd in ("ENTRYPOINT", "RUN") and ins.json_form:
            return ins
        msg = f"{cmd} requires at least one argument"
    elif cmd == "SHELL" and not ins.json_form:
        msg = "SHELL requires the arguments to be in JSON form"
    if msg:
        raise _err(filename, ins.line, msg)
    return ins
