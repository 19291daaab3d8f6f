"""The runtime's stage 1, forked as a foreground ``run`` begins.

A container's start waits for its stage 1: a second interpreter, sealed against
CVE-2019-5736 (see :mod:`dockyard.runtime.launch`), that must start and load its code,
~20 ms. Forked before the CLI imports the engine (~50 ms), that start overlaps the CLI's
own and costs the user nothing. It waits for GO and exits without one; the caller hands it
to :meth:`Engine.run_foreground` or aborts it.

Only a foreground ``run`` without ``-d``, ``-i``, ``-t`` or ``-a`` can use it: the others
start the container from a monitor, which must be the init's parent. Flags are not parsed
yet this early: :func:`may_run_in_foreground` is a cheap guess, and a wrong guess only
costs a stage 1 that is aborted.
"""

from __future__ import annotations

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.launch import Spawned

#: Long flags that make ``run`` start its container from a monitor.
_MONITORED = ("--detach", "--interactive", "--tty", "--attach")


def may_run_in_foreground(argv: list[str]) -> bool:
    """False if any argument looks like ``-d``, ``-i``, ``-t`` or ``-a`` (alone, in a
    cluster like ``-dit``, or long). Arguments of the container's command count too: a
    false "no" just forgoes the early start."""
    for arg in argv:
        if arg.startswith("--"):
            if arg.split("=", 1)[0] in _MONITORED:
                return False
        elif arg.startswith("-") and any(c in arg[1:] for c in "dita"):
            return False
    return True


def fork_stage1() -> Spawned:
    from dockyard.runtime.launch import spawn

    return spawn()
