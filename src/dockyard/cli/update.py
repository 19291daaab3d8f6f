"""``dockyard update [--memory --memory-swap --cpus --cpu-shares --pids-limit --restart]
CONTAINER...``: live resource limits and the restart policy."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine

_FLAGS = {"-m": "memory", "--memory": "memory", "--memory-swap": "memory_swap",
          "--cpus": "cpus", "-c": "cpu_shares", "--cpu-shares": "cpu_shares",
          "--pids-limit": "pids_limit", "--restart": "restart"}


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine import control
    from dockyard.errors import DockyardError

    parsed = _verbs.parse("update", argv, _FLAGS)
    if isinstance(parsed, int):
        return parsed
    values, refs = parsed
    try:
        shares = _verbs.int_flag(values.get("cpu_shares"), "--cpu-shares")
        pids = _verbs.int_flag(values.get("pids_limit"), "--pids-limit")
    except DockyardError as e:
        sys.stderr.write(f"{e}\nSee 'dockyard update --help'.\n")
        return 125
    if not values:
        sys.stderr.write("You must provide one or more flags when using this command.\n")
        return 1

    def act(engine: Engine, ref: str) -> None:
        control.update(engine, ref, memory=values.get("memory"),
                       memory_swap=values.get("memory_swap"), cpus=values.get("cpus"),
                       cpu_shares=shares, pids_limit=pids, restart=values.get("restart"))

    return _verbs.each(ctx, refs, act)
