"""How Go prints values (``fmt``'s ``%v``) and the functions a Docker template can call:
Go's builtins (``and or not len index slice print printf println eq ne lt le gt ge html js
urlquery``) and Docker's (``json split join title lower upper pad truncate``)."""

from __future__ import annotations

import functools
import json
import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

__all__ = ["FUNCS", "MISSING", "FuncError", "TypedNil", "go_repr", "go_str", "go_type", "truth"]


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
        return "[]interface {}"
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

_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


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
        out.append(_pad(_one(verb, a, flags, prec), flags, width,
                        numeric=verb in "dxXobfeEgG" and isinstance(a, int | float)))
    out.append(fmt[pos:])
    if argi < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{go_type(a)}={go_str(a, False)}"
                                            for a in args[argi:]) + ")")
    return "".join(out)


def _one(verb: str, a: Any, flags: str, prec: str | None) -> str:
    if a is MISSING:
        a = None
    if verb in "sv":
        s = go_str(a, False)
        if verb == "s" and prec:
            s = s[:int(prec)]
        return s
    if verb == "q":
        return go_repr(a) if isinstance(a, str) else f"%!q({go_type(a)}={go_str(a, False)})"
    if verb == "t":
        return go_str(a) if isinstance(a, bool) else f"%!t({go_type(a)}={go_str(a, False)})"
    if verb in "dxXobc" and isinstance(a, int) and not isinstance(a, bool):
        if verb == "c":
            return chr(a)
        body = format(abs(a), {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
        if "#" in flags and verb in "xX":
            body = "0" + verb + body
        sign = "-" if a < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
        return sign + body
    if verb in "xX" and isinstance(a, str):
        h = a.encode().hex()
        return h.upper() if verb == "X" else h
    if verb in "feEgG" and isinstance(a, int | float) and not isinstance(a, bool):
        if verb in "gG" and not prec:
            s = go_float(float(a))
            return s.upper() if verb == "G" else s
        p = int(prec) if prec else 6
        s = format(float(a), f"{'+' if '+' in flags else ''}.{p}{verb}")
        return re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", s)
    return f"%!{verb}({go_type(a)}={go_str(a, False)})"


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
    if not isinstance(v, list | tuple | str):
        raise FuncError(f"can't slice item of type {go_type(v)}")
    if len(idx) > 2:
        raise FuncError("too many slice indexes: 3")
    lo = idx[0] if idx else 0
    hi = idx[1] if len(idx) > 1 else len(v)
    if not 0 <= lo <= hi <= len(v):
        raise FuncError(f"index out of range: {hi if hi > len(v) else lo}")
    return v[lo:hi]


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
    if isinstance(v, int | float):
        return "number"
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
        if ka == "other" or kb == "other":
            if ka == "nil" or kb == "nil":
                if (a is None) == (b is None):
                    return True
                continue
            raise FuncError("uncomparable type")
        if ka != kb:
            if ka == "nil" or kb == "nil":
                continue
            raise FuncError("incompatible types for comparison")
        if a == b:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    a, b = _basic(a), _basic(b)
    ka, kb = _cmp_kind(a), _cmp_kind(b)
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    if ka not in ("number", "string"):
        raise FuncError("invalid type for comparison")
    return bool(a < b)


def _title(s: str) -> str:
    """Go's ``strings.Title``: upper-case the first letter of every word."""
    out = []
    prev = " "
    for c in s:
        out.append(c.upper() if not (prev.isalnum() or prev == "_") else c)
        prev = c
    return "".join(out)


def _json(v: Any) -> str:
    """Docker's ``json``: ``json.Marshal`` without HTML escaping."""
    if v is MISSING or isinstance(v, TypedNil):
        v = None
    if isinstance(v, dict) and hasattr(v, "go_type"):  # a Struct: its data fields, sorted
        v = {k: x for k, x in sorted(v.items()) if not callable(x)}
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False,
                      default=lambda x: None if isinstance(x, TypedNil) else str(x))


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


def _str_arg(f: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        if args and not isinstance(args[0], str):
            raise FuncError(f"wrong type for value; expected string; got {go_type(args[0])}")
        return f(*args)
    return wrapped


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
    "js": lambda *a: json.dumps(_print(*a))[1:-1].replace("'", "\\'"),
    "urlquery": lambda *a: urllib.parse.quote_plus(_print(*a)),
    "json": _json,
    "split": _str_arg(_split),
    "join": _join,
    "title": _str_arg(_title),
    "lower": _str_arg(str.lower),
    "upper": _str_arg(str.upper),
    "pad": _str_arg(_pad_fn),
    "truncate": _str_arg(_truncate),
}

#: Docker's ``HeaderFunctions``: on the header row of a ``table``, functions pass their
#: first argument (the column's header) through.
HEADER_FUNCS: dict[str, Callable[..., Any]] = {
    name: (lambda v, *_: v) for name in
    ("json", "split", "join", "title", "lower", "upper", "pad", "truncate")}
