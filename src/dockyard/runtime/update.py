"""``update``: change the resources of a created, running or paused container live.

The new values are written to its cgroup (the driver orders the writes the kernel needs,
e.g. v1's memory before or after memsw) and merged into the spec kept in state.json, so
``state`` and later updates see them.
"""

from __future__ import annotations

from dockyard.errors import Conflict
from dockyard.runtime.state import STOPPED, Container

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Resources


def update(root: str, container_id: str, resources: Resources) -> None:
    c = Container.load(root, container_id)
    if c.status().value == STOPPED:
        raise Conflict("container not running")
    c.cgroup().set(resources)
    linux = c.data.setdefault("config", {}).setdefault("linux", {})
    merge_resources(linux.setdefault("resources", {}), resources)
    c.save()


def merge_resources(into: Any, new: Any) -> None:
    """Nested dicts merged key by key (``memory.limit`` keeps ``memory.swap``)."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge_resources(into[key], value)
        else:
            into[key] = value
