"""The mount flags of ``run``/``create``: ``-v``, ``--mount``, ``--tmpfs``, ``--volumes-from``.

Parsed here into :class:`RunOptions` fields; the engine (``engine/mount_specs.py``,
``engine/volumes.py``) checks and resolves them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.engine.run_options import RunOptions


def add_mount_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--volume", action="append", default=[], dest="mount_volume")
    p.add_argument("--mount", action="append", default=[], dest="mount_mount")
    p.add_argument("--tmpfs", action="append", default=[], dest="mount_tmpfs")
    p.add_argument("--volumes-from", action="append", default=[], dest="mount_volumes_from")


def apply_mount_flags(args: argparse.Namespace, opts: RunOptions) -> None:
    """Copy the parsed flags into ``opts`` (``--tmpfs`` checked here, as Docker's CLI does)."""
    from dockyard.engine.mount_specs import parse_tmpfs

    opts.volumes = list(args.mount_volume)
    opts.mounts = list(args.mount_mount)
    opts.volumes_from = list(args.mount_volumes_from)
    for raw in args.mount_tmpfs:
        dest, options = parse_tmpfs(raw)
        opts.tmpfs[dest] = options
