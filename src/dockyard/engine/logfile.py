"""Docker's json-file log driver: one JSON object a line, size rotation.

Each line a container writes becomes ``{"log": "...\\n", "stream": "stdout",
"time": "2026-11-23T08:17:55.988990275Z"}``. With ``--log-opt max-size=10m`` the file is
rotated before a write would make it larger: ``<id>-json.log`` becomes ``.1``, ``.1``
becomes ``.2``... and at most ``max-file`` files are kept (``max-file=1``: the one file is
truncated). :func:`read_log` returns the lines of every file, oldest first.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from dockyard.engine.containers import rfc3339_ns
from dockyard.engine.run_options import parse_size
from dockyard.errors import InvalidArgument

__all__ = ["LogWriter", "log_files", "parse_log_opts", "read_log"]

_KNOWN_OPTS = frozenset({"max-size", "max-file", "compress", "labels", "labels-regex",
                         "env", "env-regex", "tag", "mode", "max-buffer-size"})


def parse_log_opts(opts: dict[str, str]) -> tuple[int, int]:
    """Validate ``--log-opt`` for json-file; (max size in bytes or -1, max files)."""
    for key in opts:
        if key not in _KNOWN_OPTS:
            raise InvalidArgument(f"unknown log opt '{key}' for json-file log driver")
    size = -1
    if opts.get("max-size"):
        try:
            size = parse_size(opts["max-size"])
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
    files = 1
    if opts.get("max-file"):
        try:
            files = int(opts["max-file"])
        except ValueError:
            raise InvalidArgument(
                f'strconv.Atoi: parsing "{opts["max-file"]}": invalid syntax') from None
        if files < 1:
            raise InvalidArgument("max-file cannot be less than 1")
        if size == -1 and files > 1:
            raise InvalidArgument("max-file cannot be set when max-size is not set")
    return size, files


def log_files(path: str) -> list[str]:
    """The existing files of the log at ``path``, oldest first."""
    out: list[str] = []
    n = 1
    while os.path.exists(f"{path}.{n}"):
        out.append(f"{path}.{n}")
        n += 1
    out.reverse()
    if os.path.exists(path):
        out.append(path)
    return out


def read_log(path: str, rotated_only: bool = False) -> bytes:
    """The rotated files then (unless ``rotated_only``) the current one, as one byte
    string."""
    data = b""
    files = log_files(path)
    if rotated_only and files and files[-1] == path:
        files.pop()
    for p in files:
        try:
            with open(p, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass  # rotated away meanwhile
    return data


class LogWriter:
    """Lines of both streams into one json-file log, whole lines at a time, thread-safe."""

    def __init__(self, path: str, max_size: int = -1, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.lock = threading.Lock()
        self.f = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self.size = self.f.tell()

    def write(self, stream: str, line: bytes) -> None:
        entry: dict[str, Any] = {"log": line.decode(errors="replace"), "stream": stream,
                                 "time": rfc3339_ns()}
        data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        with self.lock:
            if self.max_size > 0 and self.size > 0 and self.size + len(data) > self.max_size:
                self._rotate()
            self.f.write(data)
            self.size += len(data)

    def _rotate(self) -> None:
        self.f.close()
        if self.max_files > 1:
            for n in range(self.max_files - 1, 0, -1):
                src = self.path if n == 1 else f"{self.path}.{n - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{n}")
            self.f = open(self.path, "ab", buffering=0)  # noqa: SIM115
        else:
            self.f = open(self.path, "wb", buffering=0)  # noqa: SIM115
        self.size = 0

    def pump(self, fd: int, stream: str) -> None:
        """Read ``fd`` to EOF, one log entry per line; closes ``fd``."""
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self.write(stream, line + b"\n")
            if pending:
                self.write(stream, pending)
        finally:
            os.close(fd)

    def close(self) -> None:
        with self.lock:
            self.f.close()
