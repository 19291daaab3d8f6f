"""Docker's json-file log driver: ``--log-opt``, reading the files back.

The lines and their rotation (``--log-opt max-size=10m max-file=3``) are written by
:class:`dockyard.engine.jsonlog.JsonLog`; :func:`read_log` returns the lines of every
file, oldest first.
"""

from __future__ import annotations

import os

from dockyard.engine.run_options import parse_size
from dockyard.errors import InvalidArgument

__all__ = ["log_files", "parse_log_opts", "read_log"]

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
