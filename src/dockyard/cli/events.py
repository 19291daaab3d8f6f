"""``dockyard events [--since --until --filter --format]``: the engine's event log.

Without ``--until`` it follows new events (polling the table) until interrupted; without
``--since`` it starts with the events to come, as ``docker events`` does.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.events import Event
    from dockyard.template import Template

POLL = 0.2


def run(ctx: Context, argv: list[str]) -> int:
    import time

    from dockyard.cli import _ctr, _image
    from dockyard.engine import events
    from dockyard.errors import DockyardError
    from dockyard.template import TemplateError, prepare

    p = _image.parser("events", "dockyard events [OPTIONS]")
    p.add_argument("-f", "--filter", action="append", default=[])
    p.add_argument("--format", default="")
    p.add_argument("--since")
    p.add_argument("--until")
    a = _ctr.parse(p, argv)
    if isinstance(a, int):
        return a
    try:
        flt = events.parse_filters(a.filter)
        now = time.time_ns()
        since = events.parse_time(a.since, now) if a.since else None
        until = events.parse_time(a.until, now) if a.until else None
        tmpl = prepare(a.format) if a.format else None
    except (DockyardError, TemplateError) as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    after = 0 if since is not None or until is not None else events.last_id(ctx.root)
    try:
        while True:
            for ev in events.read(ctx.root, after, since, until):
                after = ev.id
                if not events.matches(ev, flt):
                    continue
                try:
                    text = ev.line() if tmpl is None else _render(tmpl, ev)
                except TemplateError as e:
                    sys.stderr.write(f"{e}\n")
                    return 1
                sys.stdout.write(text + "\n")
            sys.stdout.flush()
            if until is not None and time.time_ns() > until:
                return 0
            time.sleep(POLL)
    except (KeyboardInterrupt, BrokenPipeError):
        return 0


def _render(tmpl: Template, ev: Event) -> str:
    from dockyard.template import Struct

    class Message(Struct):
        """``events.Message``: Go field names (``.Status``, ``.TimeNano``) for templates,
        its JSON names (``status``, ``timeNano``) for ``{{json .}}``."""

        json_sorted = False
        names = {"Status": "status", "ID": "id", "From": "from", "Scope": "scope",
                 "Time": "time", "TimeNano": "timeNano"}

        def __contains__(self, key: object) -> bool:
            return key in self.names or dict.__contains__(self, key)

        def __getitem__(self, key: str) -> object:
            return self.get(self.names.get(key, key), "")

    msg = ev.message()
    actor = Struct("events.Actor", **msg["Actor"])
    actor.json_sorted = False
    msg["Actor"] = actor  # in place: {{json .}} keeps Docker's key order
    return tmpl.execute(Message("events.Message", **msg))
