"""Helpers for the container lifecycle tests: records, polling, what a container left."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from dockyard.engine.containers import ContainerRecord, ContainerStore


def record(root: Path, ref: str) -> ContainerRecord:
    """The container's record as ``inspect`` reads it."""
    with ContainerStore(str(root)) as store:
        return store.get(ref)


def wait_for(pred: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what or pred}"
        time.sleep(0.1)


def cgroup_dirs_of(cid: str) -> list[str]:
    """The container's cgroup directories (``/dockyard/<id>`` in each hierarchy)."""
    found = []
    for top in os.listdir("/sys/fs/cgroup"):
        d = os.path.join("/sys/fs/cgroup", top, "dockyard", cid)
        if os.path.isdir(d):
            found.append(d)
    return found


def procs_with(needle: str, but_not: str = "\0\0") -> list[int]:
    """Pids whose command line contains ``needle`` (and not ``but_not``)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if needle.encode() in cmdline and but_not.encode() not in cmdline:
            found.append(int(name))
    return found


def mounted_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(str(path))]


def unique_name(tag: str) -> str:
    """A container name no other test (or other run beside this one) uses."""
    return f"{tag}-{os.getpid()}-{os.urandom(3).hex()}"


def runtime_states(runtime_root: Path) -> list[Path]:
    """What the runtime keeps under its root for containers (its seccomp cache aside)."""
    if not runtime_root.exists():
        return []
    return [p for p in runtime_root.iterdir() if p.name != "@seccomp"]
