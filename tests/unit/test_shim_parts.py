"""The light pieces the monitor's idle phase shares with the full monitor: the attach
frames and the json-file log lines."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.engine import frames
from dockyard.engine.jsonlog import encode_line


def test_split_keeps_an_incomplete_frame() -> None:
    data = frames.pack(frames.STDIN, b"abc") + frames.pack(frames.EOF)
    data += frames.pack(frames.RESIZE, b"24 80")
    got, rest = frames.split(data[:-2])
    assert got == [(frames.STDIN, b"abc"), (frames.EOF, b"")]
    assert rest == data[len(frames.pack(frames.STDIN, b"abc")) + frames.HEAD_SIZE:-2]
    got, rest = frames.split(rest + data[-2:])
    assert (got, rest) == ([(frames.RESIZE, b"24 80")], b"")
    assert frames.hello_stdin_once(json.dumps({"stdin_once": True}).encode())
    assert not frames.hello_stdin_once(json.dumps({"stdin_once": False}).encode())


def test_log_lines_are_what_json_dumps_writes() -> None:
    for text in (b"plain\n", b"tab\tquote\" back\\ \x01\n", "h\u00e9 \u2603 \U0001f600\n".encode(),
                 b"\xff\xfe broken utf-8", b""):
        line = encode_line("stderr", text)
        entry = json.loads(line)
        want = json.dumps({"log": text.decode(errors="replace"), "stream": "stderr",
                           "time": entry["time"]}, separators=(",", ":")) + "\n"
        assert line == want.encode()


def _idle_scenario(log: str) -> None:
    import os
    import socket
    import time

    from dockyard.engine.shim import Idle

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the "container"
        code = 1
        try:
            for fd in (out_r, err_r, in_w):
                os.close(fd)
            os.write(out_w, b"one\ntw")
            time.sleep(0.05)
            os.write(out_w, b"o\n")
            os.write(err_w, b"no newline")
            line = os.read(in_r, 100)
            os.write(out_w, b"got " + line)
            assert os.read(in_r, 100) == b""  # the client's EOF closed the stdin
            code = 3
        finally:
            os._exit(code)
    for fd in (out_w, err_w, in_r):
        os.close(fd)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"\0dockyard-shim-test-{os.getpid()}")
    listener.listen(1)
    ours, theirs = socket.socketpair()
    ours.sendall(frames.pack(frames.HELLO, b'{"stdin_once": true}')
                 + frames.pack(frames.STDIN, b"hi\n") + frames.pack(frames.EOF)[:3])
    ours.sendall(frames.pack(frames.EOF)[3:])
    st = {"cid": "c", "root": "/", "exec_root": "/", "pid": child, "lock": -1,
          "started": time.monotonic(), "health": 0.0, "log": (log, -1, 1),
          "listener": listener.detach(), "clients": [(theirs.detach(), False, b"")],
          "outs": [(out_r, "stdout", b""), (err_r, "stderr", b"")], "sink": in_w}
    idle = Idle(st)
    idle.run()
    assert idle.status is not None and os.waitstatus_to_exitcode(idle.status) == 3
    assert not idle.outs and idle.sink == -1
    idle.close(3)
    got = b""
    while True:
        chunk = ours.recv(65536)
        if not chunk:
            break
        got += chunk
    received, rest = frames.split(got)
    assert rest == b"" and received[-1] == (frames.EXIT, b"3")
    stdout = b"".join(p for k, p in received if k == frames.STDOUT)
    assert stdout == b"one\ntwo\ngot hi\n"
    assert (frames.STDERR, b"no newline") in received


def test_idle_loop_copies_output_serves_a_client_and_reaps(tmp_path: Path) -> None:
    """In a forked process of its own: the loop reaps with waitpid(-1), which must not
    reap the test run's other children."""
    import os

    log = str(tmp_path / "c-json.log")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            _idle_scenario(log)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    entries = [json.loads(line) for line in Path(log).read_text().splitlines()]
    assert [(e["stream"], e["log"]) for e in entries if e["stream"] == "stdout"] == [
        ("stdout", "one\n"), ("stdout", "two\n"), ("stdout", "got hi\n")]
    assert [(e["stream"], e["log"]) for e in entries if e["stream"] == "stderr"] == [
        ("stderr", "no newline")]
