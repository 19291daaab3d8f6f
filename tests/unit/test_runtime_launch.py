import socket

import pytest

from dockyard.runtime import protocol as msg
from dockyard.runtime.launch import InitFailed, Launched, await_init_pid


def _pair() -> tuple[Launched, socket.socket]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return Launched(-1, a.detach()), b


def test_init_speaking_before_stage1_reports_its_pid() -> None:
    """Regression: the init's first message (H) may arrive before stage 1's P."""
    launched, peer = _pair()
    peer.send(msg.HOOKS)
    peer.send(msg.PID + b"4242")
    await_init_pid(launched, lambda: None)
    assert launched.pid == 4242
    assert launched.recv() == (msg.HOOKS, b"")
    launched.close()
    peer.close()


def test_maps_are_written_on_request() -> None:
    launched, peer = _pair()
    written = []
    peer.send(msg.MAPS)
    peer.send(msg.PID + b"7")
    await_init_pid(launched, lambda: written.append(True))
    assert written == [True]
    assert peer.recv(16) == msg.OK
    launched.close()
    peer.close()


def test_error_and_silent_exit_become_init_failed() -> None:
    launched, peer = _pair()
    peer.send(msg.ERROR + b"mount /proc: Permission denied")
    with pytest.raises(InitFailed, match="mount /proc: Permission denied"):
        await_init_pid(launched, lambda: None)
    peer.close()
    with pytest.raises(InitFailed, match="exited before it started"):
        await_init_pid(launched, lambda: None)
    launched.close()
