"""``delete``: remove a stopped (or, with force, any) container and all it holds."""

from __future__ import annotations

import os
import sys
import time

from dockyard.errors import Conflict
from dockyard.runtime.hooks import HookFailed, run_hooks
from dockyard.runtime.state import Container

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.cgroups.protocol import CgroupManager


def delete(root: str, container_id: str, force: bool = False) -> None:
    c = Container.load(root, container_id)
    status = c.status()
    if not status.can_delete() and not force:
        raise Conflict(f"cannot delete container {container_id} that is not stopped: "
                       f"{status}")
    cgroup = c.cgroup()
    if c.init_alive():
        cgroup.kill_all(9)
        try:
            os.kill(c.pid, 9)
        except ProcessLookupError:
            pass
        wait_gone(c)
    elif cgroup.pids():
        cgroup.kill_all(9)  # no pid namespace: orphans of the init may still run
    if "config" in c.data:
        state = c.oci_state()
        for hook in c.spec.get("hooks", {}).get("poststop", []):
            try:
                run_hooks("poststop", [hook], state)
            except HookFailed as e:
                sys.stderr.write(f"warning: {e}\n")
    _wait_empty(cgroup)
    paths = cgroup.paths()
    cgroup.destroy()
    _remove_default_parents(paths)
    _remove_tree(c.dir)


def _remove_default_parents(paths: dict[str, str]) -> None:
    """dockyard's containers live under a ``dockyard`` parent cgroup (the runtime's
    default /dockyard/<id>, the engine's too): remove it once no container uses it
    (EBUSY/ENOTEMPTY just means another container still does)."""
    for path in set(paths.values()):
        parent = os.path.dirname(path)
        if os.path.basename(parent) != "dockyard":
            continue
        try:
            os.rmdir(parent)
        except OSError:
            pass


def wait_gone(c: Container, timeout: float = 10.0) -> None:
    """Wait for the init to die; reap it if it is our child (``run``)."""
    deadline = time.monotonic() + timeout
    while c.init_alive() and time.monotonic() < deadline:
        try:
            if os.waitpid(c.pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            pass
        time.sleep(0.002)


def _wait_empty(cgroup: CgroupManager, timeout: float = 5.0) -> None:
    """Killed processes leave the cgroup as the kernel reaps them; rmdir needs it empty."""
    deadline = time.monotonic() + timeout
    while cgroup.pids() and time.monotonic() < deadline:
        time.sleep(0.005)


def _remove_tree(path: str) -> None:
    """The state dir: a few files and a socket (``shutil`` costs more to import)."""
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in filenames:
            try:
                os.unlink(os.path.join(dirpath, name))
            except FileNotFoundError:
                pass
        for name in dirnames:
            os.rmdir(os.path.join(dirpath, name))
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
