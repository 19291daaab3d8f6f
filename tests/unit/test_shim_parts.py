"""The light pieces the monitor's idle phase shares with the full monitor: the attach
frames and the json-file log lines."""

from __future__ import annotations

import json

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
