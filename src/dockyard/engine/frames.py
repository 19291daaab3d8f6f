"""The attach wire format, both ways between a client and a container's monitor.

A frame is one type byte, a 4-byte big-endian payload length and the payload. Light on
purpose (no imports): the monitor's idle phase (:mod:`dockyard.engine.shim`) parses
frames out of what it reads without blocking, the CLI reads them from a socket.
"""

__all__ = ["EOF", "EXIT", "HEAD_SIZE", "HELLO", "RESIZE", "SIGNAL", "STDERR", "STDIN",
           "STDOUT", "hello_stdin_once", "pack", "split"]

#: client -> monitor: bytes for the container's stdin
STDIN = 0
#: monitor -> client: the container's output
STDOUT = 1
STDERR = 2
#: monitor -> client: the container exited; payload: its exit code, in ASCII
EXIT = 3
#: client -> monitor: the window size, ``b"ROWS COLS"``
RESIZE = 4
#: client -> monitor: the client's stdin ended
EOF = 5
#: client -> monitor: ``{"stdin_once": bool}``: this client's EOF closes the stdin
HELLO = 6
#: client -> monitor: a signal number (``--sig-proxy``) for the container's init
SIGNAL = 7

HEAD_SIZE = 5


def pack(kind: int, payload: bytes = b"") -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(4, "big") + payload


def split(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The whole frames at the start of ``buf``, and the bytes of an incomplete one."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while len(buf) - pos >= HEAD_SIZE:
        size = int.from_bytes(buf[pos + 1:pos + HEAD_SIZE], "big")
        end = pos + HEAD_SIZE + size
        if end > len(buf):
            break
        out.append((buf[pos], buf[pos + HEAD_SIZE:end]))
        pos = end
    return out, buf[pos:]


def hello_stdin_once(payload: bytes) -> bool:
    """A HELLO's ``stdin_once`` (the payload is the CLI's ``json.dumps`` of one flag)."""
    return b"true" in payload.replace(b" ", b"")
