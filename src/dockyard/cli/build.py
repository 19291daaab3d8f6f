"""``dockyard build [OPTIONS] PATH | -``.

Parsed with the small table parser (no ``argparse``): a rebuild with nothing changed is
a hot path, answered by the build memo without loading the builder.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

USAGE = """\
Usage:  dockyard build [OPTIONS] PATH | -

Build an image from a Dockerfile

Options:
      --build-arg list      Set build-time variables
  -f, --file string         Name of the Dockerfile (Default is 'PATH/Dockerfile')
      --iidfile string      Write the image ID to the file
      --label list          Set metadata for an image
      --network string      Networking mode for the RUN instructions: default, host, none
      --no-cache            Do not use cache when building the image
      --platform string     Set platform (this host's only)
      --pull                Always attempt to pull a newer version of the image
  -q, --quiet               Suppress the build output and print image ID on success
  -t, --tag list            Name and optionally a tag in the 'name:tag' format
      --target string       Set the target build stage to build.
"""

SPEC = {"t": "=tag", "tag": "list", "f": "=file", "file": "str", "build-arg": "list",
        "label": "list", "no-cache": "bool", "pull": "bool", "iidfile": "str",
        "q": "=quiet", "quiet": "bool", "network": "str", "platform": "str",
        "target": "str", "help": "bool", "h": "=help"}


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._args import parse
    from dockyard.errors import DockyardError, InvalidArgument

    try:
        a = parse(argv, SPEC)
        if a.flag("help"):
            sys.stdout.write(USAGE)
            return 0
        if len(a.positional) != 1:
            raise InvalidArgument('"dockyard build" requires exactly 1 argument.')
    except InvalidArgument as e:
        sys.stderr.write(f"dockyard: {e}\nSee 'dockyard build --help'.\n")
        return 125
    from dockyard.build.options import BuildOptions
    from dockyard.engine.build import BadTag, build

    quiet = a.flag("quiet")

    def out(text: str) -> None:
        if not quiet:
            sys.stdout.write(text)
            sys.stdout.flush()

    tags = a.many("tag")
    try:
        network = a.opt("network") or "default"
        if network not in ("default", "none", "host", "bridge"):
            raise InvalidArgument(f"network mode {network!r} is not supported by build: "
                                  "use default, host or none")
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        opts = BuildOptions(
            tags=tags, build_args=_pairs(a.many("build-arg"), from_env=True),
            labels=_pairs(a.many("label"), from_env=False), no_cache=a.flag("no-cache"),
            pull=a.flag("pull"), target=a.opt("target") or "",
            network="default" if network == "bridge" else network,
            quiet=quiet, source_date_epoch=_epoch(epoch) if epoch else None)
        image_id, warnings = build(ctx.root, ctx.exec_root, a.positional[0], a.opt("file"),
                                   opts, sys.stdin.buffer, out, platform=a.opt("platform"))
    except BadTag as e:
        sys.stderr.write(f"{e}\nSee 'dockyard build --help'.\n")
        return 125
    except DockyardError as e:
        sys.stdout.flush()
        sys.stderr.write(" ".join(str(e).split("\n")).strip() + "\n")
        return int(getattr(e, "status", 1))
    except OSError as e:
        if ctx.debug:
            raise
        sys.stderr.write(f"Error: {e}\n")
        return 1
    for w in warnings:
        out(w + "\n")
    iidfile = a.opt("iidfile")
    if iidfile:
        with open(iidfile, "w") as f:
            f.write(image_id)
    if quiet:
        sys.stdout.write(image_id + "\n")
    else:
        out(f"Successfully built {image_id[7:19]}\n")
        for t in tags:
            out(f"Successfully tagged {_familiar(t)}\n")
    return 0


def _familiar(tag: str) -> str:
    """``name`` -> ``name:latest`` (Docker's message), without loading the reference
    parser: the tag was checked when the build began."""
    last = tag.rpartition("/")[2]
    if "@" in last or ":" in last:
        return tag
    return f"{tag}:latest"


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
