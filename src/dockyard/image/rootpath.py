"""Paths inside a root filesystem, as a container sees them, resolved on the host."""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument

__all__ = ["scoped"]


def scoped(rootfs: str, path: str) -> str:
    """``path`` as seen in the container -> a host path under ``rootfs``, with symlinks
    resolved inside it (Docker's ``FollowSymlinkInScope``)."""
    parts = [p for p in path.split("/") if p]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        host = os.path.join(rootfs, *resolved, part)
        if os.path.islink(host):
            hops += 1
            if hops > 255:
                raise InvalidArgument(f"too many symlinks resolving {path}")
            target = os.readlink(host)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    return os.path.join(rootfs, *resolved)
