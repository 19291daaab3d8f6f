"""The idle monitor's json-file lines are exactly what ``json.dumps`` would write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.engine.idle_monitor import _line, _Logs


@pytest.mark.parametrize("data", [b"hello\n", b'say "hi" \\ \t\x01\n', "héllo ☃\n".encode(),
                                  b"\xff\xfe broken utf-8", b""])
def test_a_line_is_what_json_dumps_writes(data: bytes) -> None:
    out = _line("stderr", data)
    entry = json.loads(out)
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    assert entry["stream"] == "stderr"
    expected = {"log": data.decode(errors="replace"), "stream": "stderr",
                "time": entry["time"]}
    assert out == (json.dumps(expected, separators=(",", ":")) + "\n").encode()
    assert entry["time"].endswith("Z") and len(entry["time"]) == 30


def test_lines_split_across_reads_are_joined_and_the_tail_is_flushed(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    r, w = os.pipe()
    logs = _Logs(str(log), {r: "stdout"})
    try:
        os.write(w, b"one\ntw")
        assert logs.feed(r)
        os.write(w, b"o\nthree")
        assert logs.feed(r)
        os.close(w)
        assert not logs.feed(r)
    finally:
        os.close(logs.fd)
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert [e["log"] for e in entries] == ["one\n", "two\n", "three"]
    assert {e["stream"] for e in entries} == {"stdout"}
    assert not logs.pending
