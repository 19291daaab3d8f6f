"""Go ``text/template`` source -> a tree (Go's ``text/template/parse``).

The lexer follows Go's: text and ``{{ }}`` actions, trim markers ``{{- `` and `` -}}``,
comments ``{{/* */}}``; inside an action: fields ``.A.B``, variables ``$x``, identifiers,
string/raw-string/char/number literals, ``( ) | , := =``. The parser builds nodes for text,
actions, ``if``/``else if``/``else``, ``range``, ``with``, ``break`` and ``continue``.
Errors are :class:`TemplateError` with Go's wording (``template: :1: unclosed action``).
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["TemplateError", "parse"]

KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block",
                      "break", "continue"})
_SPACE = " \t\r\n"


class TemplateError(InvalidArgument):
    """A template that does not parse or cannot run on the data it is given."""


# --- nodes --------------------------------------------------------------------------

@record
class Node:
    pos: int
    src: str


@record
class Text(Node):
    text: str = ""


@record
class Field(Node):
    """``.A.B`` (``names`` empty: ``.`` itself)."""
    names: list[str] = field(default_factory=list)


@record
class Variable(Node):
    """``$x.A.B``: ``names[0]`` is the variable."""
    names: list[str] = field(default_factory=list)


@record
class Ident(Node):
    name: str = ""


@record
class Literal(Node):
    value: Any = None


@record
class Chain(Node):
    """``(pipeline).A.B``."""
    node: Node | None = None
    names: list[str] = field(default_factory=list)


@record
class Command(Node):
    args: list[Node] = field(default_factory=list)


@record
class Pipe(Node):
    decl: list[str] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[Command] = field(default_factory=list)


@record
class Action(Node):
    pipe: Pipe | None = None


@record
class Branch(Node):
    """``if``, ``range`` or ``with``."""
    kind: str = ""
    pipe: Pipe | None = None
    body: list[Node] = field(default_factory=list)
    else_body: list[Node] | None = None


@record
class Call(Node):
    """``{{template "name" pipeline}}`` (``src`` is the whole action)."""
    name: str = ""
    pipe: Pipe | None = None


@record
class Loop(Node):
    """``break`` or ``continue``."""
    kind: str = ""


# --- lexer ---------------------------------------------------------------------------

@record
class Tok:
    kind: str  # text, left, right, field, var, ident, string, number, char, bool, nil,
    #            dot, lparen, rparen, pipe, comma, decl, assign, space, eof
    val: str
    pos: int


def _line(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def _err(src: str, pos: int, msg: str, name: str = "") -> TemplateError:
    return TemplateError(f"template: {name}:{_line(src, pos)}: {msg}")


def lex(src: str) -> list[Tok]:
    toks: list[Tok] = []
    i = 0
    n = len(src)
    while i < n:
        j = src.find("{{", i)
        if j < 0:
            toks.append(Tok("text", src[i:], i))
            break
        text = src[i:j]
        trim_left = src.startswith("{{-", j) and j + 3 < n and src[j + 3] in _SPACE
        if trim_left:
            text = text.rstrip(_SPACE)
        if text:
            toks.append(Tok("text", text, i))
        i = j + (4 if trim_left else 2)
        k = i
        while k < n and src[k] in _SPACE:
            k += 1
        if src.startswith("/*", k):  # comment
            end = src.find("*/", k + 2)
            if end < 0:
                raise _err(src, j, "unclosed comment")
            e = end + 2
            while e < n and src[e] in _SPACE:
                e += 1
            if src.startswith("-}}", e) and e > end + 2:
                i = e + 3
                while i < n and src[i] in _SPACE:
                    i += 1
            elif src.startswith("}}", e):
                i = e + 2
            else:
                raise _err(src, j, "comment ends before closing delimiter")
            continue
        toks.append(Tok("left", "{{", j))
        i = _lex_action(src, i, toks)
    toks.append(Tok("eof", "", n))
    return toks


def _lex_action(src: str, i: int, toks: list[Tok]) -> int:
    """Lex one action body from ``i``; return the index after its ``}}``."""
    n = len(src)
    depth = 0
    while True:
        if i >= n:
            raise _err(src, i, "unclosed action")
        c = src[i]
        if c in _SPACE:
            k = i
            while k < n and src[k] in _SPACE:
                k += 1
            if src.startswith("-}}", k) and k > i:
                toks.append(Tok("right", "}}", k))
                k += 3
                while k < n and src[k] in _SPACE:
                    k += 1
                return k
            if "\n" in src[i:k] and not src.startswith("}}", k):
                pass  # Go allows newlines inside actions since 1.16
            toks.append(Tok("space", src[i:k], i))
            i = k
            continue
        if src.startswith("}}", i):
            if depth:
                raise _err(src, i, "unclosed left paren")
            toks.append(Tok("right", "}}", i))
            return i + 2
        if c == "(":
            depth += 1
            toks.append(Tok("lparen", c, i))
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _err(src, i, "unexpected right paren U+0029 ')'")
            toks.append(Tok("rparen", c, i))
            i += 1
        elif c == "|":
            toks.append(Tok("pipe", c, i))
            i += 1
        elif c == ",":
            toks.append(Tok("comma", c, i))
            i += 1
        elif src.startswith(":=", i):
            toks.append(Tok("decl", ":=", i))
            i += 2
        elif c == "=":
            toks.append(Tok("assign", "=", i))
            i += 1
        elif c == '"':
            k = i + 1
            while k < n and src[k] != '"':
                if src[k] == "\\":
                    k += 1
                if k < n and src[k] == "\n":
                    raise _err(src, i, "unterminated quoted string")
                k += 1
            if k >= n:
                raise _err(src, i, "unterminated quoted string")
            toks.append(Tok("string", src[i:k + 1], i))
            i = k + 1
        elif c == "`":
            k = src.find("`", i + 1)
            if k < 0:
                raise _err(src, i, "unterminated raw quoted string")
            toks.append(Tok("string", src[i:k + 1], i))
            i = k + 1
        elif c == "'":
            k = i + 1
            while k < n and src[k] != "'":
                if src[k] == "\\":
                    k += 1
                if k >= n or src[k] == "\n":
                    break
                k += 1
            if k >= n or src[k] != "'":
                raise _err(src, i, "unterminated character constant")
            toks.append(Tok("char", src[i:k + 1], i))
            i = k + 1
        elif c == "$" or c == ".":
            k = i + 1
            while k < n and (src[k].isalnum() or src[k] == "_"):
                k += 1
            word = src[i:k]
            if c == "." and i + 1 < n and src[i + 1].isdigit():
                k = _number(src, i)
                toks.append(Tok("number", src[i:k], i))
            else:
                toks.append(Tok("var" if c == "$" else ("dot" if word == "." else "field"),
                                word, i))
            i = k
        elif c.isdigit() or (c in "+-" and i + 1 < n and (src[i + 1].isdigit()
                                                           or src[i + 1] == ".")):
            k = _number(src, i)
            toks.append(Tok("number", src[i:k], i))
            i = k
        elif c.isalpha() or c == "_":
            k = i
            while k < n and (src[k].isalnum() or src[k] == "_"):
                k += 1
            word = src[i:k]
            kind = ("bool" if word in ("true", "false") else "nil" if word == "nil"
                    else "keyword" if word in KEYWORDS else "ident")
            toks.append(Tok(kind, word, i))
            i = k
        else:
            raise _err(src, i, f"unexpected bad character U+{ord(c):04X} '{c}' in command")


def _number(src: str, i: int) -> int:
    k = i + 1
    while k < len(src) and (src[k].isalnum() or src[k] in "._" or (
            src[k] in "+-" and src[k - 1] in "eEpP" and not src[i:k].lower().startswith(
                ("0x", "+0x", "-0x")))):
        k += 1
    return k


_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
        "\\": "\\", '"': '"', "'": "'"}


def unquote(s: str) -> str:
    """Go's ``strconv.Unquote`` for "..." and `...` literals."""
    if s[0] == "`":
        return s[1:-1]
    body = s[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < len(body) else ""
        if e in _ESC:
            out.append(_ESC[e])
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            out.append(chr(int(body[i + 2:i + 2 + width], 16)))
            i += 2 + width
        elif e.isdigit():
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError("invalid syntax")
    return "".join(out)


def _number_value(text: str) -> int | float:
    t = text.replace("_", "")
    if re.fullmatch(r"[+-]?0[0-7]+", t):  # Go: a leading 0 is octal
        return int(t, 8)
    try:
        return int(t, 0)
    except ValueError:
        pass
    try:
        return float(t) if not t.lower().lstrip("+-").startswith("0x") else float.fromhex(t)
    except ValueError:
        raise ValueError(f"illegal number syntax: {text!r}") from None


# --- parser --------------------------------------------------------------------------

class _Parser:
    def __init__(self, src: str, funcs: frozenset[str], name: str) -> None:
        self.src = src
        self.name = name
        try:
            self.toks = lex(src)
        except TemplateError as e:
            raise TemplateError(str(e).replace("template: :", f"template: {name}:", 1)
                                ) from None
        self.i = 0
        self.funcs = funcs
        self.vars: list[str] = ["$"]
        self.loop_depth = 0
        self.defines: dict[str, list[Node]] = {}

    def err(self, msg: str, pos: int | None = None) -> TemplateError:
        return _err(self.src, self.peek().pos if pos is None else pos, msg, self.name)

    def peek(self) -> Tok:
        return self.toks[self.i]

    def next(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def next_non_space(self) -> Tok:
        t = self.next()
        while t.kind == "space":
            t = self.next()
        return t

    def peek_non_space(self) -> Tok:
        j = self.i
        while self.toks[j].kind == "space":
            j += 1
        return self.toks[j]

    def skip_space(self) -> None:
        while self.peek().kind == "space":
            self.i += 1

    def expect_right(self, context: str) -> Tok:
        t = self.next_non_space()
        if t.kind != "right":
            raise self.err(f"unexpected {_desc(t)} in {context}", t.pos)
        return t

    # list of nodes up to {{end}} / {{else}}; returns (nodes, terminator)
    def parse_list(self, top: bool) -> tuple[list[Node], str]:
        nodes: list[Node] = []
        while True:
            t = self.next()
            if t.kind == "eof":
                if top:
                    return nodes, "eof"
                raise self.err("unexpected EOF", t.pos)
            if t.kind == "text":
                nodes.append(Text(t.pos, t.val, t.val))
                continue
            # left delimiter
            kw = self.peek_non_space()
            if kw.kind == "keyword":
                self.next_non_space()
                if kw.val in ("end", "else"):
                    if top:
                        raise self.err(f"unexpected {{{{{kw.val}}}}}", kw.pos)
                    if kw.val == "end":
                        self.expect_right("end")
                    return nodes, kw.val
                if kw.val == "define":
                    if not top:
                        raise self.err("unexpected <define> in command", kw.pos)
                    self.define()
                    continue
                nodes.append(self.control(kw, t.pos))
                continue
            pipe = self.pipeline("command", t.pos)
            nodes.append(Action(t.pos, self.src_of(t.pos), pipe))

    def src_of(self, start: int) -> str:
        end = self.toks[self.i - 1].pos + len(self.toks[self.i - 1].val)
        return self.src[start:end]

    def template_name(self, context: str) -> Tok:
        t = self.next_non_space()
        if t.kind != "string":
            raise self.err(f"unexpected {_desc(t)} in {context} clause", t.pos)
        return t

    def body(self, context: str) -> list[Node]:
        """A ``define``/``block`` body: its own variables, up to its ``{{end}}``."""
        saved, self.vars = self.vars, ["$"]
        loops, self.loop_depth = self.loop_depth, 0
        body, term = self.parse_list(top=False)
        if term != "end":
            raise self.err(f"unexpected {{{{else}}}} in {context} clause")
        self.vars, self.loop_depth = saved, loops
        return body

    def define(self) -> None:
        tok = self.template_name("define")
        name = unquote(tok.val)
        self.expect_right("define clause")
        self.add_define(name, self.body("define"), tok.pos)

    def add_define(self, name: str, body: list[Node], pos: int) -> None:
        """Go lets an empty definition be replaced or be ignored, not two real ones."""
        def empty(nodes: list[Node]) -> bool:
            return all(isinstance(n, Text) and not n.text.strip() for n in nodes)

        old = self.defines.get(name)
        if old is not None and not empty(old) and not empty(body):
            raise self.err(f'template: multiple definition of template "{name}"', pos)
        if old is None or not empty(body):
            self.defines[name] = body

    def control(self, kw: Tok, start: int) -> Node:
        if kw.val in ("break", "continue"):
            if not self.loop_depth:
                raise self.err(f"{{{{{kw.val}}}}} outside {{{{range}}}}", kw.pos)
            self.expect_right(kw.val)
            return Loop(kw.pos, kw.val, kw.val)
        if kw.val in ("template", "block"):
            name_tok = self.template_name(kw.val)
            name = unquote(name_tok.val)
            pipe = None
            if self.peek_non_space().kind != "right" or kw.val == "block":
                pipe = self.pipeline(f"{kw.val} clause", name_tok.pos)
            else:
                self.expect_right(f"{kw.val} clause")
            src = self.src[start:self.toks[self.i - 1].pos + 2]
            if kw.val == "block":
                self.add_define(name, self.body("block"), name_tok.pos)
            return Call(name_tok.pos, src, name, pipe)
        if kw.val not in ("if", "range", "with"):
            raise self.err(f"unexpected {kw.val}", kw.pos)
        return self.branch(kw.val, kw.pos)

    def branch(self, kind: str, pos: int) -> Branch:
        nvars = len(self.vars)
        pipe = self.pipeline(kind, pos)
        if kind == "range":
            self.loop_depth += 1
        body, term = self.parse_list(top=False)
        if kind == "range":
            self.loop_depth -= 1
        else_body: list[Node] | None = None
        if term == "else":
            nxt = self.peek_non_space()
            if nxt.kind == "keyword" and nxt.val in ("if", "with") and kind == nxt.val:
                # {{else if ...}} / {{else with ...}}: a nested branch ending at our {{end}}
                self.next_non_space()
                else_body = [self.branch(nxt.val, nxt.pos)]
            else:
                self.expect_right("else")
                else_body, term = self.parse_list(top=False)
                if term != "end":
                    raise self.err("expected end; found {{else}}")
        del self.vars[nvars:]
        return Branch(pos, kind, kind, pipe, body, else_body)

    def pipeline(self, context: str, pos: int) -> Pipe:
        decl: list[str] = []
        is_assign = False
        # declarations: $x := / $x = / $k, $v :=
        save = self.i
        t = self.peek_non_space()
        if t.kind == "var":
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in ("decl", "assign"):
                self.next_non_space()
                decl = [t.val]
                is_assign = nxt.kind == "assign"
            elif nxt.kind == "comma":
                if context != "range":
                    raise self.err(f"too many declarations in {context}", nxt.pos)
                self.next_non_space()
                t2 = self.next_non_space()
                d = self.next_non_space()
                if t2.kind != "var":
                    raise self.err("range can only initialize variables", t2.pos)
                if d.kind == "comma":
                    raise self.err("too many declarations in range", d.pos)
                if d.kind not in ("decl", "assign"):
                    raise self.err("range can only initialize variables", d.pos)
                decl = [t.val, t2.val]
                is_assign = d.kind == "assign"
            else:
                self.i = save
        if decl:
            for v in decl:
                if is_assign and v not in self.vars:
                    raise self.err(f"undefined variable \"{v}\"", t.pos)
                if not is_assign:
                    self.vars.append(v)
        cmds: list[Command] = []
        while True:
            self.skip_space()
            t = self.peek()
            if t.kind == "right" or t.kind == "rparen":
                if t.kind == "rparen" and context != "paren":
                    raise self.err("unexpected right paren", t.pos)
                if t.kind == "right" and context == "paren":
                    raise self.err("unclosed left paren", t.pos)
                self.next()
                break
            if t.kind == "pipe":
                raise self.err(f'unexpected "|" in {context}', t.pos)
            cmds.append(self.command())
            if self.peek().kind == "pipe":  # Go lets a pipeline end in "|"
                self.next()
        if not cmds:
            raise self.err(f"missing value for {context}", pos)
        for i, c in enumerate(cmds[1:]):
            first = c.args[0]
            if isinstance(first, Literal) or (isinstance(first, Field) and not first.names):
                raise self.err(f"non executable command in pipeline stage {i + 2}", c.pos)
        return Pipe(cmds[0].pos, self.src[cmds[0].pos:_end(cmds[-1])], decl, is_assign, cmds)

    def command(self) -> Command:
        args: list[Node] = []
        start = self.peek().pos
        while True:
            self.skip_space()
            t = self.peek()
            if t.kind in ("right", "rparen", "pipe"):
                break
            op = self.operand()
            if op is None:
                raise self.err(f"unexpected {_desc(t)} in operand", t.pos)
            args.append(op)
            nxt = self.peek()
            if nxt.kind not in ("space", "right", "rparen", "pipe"):
                raise self.err(f"unexpected {_desc(nxt)} in operand", nxt.pos)
        if not args:
            raise self.err("empty command", start)
        return Command(start, self.src[start:_end(args[-1])], args)

    def operand(self) -> Node | None:
        t = self.peek()
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == "field":
            names: list[str] = []
            while self.peek().kind == "field":
                names.append(self.next().val[1:])
            if isinstance(node, Field | Variable):
                node.names += names
                node.src += "." + ".".join(names)
            elif isinstance(node, Literal | Ident):
                raise self.err(f"unexpected . after term {node.src!r}", t.pos)
            else:
                node = Chain(t.pos, self.src[t.pos:self.toks[self.i - 1].pos
                                             + len(self.toks[self.i - 1].val)], node, names)
        return node

    def term(self) -> Node | None:
        t = self.next()
        if t.kind == "ident":
            if t.val not in self.funcs:
                raise self.err(f'function "{t.val}" not defined', t.pos)
            return Ident(t.pos, t.val, t.val)
        if t.kind == "dot":
            return Field(t.pos, ".", [])
        if t.kind == "field":
            return Field(t.pos, t.val, [t.val[1:]])
        if t.kind == "var":
            if t.val not in self.vars:
                raise self.err(f'undefined variable "{t.val}"', t.pos)
            return Variable(t.pos, t.val, [t.val])
        if t.kind == "nil":
            return Literal(t.pos, "nil", None)
        if t.kind == "bool":
            return Literal(t.pos, t.val, t.val == "true")
        if t.kind == "string":
            try:
                return Literal(t.pos, t.val, unquote(t.val))
            except (ValueError, IndexError):
                raise self.err("invalid syntax", t.pos) from None
        if t.kind == "char":
            try:
                return Literal(t.pos, t.val, ord(unquote('"' + t.val[1:-1] + '"')))
            except (ValueError, TypeError, IndexError):
                raise self.err(f"malformed character constant: {t.val}", t.pos) from None
        if t.kind == "number":
            try:
                return Literal(t.pos, t.val, _number_value(t.val))
            except ValueError:
                raise self.err(f"bad number syntax: {t.val!r}", t.pos) from None
        if t.kind == "lparen":
            pipe = self.pipeline("paren", t.pos)
            pipe.src = self.src[t.pos:self.toks[self.i - 1].pos + 1]
            pipe.pos = t.pos
            return pipe
        self.i -= 1
        return None


def _end(node: Node) -> int:
    return node.pos + len(node.src)


def _desc(t: Tok) -> str:
    if t.kind == "eof":
        return "EOF"
    if t.kind == "right":
        return '"}}"'
    if t.kind == "keyword":
        return f"<{t.val}>"
    return f'"{t.val}"' if t.kind != "text" else repr(t.val)


def parse(src: str, funcs: frozenset[str], name: str = ""
          ) -> tuple[list[Node], dict[str, list[Node]]]:
    """Parse ``src`` (named ``name`` in errors); ``funcs`` are the function names the
    template may call. Returns its nodes and the templates it defines by name."""
    parser = _Parser(src, funcs, name)
    nodes, _ = parser.parse_list(top=True)
    return nodes, parser.defines
