"""``pause``/``resume``: freeze and thaw every process of a container (the freezer)."""

from __future__ import annotations

from dockyard.errors import Conflict
from dockyard.runtime.state import Container


def pause(root: str, container_id: str) -> None:
    c = Container.load(root, container_id)
    if not c.status().can_pause():
        raise Conflict("container not running")
    c.cgroup().freeze()
    c.data["paused"] = True
    c.save()


def resume(root: str, container_id: str) -> None:
    c = Container.load(root, container_id)
    if not c.status().can_resume():
        raise Conflict("container not paused")
    c.cgroup().thaw()
    c.data["paused"] = False
    c.save()
