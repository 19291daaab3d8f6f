"""The monitor's children, reaped in one place.

The monitor is a child subreaper: besides the container's init, processes of the health
checks end up its children (a check's helper; a check process whose helper died). Only
one ``waitpid(-1)`` loop may reap them, or a zombie nobody waits for would hold up the
container's end: the kernel's ``zap_pid_ns_processes`` makes a dying namespace init wait
until every process of its PID namespace has been reaped. The main thread runs the loop
(:meth:`Reaper.reap`); other threads ask for the status of their own child with
:meth:`Reaper.status_of`.
"""

from __future__ import annotations

import os
import threading

__all__ = ["Reaper"]


class Reaper:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.done: dict[int, int] = {}

    def reap(self, block: bool = True) -> int | None:
        """Reap one child: its pid, 0 if none was ready (``block=False``), None if there
        are no children at all."""
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return None
        except InterruptedError:
            return 0
        if pid:
            with self.cond:
                self.done[pid] = status
                self.cond.notify_all()
        return pid

    def wait_exit(self, pid: int) -> int:
        """Reap children until ``pid`` is reaped: its wait status (0 if it is not ours)."""
        while True:
            with self.cond:
                if pid in self.done:
                    return self.done.pop(pid)
            if self.reap() is None:
                with self.cond:
                    return self.done.pop(pid, 0)

    def status_of(self, pid: int, timeout: float | None = None) -> int | None:
        """The wait status of ``pid`` once the reaping thread has reaped it."""
        with self.cond:
            self.cond.wait_for(lambda: pid in self.done, timeout)
            return self.done.pop(pid, None)

    def forget(self) -> None:
        """Drop statuses nobody asked for (strays)."""
        with self.cond:
            self.done.clear()
