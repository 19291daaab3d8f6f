"""``dockyard history`` / ``dockyard image history``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from dockyard.cli import _image as ci

if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.images import Images


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
    if a.quiet:
        sys.stdout.write("".join(f"{short(r.id)}\n" for r in rows))
        return 0
    if a.format:
        fields: list[dict[str, Any]] = [{
            "ID": short(r.id), "CreatedSince": ci.since(r.created), "CreatedAt": r.created,
            "CreatedBy": by(r.created_by), "Size": ci.human_size(r.size),
            "Comment": r.comment} for r in rows]
        sys.stdout.write(ci.render(a.format, fields, {"ID": "IMAGE",
                                                      "CreatedSince": "CREATED"}))
        return 0
    body = [[short(r.id), ci.since(r.created) if human else r.created, by(r.created_by),
             ci.human_size(r.size) if human else str(r.size), r.comment] for r in rows]
    sys.stdout.write(ci.table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], body))
    return 0
