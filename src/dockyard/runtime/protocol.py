"""Messages between the runtime (parent) and the container's init, over a SEQPACKET pair.

Each message is one datagram: a one-byte tag, then a payload.

    stage1 -> parent   M            "write my uid/gid maps" (after unshare(CLONE_NEWUSER))
    parent -> stage1   G / K        "go" / "maps written"
    stage1 -> parent   P<pid>       the init's pid, in the parent's pid namespace
    init   -> parent   H            "run prestart/createRuntime hooks now" (before pivot_root)
    parent -> init     K<state>     hooks done; the state JSON for createContainer hooks
    init   -> parent   W<text>      a warning for the runtime's log
    init   -> parent   S, then <fd> the seccomp notify fd (SCM_RIGHTS, a datagram of its own)
    parent -> init     K            the fd went to the agent at listenerPath
    init   -> parent   R            ready: created, waiting for ``start``
    any    -> parent   E<text>      failed; the text is the one-line reason
"""

from __future__ import annotations

import os

GO = b"G"
MAPS = b"M"
OK = b"K"
PID = b"P"
HOOKS = b"H"
WARN = b"W"
SECCOMP = b"S"
READY = b"R"
ERROR = b"E"

MAX_MESSAGE = 1 << 20


def send(fd: int, tag: bytes, payload: bytes = b"") -> None:
    os.write(fd, tag + payload)


def recv(fd: int) -> tuple[bytes, bytes]:
    """One message; ``(b"", b"")`` when the peer closed without a word."""
    data = os.read(fd, MAX_MESSAGE)
    return data[:1], data[1:]
