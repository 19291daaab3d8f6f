"""``dockyard restart [-t N] CONTAINER...``: stop (if running), then start."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.lifecycle import Engine


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _verbs
    from dockyard.engine import control
    from dockyard.errors import DockyardError

    parsed = _verbs.parse("restart", argv, {"-t": "time", "--time": "time"})
    if isinstance(parsed, int):
        return parsed
    values, refs = parsed
    timeout = _verbs.int_flag(values.get("time"), "--time")

    def act(engine: Engine, ref: str) -> None:
        report = control.restart(engine, ref, timeout)
        if not report.get("started"):
            raise DockyardError(f"Cannot restart container {ref}: "
                                f"{report.get('error', 'it did not start')}")

    return _verbs.each(ctx, refs, act)
