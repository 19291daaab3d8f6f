"""``dockyard start CONTAINER...``: run created or exited containers under a monitor."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli.run import start_failed
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    if any(a in ("-a", "--attach", "-i", "--interactive", "-ai", "-ia") or
           a.startswith("--detach-keys") for a in argv):
        from dockyard.cli.attach import start_attached

        return start_attached(ctx, argv)
    refs = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    if flags:
        sys.stderr.write(f"unknown flag: {flags[0]}\nSee 'dockyard start --help'.\n")
        return 125
    if not refs:
        sys.stderr.write('"dockyard start" requires at least 1 argument.\n')
        return 1
    failed: list[str] = []
    for ref in refs:
        engine = Engine(ctx.root, ctx.exec_root)
        try:
            _, report = engine.start(ref)  # closes the engine
        except DockyardError as e:
            sys.stderr.write(f"Error response from daemon: {e}\n")
            failed.append(ref)
            continue
        if report.get("started"):
            sys.stdout.write(ref + "\n")
        else:
            start_failed(report)
            failed.append(ref)
    if failed:
        sys.stderr.write("Error: failed to start containers: " + ", ".join(failed) + "\n")
        return 1
    return 0
