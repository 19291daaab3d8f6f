"""A container's record on disk (``ROOT/ID/state.json``) and its status.

Status follows runtime-spec "Lifecycle": creating -> created -> running -> stopped.
It is derived, not stored: the init process is alive (same pid *and* start time, so a
recycled pid is never mistaken for it) and the start socket still exists -> created;
alive without it -> running (or paused); gone -> stopped.
"""

from __future__ import annotations

import os
import time

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.linux.process import start_time
from dockyard.oci import jsontext

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Spec
    from dockyard.runtime.cgroups.protocol import CgroupManager

OCI_VERSION = "1.0.2-dev"
START_SOCKET = "start.sock"

CREATING = "creating"
CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"


class Status:
    """Guards for each lifecycle operation (STYLE rule 2)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return self.value

    def can_start(self) -> bool:
        return self.value == CREATED

    def can_kill(self) -> bool:
        return self.value in (CREATED, RUNNING, PAUSED)

    def can_exec(self) -> bool:
        return self.value == RUNNING

    def can_delete(self) -> bool:
        return self.value in (STOPPED, CREATED, CREATING)

    def can_pause(self) -> bool:
        return self.value == RUNNING

    def can_resume(self) -> bool:
        return self.value == PAUSED


def valid_id(container_id: str) -> bool:
    """runc's rule: ids are ``^[\\w+-\\.]+$`` and never ``.`` or ``..``."""
    return container_id not in ("", ".", "..") and all(
        c.isalnum() or c in "_+-." for c in container_id) and container_id.isascii()


def validate_id(container_id: str) -> None:
    if not valid_id(container_id):
        raise InvalidArgument(f"invalid container id format: {container_id}")


#: The runtime's cache of compiled seccomp filters, beside the containers' state dirs
#: (``@`` is never in a container id, so it is never taken for one).
SECCOMP_CACHE = "@seccomp"


class Container:
    """What the runtime remembers about one container between invocations."""

    def __init__(self, root: str, container_id: str, data: dict[str, Any]) -> None:
        self.root = root
        self.id = container_id
        self.data = data

    # --- locations -----------------------------------------------------------------
    @staticmethod
    def dir_of(root: str, container_id: str) -> str:
        return os.path.join(root, container_id)

    @property
    def dir(self) -> str:
        return self.dir_of(self.root, self.id)

    @property
    def start_socket(self) -> str:
        return os.path.join(self.dir, START_SOCKET)

    # --- fields --------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return int(self.data["pid"])

    @property
    def bundle(self) -> str:
        return str(self.data["bundle"])

    @property
    def spec(self) -> Spec:
        spec: Spec = self.data["config"]
        return spec

    def cgroup(self) -> CgroupManager:
        """The container's cgroup manager, from the paths recorded at create (so a
        relative cgroupsPath resolves the same from any caller's cgroup)."""
        from dockyard.runtime.cgroups import open_manager

        cgroups_path = self.spec.get("linux", {}).get("cgroupsPath", "") \
            if "config" in self.data else ""
        return open_manager(cgroups_path, self.id, paths=self.data.get("cgroup_paths"))

    # --- persistence ---------------------------------------------------------------
    @classmethod
    def load(cls, root: str, container_id: str) -> Container:
        validate_id(container_id)
        path = os.path.join(cls.dir_of(root, container_id), "state.json")
        try:
            with open(path, "rb") as f:
                data = jsontext.loads(f.read())
        except FileNotFoundError:
            if os.path.isdir(cls.dir_of(root, container_id)):
                return cls(root, container_id, {"id": container_id, "creating": True})
            raise NotFound("container does not exist") from None
        except ValueError as e:
            raise Conflict(f"container {container_id}: state.json is corrupt: {e}") from None
        return cls(root, container_id, data)

    def save(self) -> None:
        """Write state.json atomically: a reader sees the old or the new file, never half."""
        tmp = os.path.join(self.dir, f".state.json.{os.getpid()}")
        with open(tmp, "w") as f:
            f.write(jsontext.dumps(self.data))
        os.replace(tmp, os.path.join(self.dir, "state.json"))

    # --- status --------------------------------------------------------------------
    def init_alive(self) -> bool:
        if "pid" not in self.data:
            return False
        return start_time(self.pid) == self.data.get("pid_start")

    def status(self) -> Status:
        if self.data.get("creating"):
            return Status(CREATING)
        if not self.init_alive():
            return Status(STOPPED)
        if os.path.exists(self.start_socket):
            return Status(CREATED)
        if self.data.get("paused"):
            return Status(PAUSED)
        return Status(RUNNING)

    def oci_state(self) -> dict[str, Any]:
        """The runtime-spec State, plus runc's extra fields (rootfs, created, owner)."""
        status = self.status()
        out: dict[str, Any] = {"ociVersion": OCI_VERSION, "id": self.id,
                               "pid": self.data.get("pid", 0) if status.value != STOPPED
                               else 0,
                               "status": status.value,
                               "bundle": self.data.get("bundle", ""),
                               "rootfs": self.data.get("rootfs", ""),
                               "created": self.data.get("created", ""),
                               "owner": ""}
        annotations = self.data.get("annotations")
        if annotations:
            out["annotations"] = annotations
        return out


def list_ids(root: str) -> list[str]:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if valid_id(n) and os.path.isdir(os.path.join(root, n)))


def utc_now() -> str:
    """RFC 3339 with nanoseconds, as runc prints ``created``."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
