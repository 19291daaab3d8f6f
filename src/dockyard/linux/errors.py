"""The one exception type of the syscall layer (STYLE rule 1)."""

from __future__ import annotations

import os


class SyscallError(OSError):
    """A failed system call: carries errno, the call's name and the path it acted on.

    ``str()`` reads like ``mount /proc: Operation not permitted`` so a user sees which
    call failed on what, without a traceback.
    """

    def __init__(self, err: int, call: str, path: str | None = None) -> None:
        super().__init__(err, os.strerror(err), path)
        self.call = call
        self.path = path

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.call}{where}: {self.strerror}"
