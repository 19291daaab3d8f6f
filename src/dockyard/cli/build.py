"""``dockyard build [OPTIONS] PATH | -``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._image import UsageError, one_line, parser
    from dockyard.errors import DockyardError, InvalidArgument

    p = parser("build", "dockyard build [OPTIONS] PATH | -")
    p.add_argument("path")
    p.add_argument("-t", "--tag", action="append", default=[])
    p.add_argument("-f", "--file")
    p.add_argument("--build-arg", action="append", default=[])
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--pull", action="store_true")
    p.add_argument("--iidfile")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--network", default="default")
    p.add_argument("--platform")
    p.add_argument("--target", default="")
    try:
        a = p.parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}\nSee 'dockyard build --help'.\n")
        return 125
    except SystemExit as e:
        return int(e.code or 0)
    from dockyard.build.builder import BuildOptions
    from dockyard.engine.build import build

    def out(text: str) -> None:
        if not a.quiet:
            sys.stdout.write(text)
            sys.stdout.flush()

    try:
        if a.platform:
            _check_platform(a.platform)
        if a.network not in ("default", "none", "host", "bridge"):
            raise InvalidArgument(f"network mode {a.network!r} is not supported by build: "
                                  "use default, host or none")
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        opts = BuildOptions(
            tags=a.tag, build_args=_pairs(a.build_arg, from_env=True),
            labels=_pairs(a.label, from_env=False), no_cache=a.no_cache, pull=a.pull,
            target=a.target, network="default" if a.network == "bridge" else a.network,
            quiet=a.quiet, source_date_epoch=_epoch(epoch) if epoch else None)
        image_id, warnings = build(ctx.root, ctx.exec_root, a.path, a.file, opts,
                                   sys.stdin.buffer, out)
    except DockyardError as e:
        sys.stdout.flush()
        sys.stderr.write(f"{one_line(e)}\n")
        return 1
    except OSError as e:
        if ctx.debug:
            raise
        sys.stderr.write(f"Error: {one_line(e)}\n")
        return 1
    for w in warnings:
        out(w + "\n")
    if a.iidfile:
        with open(a.iidfile, "w") as f:
            f.write(image_id)
    if a.quiet:
        sys.stdout.write(image_id + "\n")
    else:
        out(f"Successfully built {image_id[7:19]}\n")
        for t in a.tag:
            out(f"Successfully tagged {_familiar(t)}\n")
    return 0


def _familiar(tag: str) -> str:
    from dockyard.oci.reference import parse_reference

    return parse_reference(tag).familiar()


def _pairs(items: list[str], from_env: bool) -> dict[str, str]:
    """``K=V``; a bare ``K`` takes the CLI's environment (``--build-arg``) or ``""``."""
    out: dict[str, str] = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq and from_env:
            if k not in os.environ:
                continue
            v = os.environ[k]
        out[k] = v
    return out


def _epoch(text: str) -> int:
    from dockyard.errors import InvalidArgument

    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"invalid SOURCE_DATE_EPOCH {text!r}: want seconds") from None


def _check_platform(platform: str) -> None:
    from dockyard.errors import InvalidArgument
    from dockyard.oci.image_types import host_platform, parse_platform

    want = parse_platform(platform)
    host = host_platform()
    if (want.os, want.architecture) != (host.os, host.architecture):
        raise InvalidArgument(f"--platform {platform} is not supported: this host builds "
                              f"{host.os}/{host.architecture} only")
