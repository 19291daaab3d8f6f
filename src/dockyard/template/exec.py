"""Running a parsed template on data (Go's ``text/template`` ``exec.go``).

Data is JSON-shaped Python: ``dict`` behaves as Go's ``map[string]interface{}`` (a
missing key is ``<no value>``), :class:`Struct` as a Go struct (a missing field is an
error, a callable field a method: ``{{.Label "k"}}``), lists as slices.
"""

from __future__ import annotations

import functools

from dockyard.template import parse as p
from dockyard.template.funcs import (
    FUNCS,
    MISSING,
    PARAMS,
    FuncError,
    TypedNil,
    check_type,
    go_str,
    go_type,
    truth,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Struct", "Template"]

_UNSET: Any = object()


class Struct(dict[str, "Any"]):
    """A Go struct: fields by name; a missing one is ``can't evaluate field X in type T``;
    a callable value is a method, called with the command's arguments."""

    go_type = "struct"
    #: the value a missing field reads as; ``_UNSET`` makes it an error
    zero: Any = _UNSET
    #: ``{{json .}}`` of Docker's listing contexts is a map: keys sorted. A struct of
    #: Docker's API types (inspect) keeps its field order: set this false.
    json_sorted = True
    #: fields ``{{json .}}`` leaves out while they hold their zero value
    omitempty: frozenset[str] = frozenset()

    def __init__(self, go_type: str = "struct", zero: Any = _UNSET, /,
                 **fields: Any) -> None:
        super().__init__(**fields)
        self.go_type = go_type
        self.zero = zero


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _ExecError(Exception):
    def __init__(self, node: p.Node, msg: str) -> None:
        super().__init__(msg)
        self.node = node
        self.msg = msg


@functools.cache
def _arity(f: Callable[..., Any]) -> tuple[int, int | None]:
    import inspect  # ~10 ms: only when a function is called

    params = inspect.signature(f).parameters.values()
    if any(x.kind is inspect.Parameter.VAR_POSITIONAL for x in params):
        return (sum(1 for x in params if x.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                    and x.default is inspect.Parameter.empty), None)
    n = sum(1 for x in params if x.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                             inspect.Parameter.POSITIONAL_OR_KEYWORD))
    return n, n


class Template:
    """``Template(src).execute(data)``; ``funcs`` adds or replaces functions."""

    def __init__(self, src: str, funcs: dict[str, Callable[..., Any]] | None = None,
                 name: str = "") -> None:
        self.src = src
        self.name = name
        self.funcs = {**FUNCS, **(funcs or {})}
        self.nodes, self.defines = p.parse(src, frozenset(self.funcs), name)

    def execute(self, data: Any, out: list[str] | None = None,
                funcs: dict[str, Callable[..., Any]] | None = None,
                missing_key_error: bool = False) -> str:
        """Run on ``data`` and return the text. What was written before an error is left
        in ``out`` (if given) when :class:`~dockyard.template.parse.TemplateError` is
        raised. ``missing_key_error`` is Go's ``Option("missingkey=error")``: a map key
        that is not there is an error instead of ``<no value>``."""
        buf: list[str] = [] if out is None else out
        run = _Run(self.defines, data, buf, {**self.funcs, **(funcs or {})})
        run.missing_key_error = missing_key_error
        try:
            run.walk_list(data, self.nodes)
        except _ExecError as e:
            raise p.TemplateError(self._where(e.node) + e.msg) from None
        except RecursionError:
            raise p.TemplateError("template: exceeded maximum template depth") from None
        return "".join(buf)

    def _where(self, node: p.Node) -> str:
        line = self.src.count("\n", 0, node.pos) + 1
        col = node.pos - (self.src.rfind("\n", 0, node.pos) + 1)
        return f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{node.src}>: '


class _Run:
    def __init__(self, defines: dict[str, list[p.Node]], data: Any, out: list[str],
                 funcs: dict[str, Callable[..., Any]]) -> None:
        self.defines = defines
        self.out = out
        self.funcs = funcs
        self.vars: list[tuple[str, Any]] = [("$", data)]
        self.missing_key_error = False
        #: the node evaluated last: where Go reports a bad value (``s.at(node)``)
        self.at: p.Node = p.Text(0, "", "")

    # --- control ---------------------------------------------------------------------
    def walk_list(self, dot: Any, nodes: list[p.Node]) -> None:
        mark = len(self.vars)
        try:
            for n in nodes:
                self.walk(dot, n)
        finally:
            del self.vars[mark:]

    def walk(self, dot: Any, node: p.Node) -> None:
        if isinstance(node, p.Text):
            self.out.append(node.text)
        elif isinstance(node, p.Action):
            assert node.pipe is not None
            val = self.pipe(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append(go_str(val))
        elif isinstance(node, p.Branch):
            self.branch(dot, node)
        elif isinstance(node, p.Loop):
            raise _Break() if node.kind == "break" else _Continue()
        elif isinstance(node, p.Call):
            body = self.defines.get(node.name)
            if body is None:
                raise _ExecError(node, f'template "{node.name}" not defined')
            value = self.pipe(dot, node.pipe) if node.pipe is not None else None
            saved, self.vars = self.vars, [("$", value)]
            try:
                self.walk_list(value, body)
            finally:
                self.vars = saved

    def branch(self, dot: Any, node: p.Branch) -> None:
        assert node.pipe is not None
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.range(dot, node)
                return
            val = self.pipe(dot, node.pipe)
            if truth(val):
                self.walk_list(val if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk_list(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: p.Branch) -> None:
        assert node.pipe is not None
        decl = node.pipe.decl
        val = self.pipe(dot, p.Pipe(node.pipe.pos, node.pipe.src, [], False, node.pipe.cmds))
        items: list[tuple[Any, Any]]
        if isinstance(val, list | tuple):
            items = list(enumerate(val))
        elif isinstance(val, dict):
            items = sorted(val.items(), key=lambda kv: (str(type(kv[0])), kv[0]))
        elif isinstance(val, int) and not isinstance(val, bool):
            items = [(i, i) for i in range(val)]
        elif val is None or val is MISSING or isinstance(val, TypedNil):
            items = []
        else:
            raise _ExecError(self.at, f"range can't iterate over {go_str(val)}")
        if isinstance(val, int) and not isinstance(val, bool) and len(decl) > 1:
            raise _ExecError(self.at, f"can't use {val} to iterate over more than one "
                                      "variable")
        mark = len(self.vars)
        for k, v in items:
            if len(decl) == 1:
                self.setvar(decl[0], v, node.pipe.is_assign)
            elif len(decl) == 2:
                self.setvar(decl[0], k, node.pipe.is_assign)
                self.setvar(decl[1], v, node.pipe.is_assign)
            try:
                self.walk_list(v, node.body)
            except _Break:
                break
            except _Continue:
                pass
            finally:
                del self.vars[mark:]
        if not items and node.else_body is not None:
            self.walk_list(dot, node.else_body)

    def setvar(self, name: str, value: Any, assign: bool) -> None:
        if assign:
            for i in range(len(self.vars) - 1, -1, -1):
                if self.vars[i][0] == name:
                    self.vars[i] = (name, value)
                    return
        self.vars.append((name, value))

    def getvar(self, node: p.Node, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise _ExecError(node, f"undefined variable: {name}")

    # --- pipelines and commands --------------------------------------------------------
    def pipe(self, dot: Any, pipe: p.Pipe) -> Any:
        val: Any = _UNSET
        for cmd in pipe.cmds:
            val = self.command(dot, cmd, val)
        for name in pipe.decl:
            self.setvar(name, val, pipe.is_assign)
        return val

    def command(self, dot: Any, cmd: p.Command, final: Any) -> Any:
        first = cmd.args[0]
        self.at = first
        if isinstance(first, p.Field):
            return self.chain(first, dot, first.names, cmd.args[1:], final, dot)
        if isinstance(first, p.Variable):
            val = self.getvar(first, first.names[0])
            if len(first.names) == 1:
                self.not_a_function(cmd, final)
                return val
            return self.chain(first, val, first.names[1:], cmd.args[1:], final, dot)
        if isinstance(first, p.Chain):
            assert first.node is not None
            val = self.arg(dot, first.node)
            return self.chain(first, val, first.names, cmd.args[1:], final, dot)
        if isinstance(first, p.Ident):
            return self.call(dot, cmd, first.name, cmd.args[1:], final)
        if isinstance(first, p.Literal) and first.src == "nil":
            raise _ExecError(first, "nil is not a command")
        self.not_a_function(cmd, final)
        return self.arg(dot, first)

    def not_a_function(self, cmd: p.Command, final: Any) -> None:
        if len(cmd.args) > 1 or final is not _UNSET:
            raise _ExecError(cmd.args[0],
                             f"can't give argument to non-function {cmd.args[0].src}")

    def arg(self, dot: Any, node: p.Node) -> Any:
        self.at = node
        if isinstance(node, p.Literal):
            return node.value
        if isinstance(node, p.Field):
            return self.chain(node, dot, node.names, [], _UNSET, dot)
        if isinstance(node, p.Variable):
            val = self.getvar(node, node.names[0])
            return self.chain(node, val, node.names[1:], [], _UNSET, dot)
        if isinstance(node, p.Pipe):
            return self.pipe(dot, node)
        if isinstance(node, p.Chain):
            assert node.node is not None
            return self.chain(node, self.arg(dot, node.node), node.names, [], _UNSET, dot)
        if isinstance(node, p.Ident):
            return self.call(dot, p.Command(node.pos, node.src, [node]), node.name, [], _UNSET)
        raise _ExecError(node, "can't handle argument")

    def chain(self, node: p.Node, recv: Any, names: list[str], args: list[p.Node],
              final: Any, dot: Any) -> Any:
        for i, name in enumerate(names):
            last = i == len(names) - 1
            recv = self.field(node, recv, name, args if last else [],
                              final if last else _UNSET, dot)
        if not names and (args or final is not _UNSET):
            raise _ExecError(node, f"can't give argument to non-function {node.src}")
        return recv

    def field(self, node: p.Node, recv: Any, name: str, args: list[p.Node], final: Any,
              dot: Any) -> Any:
        has_args = bool(args) or final is not _UNSET
        if recv is MISSING:
            return MISSING
        if recv is None:
            raise _ExecError(node, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(recv, TypedNil):
            raise _ExecError(node, f"nil pointer evaluating {recv.go_type}.{name}")
        if isinstance(recv, Struct):
            if name not in recv:
                if recv.zero is not _UNSET and not has_args:
                    return recv.zero
                raise _ExecError(node, f"can't evaluate field {name} in type {recv.go_type}")
            val = recv[name]
            if callable(val):
                argv = [self.arg(dot, a) for a in args] + (
                    [final] if final is not _UNSET else [])
                return self.invoke(node, name, val, argv)
            if has_args:
                n = len(args) + (final is not _UNSET)
                raise _ExecError(node, f"wrong number of args for {name}: want 0 got {n}")
            return val
        if isinstance(recv, dict):
            if has_args:
                raise _ExecError(node, f"{name} is not a method but has arguments")
            val = recv.get(name, MISSING)
            if val is MISSING and self.missing_key_error:
                raise _ExecError(node, f'map has no entry for key "{name}"')
            return val() if callable(val) else val
        raise _ExecError(node, f"can't evaluate field {name} in type {go_type(recv)}")

    def call(self, dot: Any, cmd: p.Command, name: str, args: list[p.Node],
             final: Any) -> Any:
        fn = self.funcs[name]
        self.at = cmd.args[0]
        if name in ("and", "or"):
            if not args and final is _UNSET:
                raise _ExecError(cmd.args[0], f"wrong number of args for {name}: want at "
                                              "least 1 got 0")
            val: Any = None
            for a in args:
                val = self.arg(dot, a)
                if truth(val) != (name == "and"):
                    return val
            return final if final is not _UNSET else val
        self.check_arity(cmd.args[0], name, fn, len(args) + (final is not _UNSET))
        types = PARAMS.get(name, ())
        argv = []
        for i, a in enumerate(args):
            want = types[i] if i < len(types) else "any"
            if isinstance(a, p.Literal) and want != "any" and not check_type(a.value, want):
                what = {"string": "expected string", "int": "expected integer"}.get(want)
                if a.src == "nil":
                    raise _ExecError(a, f"cannot assign nil to {want}")
                raise _ExecError(a, f"{what}; found {a.src}" if what else
                                 f"can't handle {a.src} for arg of type {want}")
            value = self.arg(dot, a)
            argv.append(self.typed_arg(self.at, value, want))
        if final is not _UNSET:
            want = types[len(args)] if len(args) < len(types) else "any"
            argv.append(self.typed_arg(self.at, final, want))
        return self.invoke(cmd, name, fn, argv, cmd.args[0])

    def typed_arg(self, node: p.Node, value: Any, want: str) -> Any:
        if want != "any" and not check_type(value, want):
            if value is MISSING or value is None:
                raise _ExecError(node, f"invalid value; expected {want}")
            raise _ExecError(node, f"wrong type for value; expected {want}; "
                                   f"got {go_type(value)}")
        return value

    def check_arity(self, node: p.Node, name: str, fn: Callable[..., Any], n: int) -> None:
        try:
            lo, hi = _arity(fn)
        except (TypeError, ValueError):
            return
        if n < lo or (hi is not None and n > hi):
            want = f"at least {lo}" if hi is None else str(lo)
            raise _ExecError(node, f"wrong number of args for {name}: want {want} got {n}")

    def invoke(self, node: p.Node, name: str, fn: Callable[..., Any],
               argv: list[Any], ident: p.Node | None = None) -> Any:
        """Call ``fn``; a wrong argument count is reported at ``ident`` (the function's
        name), a failure at ``node`` (the whole command), as Go does."""
        self.check_arity(ident or node, name, fn, len(argv))
        try:
            return fn(*argv)
        except FuncError as e:
            raise _ExecError(node, f"error calling {name}: {e}") from None
        except (TypeError, AttributeError, ValueError) as e:
            raise _ExecError(node, f"error calling {name}: {e}") from None
