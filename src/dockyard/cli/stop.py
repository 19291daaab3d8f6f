"""``dockyard stop [-t N] CONTAINER...``: the stop signal, SIGKILL after the timeout."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine import control

    parsed = _verbs.parse("stop", argv, {"-t": "time", "--time": "time"})
    if isinstance(parsed, int):
        return parsed
    values, refs = parsed
    timeout = _verbs.int_flag(values.get("time"), "--time")
    return _verbs.each(ctx, refs, lambda e, ref: control.stop(e, ref, timeout))
