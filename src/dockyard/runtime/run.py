"""``run``: create, start and (unless detached) wait for a container, then delete it."""

from __future__ import annotations

import os

from dockyard.runtime.create import CreateOptions, create
from dockyard.runtime.delete import delete
from dockyard.runtime.exec import exit_code
from dockyard.runtime.start import start

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
    from types import FrameType
else:
    import _signal  # the C module: ``signal`` builds its enums at import (milliseconds)

#: Signals ``run`` passes on to the container's init, as runc's signal handler does.
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
             _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH)


def run(root: str, container_id: str, bundle: str, opts: CreateOptions,
        detach: bool = False, keep: bool = False) -> int:
    c = create(root, container_id, bundle, opts)
    try:
        start(root, container_id)
    except BaseException:
        delete(root, container_id, force=True)
        raise
    if detach:
        return 0
    try:
        return wait_init(c.pid)
    finally:
        if not keep:
            delete(root, container_id, force=True)


def wait_init(pid: int) -> int:
    """Forward signals to ``pid`` and reap children (we are their subreaper) until it
    exits; its exit code (128+N for a signal) is returned."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    old = {s: _signal.signal(s, forward) for s in FORWARDED}
    try:
        while True:
            try:
                reaped, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return 0
            if reaped == pid:
                return exit_code(status)
    finally:
        for s, h in old.items():
            _signal.signal(s, h)
