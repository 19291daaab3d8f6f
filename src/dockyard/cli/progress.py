"""Docker's pull/push progress on a terminal: one line per layer, redrawn in place.

The pure functions format what docker's ``jsonmessage`` shows (sizes in go-units' decimal
units, a 50-wide bar, the time left); :class:`TtyProgress` keeps one row per layer and
redraws it with ANSI cursor movement. Redraws of one row are at least ``interval`` apart,
so a fast transfer costs a few writes a second. When a layer is done its row holds the
same plain line (``<id>: Pull complete``) that is printed when stdout is not a terminal.
"""

from __future__ import annotations

import os
import re
import threading
import time

from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

__all__ = ["TtyProgress", "bar", "duration", "human_size", "progress_text"]

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_LAYER_LINE = re.compile(r"([0-9a-f]{12}): (.*)")
_BAR_MAX = 50  # docker's bar: 50 cells, one per 2 %
_BAR_MIN = 10
_TAIL = 36  # room kept for "  12.35MB/45.6MB 29.4MB/s, 12s left": bars keep one width


def human_size(n: float, precision: int = 4) -> str:
    """go-units ``HumanSizeWithPrecision``: ``%.4g`` in powers of 1000 (``12.35MB``)."""
    i = 0
    while n >= 1000 and i < len(_UNITS) - 1:
        n /= 1000
        i += 1
    return f"{n:.{precision}g}{_UNITS[i]}"


def duration(seconds: float) -> str:
    """Go's ``Duration.String`` of whole seconds: ``8s``, ``1m20s``, ``2h0m5s``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    return f"{m}m{s}s" if m else f"{s}s"


def bar(done: int, total: int, width: int = _BAR_MAX) -> str:
    """``[=====>      ]`` with ``width`` cells inside the brackets (docker: 50)."""
    filled = min(width, done * width // total) if total > 0 else 0
    rest = max(0, width - filled)
    return f"[{'=' * filled}>{' ' * rest}]"


def progress_text(verb: str, done: int, total: int, elapsed: float, width: int) -> str:
    """``Downloading [==>   ]  12.35MB/45.6MB 3.2MB/s, 8s left``, fitted to ``width``
    columns: the bar (docker's is 50 wide) shrinks first, then goes, then the text is cut.
    Its width depends on ``width`` only, so rows' bars line up and do not jitter."""
    numbers = f"{human_size(done):>8}/{human_size(total)}" if total > 0 and done <= total \
        else f"{human_size(done):>8}"
    speed = ""
    if elapsed > 0 and done > 0:
        rate = done / elapsed
        speed = f" {human_size(rate, 3)}/s"
        if total > 0 and done < total:
            speed += f", {duration((total - done) / rate)} left"
    tail = f" {numbers}{speed}"
    cells = min(_BAR_MAX, width - len(verb) - _TAIL - 4)
    box = f" {bar(done, total, cells)}" if total > 0 and cells >= _BAR_MIN else ""
    return f"{verb}{box}{tail}"[:max(0, width)]


def _columns(stream: TextIO) -> int:
    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        cols = 0
    return cols if cols > 0 else 80


@record
class _Layer:
    row: int  # its line in the current block
    started: float
    drawn: float = 0.0
    final: bool = False


class TtyProgress:
    """Renders the lines of a pull or push (``line``) and layer byte counts (``bytes``)
    to a terminal. Thread-safe: both may be called from any thread; one lock, one writer.

    Lines ``<12 hex>: <status>`` are a layer's row (created the first time, rewritten in
    place after); any other line is printed below and starts a new block of rows.
    ``verb`` is ``"Downloading"`` or ``"Pushing"``.
    """

    def __init__(self, stream: TextIO, verb: str, *, interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic,
                 columns: Callable[[], int] | None = None) -> None:
        self._out = stream
        self._verb = verb
        self._interval = interval
        self._clock = clock
        self._columns = columns or (lambda: _columns(stream))
        self._lock = threading.Lock()
        self._layers: dict[str, _Layer] = {}
        self._rows = 0

    def line(self, text: str) -> None:
        m = _LAYER_LINE.fullmatch(text)
        with self._lock:
            if m is None:
                self._write(text + "\n")
                self._layers.clear()
                self._rows = 0
                return
            layer = self._layer(m.group(1))
            layer.final = True
            self._draw(layer, text)

    def bytes(self, short_id: str, done: int, total: int) -> None:
        now = self._clock()
        with self._lock:
            layer = self._layer(short_id)
            if layer.final:
                return
            complete = 0 < total <= done
            if not complete and layer.drawn and now - layer.drawn < self._interval:
                return
            layer.drawn = now
            if complete and self._verb == "Downloading":
                text = "Verifying Checksum"
            else:
                text = progress_text(self._verb, done, total, now - layer.started,
                                     self._columns() - 15)
            self._draw(layer, f"{short_id}: {text}")

    def _layer(self, short_id: str) -> _Layer:
        layer = self._layers.get(short_id)
        if layer is None:
            layer = self._layers[short_id] = _Layer(self._rows, self._clock())
            self._rows += 1
            self._write("\n")
        return layer

    def _draw(self, layer: _Layer, text: str) -> None:
        """Rewrite the layer's row; the cursor stays at the start of the line below."""
        up = self._rows - layer.row
        text = text[:max(1, self._columns() - 1)]
        self._write(f"\x1b[{up}A\r\x1b[2K{text}\x1b[{up}B\r")

    def _write(self, data: str) -> None:
        self._out.write(data)
        self._out.flush()
