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


def test_preload_covers_every_lazy_import_of_the_init() -> None:
    """Each import inside the init's functions runs after pivot_root, where only already
    loaded modules resolve: all of them must be in PRELOAD (or be builtins)."""
    import ast
    import sys
    from pathlib import Path

    from dockyard.runtime import init

    tree = ast.parse(Path(init.__file__).read_text())
    lazy: set[str] = set()
    for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                lazy.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                lazy.add(node.module)
    lazy -= {"importlib"}  # used by _preload itself, before pivot_root
    missing = {m for m in lazy if m not in init.PRELOAD and m not in sys.builtin_module_names
               and not any(p.startswith(m + ".") for p in init.PRELOAD)}
    assert not missing, f"imported after pivot_root but not preloaded: {missing}"
