"""``dockyard stats [-a] [--no-stream] [--no-trunc] [--format F] [CONTAINER...]``.

Live mode redraws the table every second (ANSI clear screen, as docker does) until
interrupted; ``--no-stream`` prints one table from two samples a second apart.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.containers import ContainerRecord
    from dockyard.engine.lifecycle import Engine

CLEAR = "\033[2J\033[H"


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli import _ctr, _image

    p = _image.parser("stats", "dockyard stats [OPTIONS] [CONTAINER...]")
    p.add_argument("containers", nargs="*")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("--no-stream", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("--format", default="")
    a = _ctr.parse(p, argv)
    if isinstance(a, int):
        return a

    def body(engine: Engine) -> int:
        from dockyard.engine import stats
        from dockyard.record import asdict
        from dockyard.template import Struct, TemplateError, render_rows

        fmt = a.format or stats.DEFAULT_FORMAT
        prev: dict[str, stats.Sample] = {}
        first = True
        try:
            while True:
                targets = _targets(engine, a.containers, a.all)
                cur = {r.id: stats.sample(engine, r) for r, _ in targets}
                if first and a.no_stream and any(s.running for s in cur.values()):
                    prev = cur
                    stats.wait_interval()
                    targets = _targets(engine, a.containers, a.all)
                    cur = {r.id: stats.sample(engine, r) for r, _ in targets}
                rows = [Struct("*formatter.statsContext", **asdict(
                    stats.row(r, shown, prev.get(r.id), cur[r.id], a.no_trunc)))
                    for r, shown in targets]
                try:
                    text = render_rows(fmt, rows, stats.HEADERS)
                except TemplateError as e:
                    sys.stderr.write(f"{e}\n")
                    return 1
                sys.stdout.write(text if a.no_stream else CLEAR + text)
                sys.stdout.flush()
                if a.no_stream:
                    return 0
                first = False
                prev = cur
                stats.wait_interval()
        except (KeyboardInterrupt, BrokenPipeError):
            return 0

    return _ctr.with_engine(ctx, body, prefix="Error: ")


def _targets(engine: Engine, refs: list[str],
             all_: bool) -> list[tuple[ContainerRecord, str]]:
    """(record, what .Container shows): the named containers, else the running (all
    with ``-a``) ones."""
    if refs:
        return [(engine.refresh(engine.containers.get(r)), r) for r in refs]
    engine.refresh_all()
    return [(r, r.id[:12]) for r in reversed(engine.containers.list(all=all_))]
