"""``dockyard history`` / ``dockyard image history``."""

from __future__ import annotations

import sys
import time

from dockyard.cli import _image as ci

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from dockyard.cli.main import Context
    from dockyard.engine.images import HistoryRow, Images

HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
           "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("history", "dockyard history [OPTIONS] IMAGE")
    p.add_argument("image")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-H", "--human", default="true")
    p.add_argument("--format")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    rows = images.history(a.image)

    def short(i: str) -> str:
        return i if a.no_trunc or i == "<missing>" else i[7:19]

    def by(s: str) -> str:
        return s if a.no_trunc or len(s) <= 45 else s[:44] + "…"

    human = a.human.lower() not in ("false", "0")

    def created(r: HistoryRow) -> str:  # docker's CreatedSince: an RFC 3339 time unless human
        return ci.since(r.created) if human else _created_at(r.created)

    def size(r: HistoryRow) -> str:
        return ci.human_size(r.size) if human else str(r.size)

    if a.quiet:
        sys.stdout.write("".join(f"{short(r.id)}\n" for r in rows))
        return 0
    if a.format and a.format != "table":
        fields: list[dict[str, Any]] = [{
            "ID": short(r.id), "CreatedSince": created(r), "CreatedAt": _created_at(r.created),
            "CreatedBy": by(r.created_by), "Size": size(r), "Comment": r.comment}
            for r in rows]
        sys.stdout.write(ci.render(a.format, fields, HEADERS, "*image.historyContext"))
        return 0
    body = [[short(r.id), created(r), by(r.created_by), size(r), r.comment] for r in rows]
    sys.stdout.write(ci.table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], body))
    return 0


def _created_at(rfc3339: str) -> str:
    """docker's ``time.Unix(created, 0).Format(time.RFC3339)``: whole seconds (in UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ci.parse_time(rfc3339)))
