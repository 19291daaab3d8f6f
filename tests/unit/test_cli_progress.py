"""The terminal progress of pull/push: its formatting, and what a renderer leaves on screen."""

from __future__ import annotations

import io
import threading

import pytest
from tests.screen import screen

from dockyard.cli.progress import TtyProgress, bar, duration, human_size, progress_text


@pytest.mark.parametrize(("n", "text"), [
    (0, "0B"), (999, "999B"), (1000, "1kB"), (1234567, "1.235MB"), (45_600_000, "45.6MB"),
    (12_345_678_901, "12.35GB")])
def test_human_size_is_go_units(n: int, text: str) -> None:
    assert human_size(n) == text


@pytest.mark.parametrize(("s", "text"), [
    (0, "0s"), (7.6, "8s"), (59.4, "59s"), (80, "1m20s"), (7325, "2h2m5s"), (-3, "0s")])
def test_duration_is_go_style(s: float, text: str) -> None:
    assert duration(s) == text


def test_bar() -> None:
    assert bar(0, 100, 10) == "[>" + " " * 10 + "]"
    assert bar(50, 100, 10) == "[=====>     ]"
    assert bar(100, 100, 10) == "[==========>]"
    assert bar(200, 100, 10) == "[==========>]"
    assert bar(5, 0, 10) == "[>" + " " * 10 + "]"
    assert len(bar(1, 3)) == 53  # docker's 50 cells


def test_progress_text_fits_the_width() -> None:
    wide = progress_text("Downloading", 12_345_678, 45_600_000, 3.8, 120)
    assert wide == ("Downloading [" + "=" * 13 + ">" + " " * 37 + "]  12.35MB/45.6MB "
                    "3.25MB/s, 10s left")
    narrow = progress_text("Downloading", 12_345_678, 45_600_000, 3.8, 70)
    assert narrow == "Downloading [=====>              ]  12.35MB/45.6MB 3.25MB/s, 10s left"
    assert len(narrow) <= 70
    # The bar's width depends on the window only: rows line up.
    assert progress_text("Downloading", 1, 2, 0, 70).index("]") == narrow.index("]")
    assert progress_text("Downloading", 12_345_678, 45_600_000, 3.8, 60) == \
        "Downloading  12.35MB/45.6MB 3.25MB/s, 10s left"
    # Too narrow for a bar: the numbers stay, the end is cut.
    assert progress_text("Pushing", 500, 45_600_000, 1, 40) == \
        "Pushing     500B/45.6MB 500B/s, 25h19m59"
    assert progress_text("Pushing", 10, 0, 0, 80) == "Pushing      10B"  # size unknown
    assert progress_text("Downloading", 1, 2, 1, 5) == "Downlo"[:5]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _tty(verb: str = "Downloading") -> tuple[TtyProgress, io.StringIO, _Clock]:
    out, clock = io.StringIO(), _Clock()
    return TtyProgress(out, verb, clock=clock, columns=lambda: 100), out, clock


def test_rows_are_redrawn_in_place_and_end_as_plain_lines() -> None:
    tty, out, clock = _tty()
    tty.line("1: Pulling from test/busybox")
    tty.line("aaaaaaaaaaaa: Already exists")
    tty.bytes("bbbbbbbbbbbb", 1_000_000, 4_000_000)
    tty.bytes("cccccccccccc", 10, 20)
    clock.now += 1
    tty.bytes("bbbbbbbbbbbb", 2_000_000, 4_000_000)
    shown = screen(out.getvalue())
    assert shown[:2] == ["1: Pulling from test/busybox", "aaaaaaaaaaaa: Already exists"]
    assert shown[2] == "bbbbbbbbbbbb: " + progress_text("Downloading", 2_000_000, 4_000_000,
                                                        1, 85)
    assert shown[2].endswith("]      2MB/4MB 2MB/s, 1s left") and len(shown[2]) <= 99
    assert shown[3].startswith("cccccccccccc: Downloading [")
    tty.bytes("cccccccccccc", 20, 20)
    assert screen(out.getvalue())[3] == "cccccccccccc: Verifying Checksum"
    tty.line("cccccccccccc: Pull complete")
    tty.bytes("bbbbbbbbbbbb", 4_000_000, 4_000_000)
    tty.line("bbbbbbbbbbbb: Pull complete")
    tty.bytes("bbbbbbbbbbbb", 4_000_000, 4_000_000)  # late: ignored
    tty.line("Digest: sha256:1234")
    tty.line("Status: Downloaded newer image for x")
    assert screen(out.getvalue()) == [
        "1: Pulling from test/busybox", "aaaaaaaaaaaa: Already exists",
        "bbbbbbbbbbbb: Pull complete", "cccccccccccc: Pull complete", "Digest: sha256:1234",
        "Status: Downloaded newer image for x"]


def test_redraws_are_throttled() -> None:
    out, clock = io.StringIO(), _Clock()
    tty = TtyProgress(out, "Pushing", clock=clock, columns=lambda: 120)
    tty.bytes("bbbbbbbbbbbb", 1, 1000)
    before = out.getvalue()
    for n in range(2, 500):
        tty.bytes("bbbbbbbbbbbb", n, 1000)
    assert out.getvalue() == before
    clock.now += 0.25
    tty.bytes("bbbbbbbbbbbb", 500, 1000)
    assert "500B/1kB" in screen(out.getvalue())[0]
    tty.bytes("bbbbbbbbbbbb", 1000, 1000)  # the end is always drawn
    assert screen(out.getvalue())[0].startswith("bbbbbbbbbbbb: Pushing [" + "=" * 50 + ">]")
    tty.line("bbbbbbbbbbbb: Pushed")
    assert screen(out.getvalue()) == ["bbbbbbbbbbbb: Pushed"]


def test_long_rows_are_cut_to_the_window() -> None:
    out = io.StringIO()
    tty = TtyProgress(out, "Downloading", columns=lambda: 40)
    tty.bytes("bbbbbbbbbbbb", 1, 1_000_000)
    assert all(len(line) < 40 for line in screen(out.getvalue()))


def test_threads_share_one_writer() -> None:
    tty, out, _clock = _tty()
    ids = [f"{i:012x}" for i in range(8)]

    def work(short: str) -> None:
        for n in range(1, 201):
            tty.bytes(short, n, 200)
        tty.line(f"{short}: Pull complete")

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(screen(out.getvalue())) == [f"{i}: Pull complete" for i in ids]
