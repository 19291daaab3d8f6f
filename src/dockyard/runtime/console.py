"""A foreground terminal: receive the container's pty master and proxy it to our stdio.

Used by ``run``/``exec`` with ``terminal: true`` and no ``--console-socket``: the runtime
plays the console socket's other end itself (runc does the same), puts its own terminal
in raw mode, copies bytes both ways and passes window size changes on.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys

from dockyard.runtime.exec import exit_code

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Process
    from dockyard.runtime.create import CreateOptions


def _receive_master(sock: socket.socket) -> int:
    _, fds, _, _ = socket.recv_fds(sock, 1024, 1)
    if not fds:
        raise OSError("no terminal received from the container")
    return fds[0]


def run_with_terminal(root: str, container_id: str, bundle: str, opts: CreateOptions) -> int:
    from dockyard.runtime.create import create
    from dockyard.runtime.delete import delete
    from dockyard.runtime.start import start

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    opts.console_fd = theirs.fileno()
    try:
        c = create(root, container_id, bundle, opts)
    finally:
        theirs.close()
    try:
        master = _receive_master(ours)
        ours.close()
        start(root, container_id)
        return proxy(master, c.pid)
    finally:
        delete(root, container_id, force=True)


def exec_with_terminal(root: str, container_id: str, process: Process) -> int:
    from dockyard.runtime.exec import exec_process

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid, _ = exec_process(root, container_id, process, detach=True,
                              console_fd=theirs.fileno())
    finally:
        theirs.close()
    master = _receive_master(ours)
    ours.close()
    return proxy(master, pid)


def _copy_winsize(master: int) -> None:
    import termios

    try:
        termios.tcsetwinsize(master, termios.tcgetwinsize(sys.stdin.fileno()))
    except (OSError, termios.error):
        pass


def proxy(master: int, pid: int) -> int:
    """Copy stdin -> master and master -> stdout until ``pid`` exits; its exit code."""
    import termios
    import tty

    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    saved = None
    if os.isatty(stdin):
        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)
        _copy_winsize(master)
    old = signal.signal(signal.SIGWINCH, lambda *_: _copy_winsize(master))
    status: int | None = None
    inputs = [master, stdin]
    try:
        while True:
            if status is None:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
            ready, _, _ = select.select(inputs, [], [], 0.05)
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                os.write(stdout, data)
            elif status is not None:
                break
            if stdin in ready:
                data = os.read(stdin, 65536)
                if data:
                    os.write(master, data)
                else:
                    inputs.remove(stdin)
    finally:
        signal.signal(signal.SIGWINCH, old)
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        os.close(master)
    if status is None:
        _, status = os.waitpid(pid, 0)
    return exit_code(status)
