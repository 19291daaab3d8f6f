"""A small getopt-style parser for runc's command line.

``argparse`` costs milliseconds of import on a path containerd walks for every
container; runc's flags are few and regular, so they are parsed here by table.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument


class Flags:
    """Parsed options: ``values`` by long name, ``positional`` in order."""

    def __init__(self) -> None:
        self.values: dict[str, str | bool | list[str]] = {}
        self.positional: list[str] = []

    def opt(self, name: str, default: str | None = None) -> str | None:
        v = self.values.get(name, default)
        return v if isinstance(v, str) or v is None else str(v)

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def many(self, name: str) -> list[str]:
        v = self.values.get(name, [])
        return v if isinstance(v, list) else [str(v)]


def parse(argv: list[str], spec: dict[str, str], *, stop_at_positional: bool = False) -> Flags:
    """``spec`` maps each flag (``"bundle"``, ``"b"``) to its kind: ``"str"``, ``"bool"``,
    ``"list"``, or ``"=long"`` for a short alias of a long flag."""
    out = Flags()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            out.positional.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            out.positional.append(arg)
            if stop_at_positional:
                out.positional.extend(argv[i:])
                break
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        kind = spec.get(name)
        if kind is not None and kind.startswith("="):
            name = kind[1:]
            kind = spec[name]
        if kind is None:
            raise InvalidArgument(f"flag provided but not defined: -{arg.lstrip('-')}")
        if kind == "bool":
            out.values[name] = value.lower() not in ("false", "0") if eq else True
            continue
        if not eq:
            if i >= len(argv):
                raise InvalidArgument(f"flag needs an argument: -{name}")
            value = argv[i]
            i += 1
        if kind == "list":
            lst = out.values.setdefault(name, [])
            assert isinstance(lst, list)
            lst.append(value)
        else:
            out.values[name] = value
    return out
