"""process.rlimits, applied by the runtime to stage 1 (inherited by all it forks)."""

from __future__ import annotations

import sys

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Rlimit


def apply_rlimits(pid: int, rlimits: list[Rlimit]) -> None:
    """prlimit(2) on stage 1 (inherited by the init). Without CAP_SYS_RESOURCE a hard
    limit cannot rise above the current one: clamp it there and warn, don't fail."""
    if not rlimits:
        return
    import resource

    for rl in rlimits:
        name = rl["type"]
        res = getattr(resource, name, None)
        if not isinstance(res, int):
            raise InvalidArgument(f"unknown rlimit type {name!r}")
        soft, hard = (resource.RLIM_INFINITY if v >= 1 << 63 else v
                      for v in (rl["soft"], rl["hard"]))
        try:
            resource.prlimit(pid, res, (soft, hard))
        except (PermissionError, ValueError):
            _, cur_hard = resource.prlimit(pid, res)
            new_hard = _at_most(hard, cur_hard, resource.RLIM_INFINITY)
            new_soft = _at_most(soft, new_hard, resource.RLIM_INFINITY)
            sys.stderr.write(f"warning: {name} {soft}:{hard} exceeds the hard limit "
                             f"{cur_hard} and CAP_SYS_RESOURCE is missing; using "
                             f"{new_soft}:{new_hard}\n")
            resource.prlimit(pid, res, (new_soft, new_hard))


def _at_most(value: int, limit: int, infinity: int) -> int:
    """min() where ``infinity`` (RLIM_INFINITY, -1 in Python) is larger than anything."""
    if limit == infinity:
        return value
    if value == infinity or value > limit:
        return limit
    return value
