"""A command on a pseudo-terminal, driven as a user at a keyboard: type keys, read the
screen, resize the window (the kernel sends SIGWINCH as for a real terminal). Like a
terminal emulator it answers a cursor position query (busybox sh asks at each prompt)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path


class PtySession:
    def __init__(self, args: list[str], rows: int = 24, cols: int = 80) -> None:
        self.master, slave = os.openpty()
        termios.tcsetwinsize(slave, (rows, cols))

        def controlling_tty() -> None:  # the slave becomes our controlling terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, preexec_fn=controlling_tty)
        os.close(slave)
        self.output = b""

    def send(self, data: str | bytes) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        for _ in range(chunk.count(b"\x1b[6n")):  # a terminal answers where its cursor is
            self.send(b"\x1b[1;1R")
        self.output += chunk
        return True

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[bytes]:
        """Wait until ``pattern`` (a regex) appears in what was printed since the
        last match; the output before the match is consumed."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern.encode())
        while True:
            m = rx.search(self.output)
            if m is not None:
                self.output = self.output[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.2)) and self.proc.poll() is not None):
                raise AssertionError(f"{pattern!r} not seen in {self.output!r}")

    def resize(self, rows: int, cols: int) -> None:
        termios.tcsetwinsize(self.master, (rows, cols))

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; output {self.output!r}")
            self._read(0.1)
        while self._read(0) and select.select([self.master], [], [], 0)[0]:
            pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def dockyard_argv(root: Path, exec_root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "dockyard", "--root", str(root), "--exec-root",
            str(exec_root), *args]
