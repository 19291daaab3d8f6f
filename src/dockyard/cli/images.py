"""``dockyard images`` / ``dockyard image ls``."""

from __future__ import annotations

import sys
import time

from dockyard.cli import _image as ci

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from dockyard.cli.main import Context
    from dockyard.engine.images import Images

USAGE = "dockyard images [OPTIONS] [REPOSITORY[:TAG]]"
HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
           "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
           "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE",
           "UniqueSize": "UNIQUE SIZE", "Containers": "CONTAINERS"}


def run(ctx: Context, argv: list[str]) -> int:
    p = ci.parser("images", USAGE)
    p.add_argument("repo", nargs="?")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--digests", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[])
    p.add_argument("--format")
    return ci.run(ctx, p, argv, _body)


def _body(images: Images, a: argparse.Namespace) -> int:
    rows = images.list_images(a.all, a.filter, a.repo)

    def short(i: str) -> str:
        return i if a.no_trunc else i[7:19]

    if a.quiet:
        sys.stdout.write("".join(f"{short(r.id)}\n" for r in rows))
        return 0
    if a.format and a.format != "table":
        fields: list[dict[str, Any]] = [{
            "ID": short(r.id), "Repository": r.repository, "Tag": r.tag,
            "Digest": r.digest, "CreatedSince": ci.since(r.created),
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z",
                                       time.localtime(ci.parse_time(r.created))),
            "Size": ci.human_size(r.size), "VirtualSize": ci.human_size(r.size, 4),
            "SharedSize": "N/A", "UniqueSize": "N/A", "Containers": "N/A",
        } for r in rows]
        sys.stdout.write(ci.render(a.format, fields, HEADERS,
                                   "*formatter.imageContext"))
        return 0
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if a.digests else []) + [
        "IMAGE ID", "CREATED", "SIZE"]
    body = [[r.repository, r.tag] + ([r.digest] if a.digests else []) + [
        short(r.id), ci.since(r.created), ci.human_size(r.size)] for r in rows]
    sys.stdout.write(ci.table(header, body))
    return 0
