"""Docker's json-file log lines and their rotation, light enough for the monitor's idle
phase (:mod:`dockyard.engine.shim`): no ``json`` (it imports ``re``), no threads.

Each line a container writes becomes ``{"log": "...\\n", "stream": "stdout",
"time": "2026-11-23T08:17:55.988990275Z"}`` (compact, ASCII-escaped, as Go's encoder and
``json.dumps`` write it). With a maximum size the file is rotated before a write would
make it larger: ``<id>-json.log`` becomes ``.1``, ``.1`` becomes ``.2``... and at most
``max_files`` files are kept (one file: it is truncated).
"""

import posix
import time

__all__ = ["JsonLog", "encode_line", "rfc3339_ns"]


def rfc3339_ns(ns: int | None = None) -> str:
    """``2026-11-23T08:17:55.988990275Z`` (UTC, nanoseconds), as Docker prints times."""
    if ns is None:
        ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def encode_line(stream: str, line: bytes) -> bytes:
    """One log entry: what ``json.dumps(entry, separators=(",", ":"))`` gives, and a
    newline."""
    from _json import encode_basestring_ascii  # loaded once a container writes a line

    return (f'{{"log":{encode_basestring_ascii(line.decode(errors="replace"))},'
            f'"stream":{encode_basestring_ascii(stream)},'
            f'"time":{encode_basestring_ascii(rfc3339_ns())}}}\n').encode()


class JsonLog:
    """Lines of both streams into one json-file log (not thread-safe: see
    :class:`dockyard.engine.logfile.LogWriter`)."""

    def __init__(self, path: str, max_size: int = -1, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.fd = self._open(posix.O_APPEND)
        self.size = posix.fstat(self.fd).st_size

    def _open(self, flags: int) -> int:
        flags |= posix.O_WRONLY | posix.O_CREAT | posix.O_CLOEXEC
        return posix.open(self.path, flags, 0o666)

    def write(self, stream: str, line: bytes) -> None:
        data = encode_line(stream, line)
        if self.max_size > 0 and self.size > 0 and self.size + len(data) > self.max_size:
            self._rotate()
        view = memoryview(data)
        while view:
            view = view[posix.write(self.fd, view):]
        self.size += len(data)

    def _rotate(self) -> None:
        posix.close(self.fd)
        if self.max_files > 1:
            for n in range(self.max_files - 1, 0, -1):
                src = self.path if n == 1 else f"{self.path}.{n - 1}"
                try:
                    posix.replace(src, f"{self.path}.{n}")
                except FileNotFoundError:
                    pass
            self.fd = self._open(posix.O_APPEND)
        else:
            self.fd = self._open(posix.O_TRUNC | posix.O_APPEND)
        self.size = 0

    def close(self) -> None:
        if self.fd >= 0:
            posix.close(self.fd)
            self.fd = -1
