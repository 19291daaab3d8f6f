"""The client's end of a container's stdio: raw mode, window sizes, detach keys, and the
loop that copies bytes both ways (``run -i/-t``, ``attach``, ``start -a -i``, ``exec -t``).

The loop talks to a *peer*: the container's monitor over its attach socket
(:class:`SocketPeer`, frames of :mod:`dockyard.engine.attach`) or the pty master of a
process this CLI started itself (:class:`PtyPeer`, ``exec -t``). Raw mode is restored on
every way out (exit, detach, an error, a signal).
"""

from __future__ import annotations

import os
import select
import signal
import sys
from contextlib import contextmanager

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

__all__ = ["DEFAULT_DETACH_KEYS", "DetachMatcher", "PtyPeer", "SocketPeer",
           "parse_detach_keys", "raw_mode", "session", "window_size"]

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
NOT_A_TTY = "the input device is not a TTY\n"


def parse_detach_keys(spec: str) -> bytes:
    """Docker's ``--detach-keys``: comma-separated ``ctrl-X`` (X in a-z, @, [, \\, ], ^,
    _) or single characters; ``ctrl-p,ctrl-q`` -> ``b"\\x10\\x11"``."""
    out = bytearray()
    for key in spec.split(","):
        k = key.strip()
        if len(k) == 1:
            out.append(ord(k))
            continue
        if k.lower().startswith("ctrl-") and len(k) == 6:
            c = k[5].lower()
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
                continue
            if c in "@[\\]^_":
                out.append(ord(c) - ord("@"))
                continue
        raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class DetachMatcher:
    """Holds back typed bytes while they could begin the detach sequence."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, whether the whole sequence was typed)."""
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            self.held += bytes([b])
            if self.keys.startswith(self.held):
                if self.held == self.keys:
                    return bytes(out), True
                continue
            out += self.held
            self.held = b""
        return bytes(out), False


def window_size(fd: int) -> tuple[int, int] | None:
    import termios

    try:
        rows, cols = termios.tcgetwinsize(fd)
    except (OSError, termios.error):
        return None
    return rows, cols


@contextmanager
def raw_mode(fd: int, on: bool = True) -> Iterator[None]:
    """``fd`` (a terminal) in raw mode for the block; restored however it ends."""
    if not on or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class SocketPeer:
    """A container's monitor, over its attach socket."""

    def __init__(self, sock: socket.socket, stdin_once: bool) -> None:
        import json

        from dockyard.engine.attach import HELLO, send_frame

        self.sock = sock
        send_frame(sock, HELLO, json.dumps({"stdin_once": stdin_once}).encode())

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> tuple[int, bytes] | None:
        """(1 stdout | 2 stderr | 3 exit, payload), or None: the monitor is gone."""
        from dockyard.engine.attach import read_frame

        try:
            return read_frame(self.sock)
        except OSError:
            return None

    def _send(self, kind: int, data: bytes = b"") -> None:
        from dockyard.engine.attach import send_frame

        try:
            send_frame(self.sock, kind, data)
        except OSError:
            pass

    def stdin(self, data: bytes) -> None:
        from dockyard.engine.attach import STDIN

        self._send(STDIN, data)

    def eof(self) -> None:
        from dockyard.engine.attach import EOF

        self._send(EOF)

    def resize(self, rows: int, cols: int) -> None:
        from dockyard.engine.attach import RESIZE

        self._send(RESIZE, f"{rows} {cols}".encode())

    def signal(self, signum: int) -> None:
        from dockyard.engine.attach import SIGNAL

        self._send(SIGNAL, str(signum).encode())

    def close(self) -> None:
        self.sock.close()


class PtyPeer:
    """The pty master of a process this CLI started (``exec -t``)."""

    def __init__(self, master: int, pid: int) -> None:
        self.master = master
        self.pid = pid

    def fileno(self) -> int:
        return self.master

    def read(self) -> tuple[int, bytes] | None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every slave is closed
            data = b""
        if data:
            return 1, data
        from dockyard.engine.exec import reap

        return 3, str(reap(self.pid)).encode()

    def stdin(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self.master, data):]
        except OSError:
            pass

    def eof(self) -> None:
        self.stdin(b"\x04")

    def resize(self, rows: int, cols: int) -> None:
        import termios

        try:
            termios.tcsetwinsize(self.master, (rows, cols))
        except (OSError, termios.error):
            pass

    def signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except OSError:
            pass

    def close(self) -> None:
        os.close(self.master)


Peer = SocketPeer | PtyPeer


def session(peer: Peer, *, stdin: bool, stdout: bool = True, stderr: bool = True,
            tty: bool = False, detach_keys: bytes = b"\x10\x11",
            sig_proxy: bool = True) -> int | None:
    """Copy bytes between our stdio and ``peer`` until the container's process exits
    (its exit code) or the detach keys are typed (None)."""
    in_fd, out_fd, err_fd = sys.stdin.fileno(), sys.stdout.fileno(), sys.stderr.fileno()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    pending: list[int] = []

    def note(signum: int, _frame: object) -> None:
        pending.append(signum)
        try:
            os.write(wake_w, b"x")
        except OSError:
            pass

    watched = [signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP]
    proxy = sig_proxy and not tty
    if proxy:
        watched += [signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2]
    old = {s: signal.signal(s, note) for s in watched}
    matcher = DetachMatcher(detach_keys if tty and stdin else b"")
    size = window_size(in_fd if os.isatty(in_fd) else out_fd) if tty else None
    if size is not None:
        peer.resize(*size)
    inputs = [peer.fileno(), wake_r] + ([in_fd] if stdin else [])
    try:
        with raw_mode(in_fd, on=tty and stdin):
            while True:
                try:
                    ready, _, _ = select.select(inputs, [], [])
                except InterruptedError:
                    continue
                if wake_r in ready:
                    os.read(wake_r, 1024)
                    while pending:
                        signum = pending.pop(0)
                        if signum == signal.SIGWINCH:
                            size = window_size(in_fd if os.isatty(in_fd) else out_fd)
                            if size is not None and tty:
                                peer.resize(*size)
                        elif proxy:
                            peer.signal(signum)
                        else:  # ends this client only, its terminal restored
                            raise SystemExit(128 + signum)
                if peer.fileno() in ready:
                    frame = peer.read()
                    if frame is None:
                        return 0
                    kind, data = frame
                    if kind == 3:
                        return int(data)
                    if (kind == 1 and stdout) or (kind == 2 and stderr):
                        _write_all(out_fd if kind == 1 else err_fd, data)
                if stdin and in_fd in ready:
                    try:
                        data = os.read(in_fd, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        peer.eof()
                        inputs.remove(in_fd)
                        continue
                    data, detached = matcher.feed(data)
                    if data:
                        peer.stdin(data)
                    if detached:
                        return None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        os.close(wake_r)
        os.close(wake_w)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            select.select([], [fd], [])
