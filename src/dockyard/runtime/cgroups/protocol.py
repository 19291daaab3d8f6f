"""The one interface every cgroup driver (v1 fs, hybrid, v2) implements.

Import this module only under ``TYPE_CHECKING``: it needs ``typing``, which the runtime's
start-up does not load.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from dockyard.oci.runtime_types import Resources
else:
    Protocol = object


class CgroupManager(Protocol):
    """A container's cgroup in every hierarchy the host mounts.

    Lifecycle: ``create()`` -> ``set(resources)`` -> ``add(pid)`` (init, then each exec'd
    process) ... ``freeze``/``thaw``/``kill_all``/``stats`` while it runs ... ``destroy()``.
    ``open_manager`` with the same arguments (or with the stored ``paths()``) rebuilds an
    equal manager in another process, so ``delete`` can destroy what ``create`` made.
    Failures raise ``CgroupError`` (a ``SyscallError`` naming the file) or a
    ``dockyard.errors`` category (``InvalidArgument``, ``Unsupported``).
    """

    def create(self) -> None:
        """``mkdir -p`` the cgroup in every hierarchy; idempotent. On v1 the cpuset
        directories get ``cpuset.cpus``/``cpuset.mems`` from their parent; on v2 the
        ancestors get the available controllers in ``cgroup.subtree_control``."""

    def set(self, resources: Resources) -> None:
        """Write OCI ``linux.resources``, in an order that never fails on tightening."""

    def add(self, pid: int) -> None:
        """Move process ``pid`` into the cgroup in every hierarchy (incl. unified)."""

    def pids(self) -> list[int]:
        """Every process in the cgroup and its child cgroups, sorted."""

    def freeze(self) -> None:
        """Freeze every process; returns once the kernel reports the cgroup frozen."""

    def thaw(self) -> None:
        """Undo :meth:`freeze`."""

    def kill_all(self, sig: int) -> None:
        """Freeze, send ``sig`` to every process, thaw (so none can fork away)."""

    def destroy(self) -> None:
        """Remove the cgroup (and child cgroups) everywhere, retrying briefly on EBUSY,
        plus the ancestors this object created if now empty; no error if already gone."""

    def paths(self) -> dict[str, str]:
        """Controller (or "unified") -> absolute directory, for the runtime's state.json."""

    def stats(self) -> dict[str, int]:
        """Those of memory_usage, memory_limit, memory_max_usage, cpu_usage_ns,
        pids_current, pids_limit, blkio_read_bytes, blkio_write_bytes that exist; -1 is
        "no limit"."""

    def oom_kill_count(self) -> int:
        """How many processes the OOM killer killed in this cgroup."""
