"""The pure parts of the client's terminal handling: detach keys, the attach wire format,
the exec process spec."""

from __future__ import annotations

import socket

import pytest

from dockyard.cli.attach import check_streams
from dockyard.cli.terminal import DetachMatcher, parse_detach_keys
from dockyard.engine.attach import EXIT, STDOUT, read_frame, send_frame
from dockyard.engine.containers import ContainerRecord
from dockyard.engine.exec import ExecOptions, exec_process_spec
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("spec", "keys"), [
    ("ctrl-p,ctrl-q", b"\x10\x11"),
    ("ctrl-a,x", b"\x01x"),
    ("a", b"a"),
    ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x00\x1b\x1c\x1d\x1e\x1f"),
    ("CTRL-Z", b"\x1a"),
])
def test_parse_detach_keys(spec: str, keys: bytes) -> None:
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-", "ctrl-1", "ab", "", "ctrl-p,,ctrl-q"])
def test_bad_detach_keys(spec: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid detach keys"):
        parse_detach_keys(spec)


def test_detach_matcher_holds_back_a_prefix() -> None:
    m = DetachMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)  # ctrl-p held back
    assert m.feed(b"c") == (b"\x10c", False)  # not the sequence: passed on
    assert m.feed(b"x\x10") == (b"x", False)
    assert m.feed(b"\x11rest") == (b"", True)


def test_detach_matcher_in_one_read_and_without_keys() -> None:
    assert DetachMatcher(b"\x10\x11").feed(b"ls\r\x10\x11") == (b"ls\r", True)
    assert DetachMatcher(b"").feed(b"\x10\x11") == (b"\x10\x11", False)


def test_check_streams() -> None:
    assert check_streams(["STDIN", "stdout"]) == ["stdin", "stdout"]
    with pytest.raises(InvalidArgument, match="valid streams are STDIN, STDOUT and STDERR"):
        check_streams(["out"])


def test_frames_round_trip() -> None:
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, STDOUT, b"hello")
        send_frame(a, EXIT, b"3")
        a.shutdown(socket.SHUT_WR)
        assert read_frame(b) == (STDOUT, b"hello")
        assert read_frame(b) == (EXIT, b"3")
        assert read_frame(b) is None


def _record(env: list[str]) -> ContainerRecord:
    return ContainerRecord(id="c" * 64, name="x", image="busybox", image_id="sha256:" + "0" * 64,
                           config={"Env": env}, bundle_dir="/nonexistent")


BASE = {"args": ["sleep", "9"], "cwd": "/srv", "terminal": True,
        "env": ["PATH=/bin", "HOSTNAME=h", "TERM=xterm", "FOO=bar"],
        "user": {"uid": 5, "gid": 5}}


def test_exec_spec_defaults_from_the_container() -> None:
    p = exec_process_spec(_record(["FOO=bar"]), BASE,  # type: ignore[arg-type]
                          ExecOptions(cmd=["env"]))
    assert p["args"] == ["env"]
    assert (p["cwd"], p["user"], p["terminal"]) == ("/srv", {"uid": 5, "gid": 5}, False)
    assert p["env"] == ["PATH=/bin", "HOSTNAME=h", "FOO=bar"]  # TERM came with run -t


def test_exec_spec_flags_override() -> None:
    p = exec_process_spec(_record(["FOO=bar"]), BASE,  # type: ignore[arg-type]
                          ExecOptions(cmd=["sh"], env=["FOO=baz", "NEW=1"], workdir="/tmp",
                                      tty=True))
    assert p["env"] == ["PATH=/bin", "HOSTNAME=h", "FOO=baz", "TERM=xterm", "NEW=1"]
    assert (p["cwd"], p["terminal"]) == ("/tmp", True)
    with pytest.raises(InvalidArgument):
        exec_process_spec(_record([]), BASE, ExecOptions(cmd=["x"], env=["=1"]))  # type: ignore[arg-type]


def test_runs_default_detach_keys_shortcut_matches_the_parser() -> None:
    from types import SimpleNamespace

    from dockyard.cli.run import DEFAULT_DETACH_KEYS, _stream_flags

    args = SimpleNamespace(attach=[], detach=False, detach_keys=DEFAULT_DETACH_KEYS)
    assert _stream_flags(args) == ([], parse_detach_keys(DEFAULT_DETACH_KEYS))
