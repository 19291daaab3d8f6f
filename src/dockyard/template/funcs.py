"""How Go prints values (``fmt``'s ``%v``) and the functions a Docker template can call:
Go's builtins (``and or not len index slice print printf println eq ne lt le gt ge html js
urlquery``) and Docker's (``json split join title lower upper pad truncate``)."""

from __future__ import annotations

import json
import math
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["FUNCS", "MISSING", "PARAMS", "FuncError", "TypedNil", "check_type", "go_repr",
           "go_str", "go_type", "truth"]


class _Missing:
    """Go's invalid ``reflect.Value``: a key a map does not have. Prints ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Any = _Missing()


class TypedNil:
    """A nil slice, map or pointer of a typed Go struct field: ``fmt`` prints ``[]``,
    ``map[]`` or ``<nil>`` where an untyped nil prints ``<no value>``; ``json`` gives
    ``null``; it is false and empty."""

    __slots__ = ("go_type", "text")

    def __init__(self, go_type: str) -> None:
        self.go_type = go_type
        self.text = ("[]" if go_type.startswith("[]") else "map[]"
                     if go_type.startswith("map[") else "<nil>")

    def __repr__(self) -> str:
        return self.text


class FuncError(Exception):
    """A function failed; the executor adds where (``error calling index: ...``)."""


def go_type(v: Any) -> str:
    if isinstance(v, TypedNil):
        return v.go_type
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list | tuple):
        return "[]string" if v and all(isinstance(x, str) for x in v) else "[]interface {}"
    if isinstance(v, dict):
        return getattr(v, "go_type", "map[string]interface {}")
    return type(v).__name__


def go_float(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` as ``%v`` prints a float64."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    r = repr(f)
    mant, _, exp_s = r.partition("e")
    neg = mant.startswith("-")
    mant = mant.lstrip("-")
    int_part, _, frac = mant.partition(".")
    digits = (int_part + frac).lstrip("0")
    exp = int(exp_s or 0) + len(int_part) - 1
    if int_part.strip("0") == "":
        lead = len(frac) - len(frac.lstrip("0"))
        exp = int(exp_s or 0) - lead - 1
    digits = digits.rstrip("0") or "0"
    if f == 0:
        return "-0" if neg else "0"
    sign = "-" if neg else ""
    if exp < -4 or exp >= 6:  # shortest 'g': strconv decides with precision 6
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if exp + 1 >= len(digits):
        return sign + digits + "0" * (exp + 1 - len(digits))
    return f"{sign}{digits[:exp + 1]}.{digits[exp + 1:]}"


def go_str(v: Any, top: bool = True) -> str:
    """``fmt.Sprint(v)`` as text/template prints it: ``[a b]``, ``map[k:v]``, ``<nil>``."""
    if v is MISSING or (v is None and top):
        return "<no value>"
    if v is None:
        return "<nil>"
    if isinstance(v, TypedNil):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str | int):
        return str(v)
    if isinstance(v, list | tuple):
        return "[" + " ".join(go_str(x, False) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{go_str(k, False)}:{go_str(x, False)}"
                                 for k, x in sorted(v.items(), key=_key)) + "]"
    return str(v)


def _key(kv: tuple[Any, Any]) -> Any:
    k = kv[0]
    return (0, k, "") if isinstance(k, int | float) else (1, 0, str(k))


def go_repr(s: str) -> str:
    """``strconv.Quote``."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        else:
            out.append(c)
    return "".join(out) + '"'


def truth(v: Any) -> bool:
    """text/template's ``truth``: false, 0, nil, and empty strings, slices and maps are
    false."""
    if v is MISSING or v is None or isinstance(v, TypedNil):
        return False
    if isinstance(v, bool | int | float | str | list | tuple | dict):
        return bool(v)
    return True


# --- printf --------------------------------------------------------------------------

_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.?)", re.S)


def sprintf(fmt: str, *args: Any) -> str:
    """``fmt.Sprintf`` for the verbs templates use: ``%s %v %d %q %t %x %X %o %b %c %f %e
    %g %%`` with flags, width and precision."""
    out: list[str] = []
    pos = 0
    argi = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if not verb:
            out.append("%!(NOVERB)")
            continue
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            width = str(args[argi]) if argi < len(args) else ""
            argi += 1
        if prec == "*":
            prec = str(args[argi]) if argi < len(args) else ""
            argi += 1
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[argi]
        argi += 1
        out.append(_formatted(verb, a, flags, width, prec))
    out.append(fmt[pos:])
    if argi < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{go_type(a)}={go_str(a, False)}"
                                            for a in args[argi:]) + ")")
    return "".join(out)


class _BadVerb(Exception):
    pass


def _formatted(verb: str, a: Any, flags: str, width: str | None, prec: str | None) -> str:
    """One operand, padded to ``width``; a verb that does not fit its type prints as Go's
    ``%!d(string=x)``, a slice gets the verb applied to each element."""
    if a is MISSING:
        a = None
    if isinstance(a, list | tuple) and verb not in "vT":
        return "[" + " ".join(_formatted(verb, x, flags, width, prec) for x in a) + "]"
    try:
        text = _one(verb, a, flags, prec)
    except _BadVerb:
        if a is None:
            return f"%!{verb}(<nil>)"
        return f"%!{verb}({go_type(a)}={_pad(go_str(a, False), flags, width, False)})"
    return _pad(text, flags, width,
                numeric=verb in "dxXobfeEgG" and isinstance(a, int | float))


def _one(verb: str, a: Any, flags: str, prec: str | None) -> str:
    if verb == "T":
        return go_type(a)
    if verb == "v" or (verb == "s" and isinstance(a, str | dict)):
        s = go_str(a, False)
        if verb == "s" and prec:
            s = s[:int(prec)]
        return s
    if a is None:
        raise _BadVerb()
    if verb == "q" and isinstance(a, int) and not isinstance(a, bool):
        return "'" + go_repr(chr(a))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
    if verb == "U" and isinstance(a, int) and not isinstance(a, bool):
        return f"U+{a:04X}"
    if verb == "q" and isinstance(a, str):
        return go_repr(a)
    if verb == "t" and isinstance(a, bool):
        return go_str(a)
    if verb in "dxXobc" and isinstance(a, int) and not isinstance(a, bool):
        if verb == "c":
            return chr(a)
        body = format(abs(a), {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
        if "#" in flags and verb in "xX":
            body = "0" + verb + body
        elif "#" in flags and verb == "o" and body != "0":
            body = "0" + body
        sign = "-" if a < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
        return sign + body
    if verb in "xX" and isinstance(a, str):
        h = a.encode().hex()
        return h.upper() if verb == "X" else h
    if verb in "feEgG" and isinstance(a, float):
        if verb in "gG" and not prec:
            s = go_float(float(a))
            return s.upper() if verb == "G" else s
        p = int(prec) if prec else 6
        s = format(float(a), f"{'+' if '+' in flags else ''}.{p}{verb}")
        return re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", s)
    raise _BadVerb()


def _pad(s: str, flags: str, width: str | None, numeric: bool) -> str:
    if not width:
        return s
    w = int(width)
    if "-" in flags:
        return s.ljust(w)
    if "0" in flags and numeric:
        sign = s[0] if s[:1] in "+- " and s[:1] else ""
        return sign + s[len(sign):].rjust(w - len(sign), "0")
    return s.rjust(w)


# --- the functions -------------------------------------------------------------------

def _len(v: Any) -> int:
    if isinstance(v, TypedNil) and v.text != "<nil>":
        return 0
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, list | tuple | dict):
        return len(v)
    raise FuncError(f"len of type {go_type(v)}")


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if v is None or v is MISSING:
            raise FuncError("index of untyped nil")
        if isinstance(v, TypedNil):
            if v.text == "map[]":
                v = MISSING
                continue
            raise FuncError(f"index out of range: {k}")
        if isinstance(v, dict):
            v = v.get(k, MISSING)
        elif isinstance(v, list | tuple | str):
            if not isinstance(k, int) or isinstance(k, bool):
                raise FuncError(f"cannot index slice/array with type {go_type(k)}")
            if not 0 <= k < len(v):
                raise FuncError(f"index out of range: {k}")
            v = v[k] if not isinstance(v, str) else v.encode()[k]
        else:
            raise FuncError(f"can't index item of type {go_type(v)}")
    return v


def _slice(v: Any, *idx: Any) -> Any:
    if v is None or v is MISSING:
        raise FuncError("slice of untyped nil")
    if not isinstance(v, list | tuple | str):
        raise FuncError(f"can't slice item of type {go_type(v)}")
    if len(idx) > 2:
        raise FuncError("too many slice indexes: 3")
    seq: Any = v.encode() if isinstance(v, str) else v  # Go slices a string's bytes
    for i in idx:
        if not 0 <= i <= len(seq):
            raise FuncError(f"index out of range: {i}")
    lo = idx[0] if idx else 0
    hi = idx[1] if len(idx) > 1 else len(seq)
    if lo > hi:
        raise FuncError(f"invalid slice index: {lo} > {hi}")
    out = seq[lo:hi]
    return out.decode(errors="replace") if isinstance(out, bytes) else out


def _print(*args: Any) -> str:
    """``fmt.Sprint``: a space between operands when neither side is a string."""
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(a, False)
    return out


def _println(*args: Any) -> str:
    return " ".join(go_str(a, False) for a in args) + "\n"


def _basic(v: Any) -> Any:
    if v is MISSING or isinstance(v, TypedNil):
        v = None
    return v


def _cmp_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if v is None:
        return "nil"
    return "other"


def _eq(a: Any, *bs: Any) -> bool:
    a = _basic(a)
    if not bs:
        raise FuncError("missing argument for comparison")
    for b in bs:
        b = _basic(b)
        ka, kb = _cmp_kind(a), _cmp_kind(b)
        if ka == "nil" or kb == "nil":  # Go: a nil operand is unequal, not an error
            if ka == kb:
                return True
            continue
        if ka != kb:
            raise FuncError("incompatible types for comparison")
        if ka == "other":
            raise FuncError(f"non-comparable types {go_str(a, False)}: {go_type(a)}, "
                            f"{go_type(b)}: {go_str(b, False)}")
        if a == b:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    a, b = _basic(a), _basic(b)
    ka, kb = _cmp_kind(a), _cmp_kind(b)
    if ka in ("nil", "other") or kb in ("nil", "other"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    if ka == "bool":
        raise FuncError("invalid type for comparison")
    return bool(a < b)


def _urlquery(s: str) -> str:
    import urllib.parse

    return urllib.parse.quote_plus(s)


def _js(s: str) -> str:
    """Go's ``template.JSEscapeString``."""
    out = []
    for c in s:
        if c in "\\'\"":
            out.append("\\" + c)
        elif c in "<>&=" or ord(c) < 0x20:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _upper(s: str) -> str:
    """Go's ``strings.ToUpper``: rune by rune (``ß`` stays, Python would write ``SS``)."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


def _lower(s: str) -> str:
    return "".join(u if len(u := c.lower()) == 1 else c for c in s)


def _title(s: str) -> str:
    """Go's ``strings.Title``: upper-case the first letter of every word."""
    out = []
    prev = " "
    for c in s:
        out.append(_upper(c) if not (prev.isalnum() or prev == "_") else c)
        prev = c
    return "".join(out)


def _json(v: Any) -> str:
    """Docker's ``json``: ``json.Marshal`` without HTML escaping."""
    text = json.dumps(_to_json(v), separators=(",", ":"), ensure_ascii=False, default=str)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if hasattr(v, "go_type") and getattr(v, "json_sorted", False):
        # a listing context's own MarshalJSON (json.Marshal) escapes HTML characters
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _needs_args(f: Any) -> bool:
    """A method with parameters (``Label``) is not part of ``{{json .}}``."""
    if not callable(f):
        return False
    import inspect

    try:
        return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)
                   for p in inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return True


def _to_json(v: Any) -> Any:
    """What Go's encoder sees: a Struct's data fields (sorted when it stands for a map;
    ``omitempty`` fields left out), nils as null, an integral float64 under 1e21 without
    a fraction."""
    if v is MISSING or isinstance(v, TypedNil):
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    if isinstance(v, dict):
        items = list(v.items())
        if hasattr(v, "go_type"):
            omit: frozenset[str] = getattr(v, "omitempty", frozenset())
            items = [(k, x() if callable(x) else x) for k, x in items
                     if not _needs_args(x) and not (
                         k in omit and (isinstance(x, TypedNil) or not x))]
            if getattr(v, "json_sorted", True):
                items.sort()
        return {k: _to_json(x) for k, x in items}
    if isinstance(v, list | tuple):
        return [_to_json(x) for x in v]
    return v


def _join(v: Any, sep: str) -> str:
    if not isinstance(v, list | tuple):
        raise FuncError(f"wrong type for value; expected []string; got {go_type(v)}")
    return sep.join(go_str(x, False) for x in v)


def _split(s: str, sep: str) -> list[str]:
    if sep == "":
        return list(s)
    return s.split(sep)


def _pad_fn(s: str, before: int, after: int) -> str:
    return " " * before + s + " " * after


def _truncate(s: str, n: int) -> str:
    return s[:n] if len(s) > n else s


FUNCS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: a[-1],  # short-circuiting forms are evaluated by the executor
    "or": lambda *a: a[-1],
    "not": lambda a: not truth(a),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": _print,
    "printf": lambda fmt, *a: sprintf(fmt, *a),
    "println": _println,
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _lt,
    "le": lambda a, b: _lt(a, b) or _eq(a, b),
    "gt": lambda a, b: not (_lt(a, b) or _eq(a, b)),
    "ge": lambda a, b: not _lt(a, b),
    "html": lambda *a: _print(*a).replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;").replace('"', "&#34;").replace("'", "&#39;"),
    "js": lambda *a: _js(_print(*a)),
    "urlquery": lambda *a: _urlquery(_print(*a)),
    "json": _json,
    "split": _split,
    "join": _join,
    "title": _title,
    "lower": _lower,
    "upper": _upper,
    "pad": _pad_fn,
    "truncate": _truncate,
}

#: Go parameter types of the functions whose parameters are not ``interface{}``: an
#: argument of another type is an error before the call (``expected string; found 3``).
PARAMS: dict[str, tuple[str, ...]] = {
    "printf": ("string",), "split": ("string", "string"), "join": ("[]string", "string"),
    "title": ("string",), "lower": ("string",), "upper": ("string",),
    "pad": ("string", "int", "int"), "truncate": ("string", "int"),
}


def check_type(value: Any, want: str) -> bool:
    """Whether ``value`` can be passed as a Go ``want`` (string, int, []string)."""
    if want == "string":
        return isinstance(value, str)
    if want == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if want == "[]string":
        return (isinstance(value, list | tuple) and all(isinstance(x, str) for x in value)
                ) or (isinstance(value, TypedNil) and value.go_type.startswith("[]"))
    return True


#: Docker's ``HeaderFunctions``: on the header row of a ``table``, functions pass their
#: first argument (the column's header) through.
HEADER_FUNCS: dict[str, Callable[..., Any]] = {
    name: (lambda v, *_: v) for name in
    ("json", "split", "join", "title", "lower", "upper", "pad", "truncate")}
