"""Pure pieces of cp, stats and events."""

from __future__ import annotations

import pytest

from dockyard.engine import events, stats
from dockyard.engine.cp import CopyEnd, _rename, split_arg
from dockyard.errors import InvalidArgument


def test_split_arg() -> None:
    assert split_arg("web:/etc/hosts") == CopyEnd("web", "/etc/hosts")
    assert split_arg("./a:b") == CopyEnd("", "./a:b")
    assert split_arg("/x:y") == CopyEnd("", "/x:y")
    assert split_arg("-") == CopyEnd("", "-")
    assert split_arg("file") == CopyEnd("", "file")


def test_rename() -> None:
    assert _rename("src/a/b", ("src", "dst")) == "dst/a/b"
    assert _rename("src", ("src", "dst")) == "dst"
    assert _rename("src/a", ("src", "")) == "a"
    assert _rename("srcx", ("src", "dst")) == "srcx"


def test_units_like_go_units() -> None:
    assert stats.bytes_size(0) == "0B"
    assert stats.bytes_size(64 * 1024 * 1024) == "64MiB"
    assert stats.bytes_size(1.5 * 1024 * 1024) == "1.5MiB"
    assert stats.human_size(648) == "648B"
    assert stats.human_size(1450) == "1.45kB"
    assert stats.human_size(2_000_000) == "2MB"


def test_cpu_percent() -> None:
    prev = stats.Sample(cpu_ns=0, system_ns=0, online_cpus=2, running=True)
    cur = stats.Sample(cpu_ns=500_000_000, system_ns=2_000_000_000, online_cpus=2,
                       running=True)
    assert stats.cpu_percent(prev, cur) == pytest.approx(50.0)
    assert stats.cpu_percent(None, cur) == 0.0


def test_parse_time() -> None:
    now = 1_800_000_000 * 10**9
    assert events.parse_time("1700000000", now) == 1_700_000_000 * 10**9
    assert events.parse_time("1700000000.5", now) == 1_700_000_000_500_000_000
    assert events.parse_time("10m", now) == now - 600 * 10**9
    assert events.parse_time("1h30m", now) == now - 5400 * 10**9
    assert events.parse_time("2026-11-23T14:00:00Z", now) == 1_795_442_400 * 10**9
    assert events.parse_time("2026-11-23", now) == 1_795_392_000 * 10**9
    with pytest.raises(InvalidArgument):
        events.parse_time("yesterday", now)


def _ev(type_: str = "container", action: str = "start", **attrs: str) -> events.Event:
    return events.Event(1, 1_795_442_400_123_456_789, type_, action, "ab" * 32,
                        {"image": "busybox:latest", "name": "web", **attrs})


def test_filters() -> None:
    f = events.parse_filters
    assert events.matches(_ev(), f(["type=container", "event=start"]))
    assert not events.matches(_ev(), f(["event=die"]))
    assert events.matches(_ev(action="health_status: healthy"), f(["event=health_status"]))
    assert events.matches(_ev(), f(["container=web"]))
    assert events.matches(_ev(), f(["container=abab"]))
    assert not events.matches(_ev(), f(["container=other"]))
    assert events.matches(_ev(), f(["image=busybox"]))
    assert events.matches(_ev(team="x"), f(["label=team=x"]))
    assert events.matches(_ev(team="x"), f(["label=team"]))
    assert not events.matches(_ev(team="x"), f(["label=team=y"]))
    assert not events.matches(_ev("network", "connect"), f(["container=web"]))
    with pytest.raises(InvalidArgument):
        f(["bogus=1"])


def test_line_and_message() -> None:
    ev = _ev(exitCode="0")
    assert ev.line() == ("2026-11-23T14:00:00.123456789Z container start " + "ab" * 32
                         + " (exitCode=0, image=busybox:latest, name=web)")
    m = ev.message()
    assert list(m) == ["status", "id", "from", "Type", "Action", "Actor", "scope", "time",
                       "timeNano"]
    assert m["from"] == "busybox:latest" and m["time"] == 1_795_442_400
    assert list(m["Actor"]["Attributes"]) == ["exitCode", "image", "name"]
    assert "from" not in _ev("network", "connect").message()
