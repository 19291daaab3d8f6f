"""``dockyard rm [-f] [-v] CONTAINER...``."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

#: ``-v``/``--volumes`` also removes the container's anonymous volumes.
_FLAGS = {"f": "force", "force": "force", "v": "volumes", "volumes": "volumes",
          "l": "link", "link": "link"}


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    seen: set[str] = set()
    refs: list[str] = []
    for a in argv:
        if a.startswith("--"):
            names = [a[2:]]
        elif a.startswith("-") and a != "-":
            names = list(a[1:])
        else:
            refs.append(a)
            continue
        for n in names:
            if n not in _FLAGS or (len(n) == 1) != (not a.startswith("--")):
                sys.stderr.write(f"unknown flag: {a}\nSee 'dockyard rm --help'.\n")
                return 125
            seen.add(_FLAGS[n])
    if not refs:
        sys.stderr.write('"dockyard rm" requires at least 1 argument.\n')
        return 1
    engine = Engine(ctx.root, ctx.exec_root)
    code = 0
    try:
        for ref in refs:
            try:
                engine.remove(ref, force="force" in seen, volumes="volumes" in seen)
                sys.stdout.write(ref + "\n")
            except DockyardError as e:
                sys.stderr.write(f"Error response from daemon: {e}\n")
                code = 1
    finally:
        engine.close()
    return code
