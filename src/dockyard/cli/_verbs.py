"""Shared by the verbs that act on existing containers (stop, kill, pause, wait...):
Docker's per-container error lines and exit status 1."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine


def parse(verb: str, argv: list[str], flags: dict[str, str], *,
          min_args: int = 1, max_args: int = 0) -> tuple[dict[str, str], list[str]] | int:
    """``flags`` maps ``-t``/``--time`` to a value name; returns (values, positionals),
    or the exit status after printing the usage error."""
    values: dict[str, str] = {}
    refs: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--":
            refs.extend(it)
            break
        if a == "--help":
            opts = "[OPTIONS] " if flags else ""
            args = ("CONTAINER NEW_NAME" if max_args == 2 else "CONTAINER" if max_args == 1
                    else "CONTAINER [CONTAINER...]")
            names = ", ".join(sorted(f for f in flags if f.startswith("--")))
            sys.stdout.write(f"\nUsage:  dockyard {verb} {opts}{args}\n"
                             + (f"\nOptions: {names}\n" if names else ""))
            return 0
        if a.startswith("-") and a != "-":
            name, eq, value = a.partition("=")
            key = flags.get(name)
            if key is None:
                sys.stderr.write(f"unknown flag: {name}\nSee 'dockyard {verb} --help'.\n")
                return 125
            if key.startswith("!"):
                values[key[1:]] = "true"
                continue
            if not eq:
                nxt = next(it, None)
                if nxt is None:
                    sys.stderr.write(f"flag needs an argument: {name}\n"
                                     f"See 'dockyard {verb} --help'.\n")
                    return 125
                value = nxt
            values[key] = value
        else:
            refs.append(a)
    if len(refs) < min_args or (max_args and len(refs) > max_args):
        want = (f"exactly {min_args} argument" if max_args == min_args
                else f"at least {min_args} argument")
        sys.stderr.write(f'"dockyard {verb}" requires {want}{"s" if min_args > 1 else ""}.'
                         f"\nSee 'dockyard {verb} --help'.\n")
        return 1
    return values, refs


def each(ctx: Context, refs: list[str], act: Callable[[Engine, str], object],
         prefix: str = "") -> int:
    """Run ``act`` for each container, printing the argument as given on success and
    Docker's error line otherwise (``prefix`` may name the argument as ``{ref}``); exit
    status 1 if any failed."""
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    code = 0
    for ref in refs:
        engine = Engine(ctx.root, ctx.exec_root)
        try:
            act(engine, ref)
            sys.stdout.write(ref + "\n")
        except DockyardError as e:
            sys.stderr.write("Error response from daemon: "
                             f"{prefix.replace('{ref}', ref)}{e}\n")
            code = 1
        finally:
            engine.close()
    return code


def int_flag(value: str | None, flag: str) -> int | None:
    from dockyard.errors import InvalidArgument

    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: '
                              f'strconv.ParseInt: parsing "{value}": invalid syntax') from None
