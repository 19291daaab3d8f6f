"""JSON for the runtime's start path, on CPython's C codec without ``json``'s imports.

``import json`` pulls in ``re`` and ``enum`` (about 6 ms on the machines we measure);
the container start path needs only to read config.json and write its own state. This
module drives the same C scanner and string encoder that ``json`` uses (``_json``), so
what it accepts and writes is exactly what ``json`` would, without those imports.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["copy", "dumps", "loads"]


class _Context:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo: dict[str, str] = {}


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]  # a decoder-like object
_WS = " \t\n\r"


def loads(text: str | bytes) -> Any:
    """Parse one JSON document; ``ValueError`` names the offending character."""
    s = text.decode() if isinstance(text, bytes) else text
    i, n = 0, len(s)
    while i < n and s[i] in _WS:
        i += 1
    try:
        obj, end = _scan(s, i)
    except StopIteration as e:
        raise ValueError(f"invalid JSON at character {e.value}") from None
    while end < n and s[end] in _WS:
        end += 1
    if end != n:
        raise ValueError(f"extra data after the JSON document at character {end}")
    return obj


def copy(obj: Any) -> Any:
    """A deep copy of a JSON document: its dicts, lists and tuples are new, the scalars
    shared (``copy.deepcopy``'s result for such data, without importing ``copy``)."""
    if isinstance(obj, dict):
        return {k: copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [copy(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(copy(v) for v in obj)
    return obj


def dumps(obj: Any) -> str:
    """Compact JSON of dicts, lists, strings, ints, floats, bools and None."""
    out: list[str] = []
    _encode(obj, out)
    return "".join(out)


def _encode(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_json.encode_basestring_ascii(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise ValueError(f"JSON cannot hold {obj!r}")
        out.append(float.__repr__(obj))
    elif isinstance(obj, dict):
        out.append("{")
        for i, (k, v) in enumerate(obj.items()):
            if not isinstance(k, str):
                raise TypeError(f"JSON object keys must be strings, not {type(k).__name__}")
            if i:
                out.append(",")
            out.append(_json.encode_basestring_ascii(k))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")
