"""``dockyard kill [-s SIGNAL] CONTAINER...``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine import control

    parsed = _verbs.parse("kill", argv, {"-s": "signal", "--signal": "signal"})
    if isinstance(parsed, int):
        return parsed
    values, refs = parsed
    sig = values.get("signal", "KILL")
    return _verbs.each(ctx, refs, lambda e, ref: control.kill(e, ref, sig),
                       prefix="Cannot kill container: {ref}: ")
