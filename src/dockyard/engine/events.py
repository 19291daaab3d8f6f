"""The engine's event log (moby ``daemon/events``): what ``dockyard events`` shows.

Each event is one row of the ``events`` table in the shared SQLite database, written by
:func:`record` as the engine acts: type (container, image, network, volume), action
(``create``, ``start``, ``die``, ``exec_start: sh``, ...), the actor's ID and attributes
(for a container: its labels, ``image``, ``name``, and ``exitCode`` or ``signal``), and
the time in nanoseconds. Recording is best effort: it never fails nor blocks the
operation it describes for long. The table keeps the newest :data:`KEEP` rows.
"""

from __future__ import annotations

import json
import sqlite3
import time

from dockyard.record import field
from dockyard.record import record as _record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from dockyard.engine.containers import ContainerRecord

__all__ = ["KEEP", "Event", "container", "last_id", "matches", "parse_filters", "parse_time",
           "read", "record"]

KEEP = 10000

_SCHEMA = """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time_nano INTEGER NOT NULL, type TEXT NOT NULL,
    action TEXT NOT NULL, actor_id TEXT NOT NULL, attributes TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'local')"""


@_record(frozen=True)
class Event:
    """One event, shaped like the Engine API's ``events.Message``."""

    id: int
    time_nano: int
    type: str
    action: str
    actor_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    scope: str = "local"

    def message(self) -> dict[str, Any]:
        """The JSON object ``docker events --format '{{json .}}'`` prints, keys in Docker's
        order; ``status``/``id``/``from`` are the legacy fields of container and image
        events."""
        out: dict[str, Any] = {}
        if self.type in ("container", "image"):
            out["status"] = self.action
            out["id"] = self.actor_id
            if self.type == "container" and self.attributes.get("image"):
                out["from"] = self.attributes["image"]
        out["Type"] = self.type
        out["Action"] = self.action
        out["Actor"] = {"ID": self.actor_id, "Attributes": dict(sorted(self.attributes.items()))}
        out["scope"] = self.scope
        out["time"] = self.time_nano // 1_000_000_000
        out["timeNano"] = self.time_nano
        return out

    def line(self) -> str:
        """Docker's default line: ``TIME TYPE ACTION ID (k=v, ...)``, keys sorted."""
        secs, frac = divmod(self.time_nano, 1_000_000_000)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"
        text = f"{stamp} {self.type} {self.action} {self.actor_id}"
        if self.attributes:
            text += " (" + ", ".join(f"{k}={self.attributes[k]}"
                                     for k in sorted(self.attributes)) + ")"
        return text


def _connect(root: str, timeout: float) -> sqlite3.Connection:
    import os

    os.makedirs(root, mode=0o711, exist_ok=True)
    conn = sqlite3.connect(os.path.join(root, "dockyard.db"), timeout=timeout,
                           isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: no fsync per event
    if root not in _schema_done:
        conn.execute(_SCHEMA)
        _schema_done.add(root)
    return conn


#: roots whose table this process made (or found) already
_schema_done: set[str] = set()


def record(root: str, type_: str, action: str, actor_id: str,
           attributes: Mapping[str, str] | None = None) -> None:
    """Log one event; errors (a locked or read-only database) are swallowed."""
    try:
        conn = _connect(root, 2.0)
    except (sqlite3.Error, OSError):
        return
    try:
        cur = conn.execute(
            "INSERT INTO events (time_nano, type, action, actor_id, attributes) "
            "VALUES (?, ?, ?, ?, ?)",
            (time.time_ns(), type_, action, actor_id,
             json.dumps({str(k): str(v) for k, v in (attributes or {}).items()})))
        rowid = int(cur.lastrowid or 0)
        if rowid % 500 == 0:
            conn.execute("DELETE FROM events WHERE id <= ?", (rowid - KEEP,))
    except sqlite3.Error:
        pass
    finally:
        conn.close()


def container(root: str, rec: ContainerRecord, action: str, **extra: str) -> None:
    """A container event: its labels, ``image`` and ``name`` plus ``extra``."""
    attrs = {**rec.labels, "image": rec.image, "name": rec.name, **extra}
    record(root, "container", action, rec.id, attrs)


def read(root: str, after_id: int = 0, since_ns: int | None = None,
         until_ns: int | None = None) -> list[Event]:
    """Events with ``id > after_id`` in the time window, oldest first."""
    conn = _connect(root, 30.0)
    try:
        q = ("SELECT id, time_nano, type, action, actor_id, attributes, scope FROM events "
             "WHERE id > ?")
        args: list[int] = [after_id]
        if since_ns is not None:
            q += " AND time_nano >= ?"
            args.append(since_ns)
        if until_ns is not None:
            q += " AND time_nano <= ?"
            args.append(until_ns)
        rows = conn.execute(q + " ORDER BY id", args).fetchall()
    finally:
        conn.close()
    return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]


def last_id(root: str) -> int:
    conn = _connect(root, 30.0)
    try:
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
    finally:
        conn.close()


# --- filters and times (docker events --filter / --since / --until) -------------------

_FILTER_KEYS = ("type", "event", "container", "image", "label", "network", "volume",
                "scope", "daemon", "plugin", "node", "config", "secret", "service")


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    """``key=value`` pairs -> key -> values (values of one key are ORed)."""
    from dockyard.errors import InvalidArgument

    out: dict[str, list[str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
        key = key.strip().lower()
        if key not in _FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
        out.setdefault(key, []).append(value.strip())
    return out


def _image_name(ref: str) -> str:
    """``busybox:latest`` -> ``busybox`` (a tag is dropped, as moby's matchImage does)."""
    last = ref.rsplit("/", 1)[-1]
    return ref[: len(ref) - len(last)] + last.split(":", 1)[0] if ":" in last else ref


def matches(ev: Event, flt: Mapping[str, list[str]]) -> bool:
    """moby ``daemon/events/filter.go``: every key given must match one of its values."""
    def want(key: str, *candidates: str) -> bool:
        values = flt.get(key)
        if not values:
            return True
        return any(v and (v == c or (key == "container" and c == ev.actor_id
                                     and ev.actor_id.startswith(v)))
                   for v in values for c in candidates if c)

    name = ev.attributes.get("name", "")
    if not want("type", ev.type) or not want("scope", ev.scope):
        return False
    if flt.get("event") and not any(
            v == ev.action or ev.action.startswith(v + ":") for v in flt["event"]):
        return False
    if flt.get("container") and not (ev.type == "container" and want(
            "container", ev.actor_id, name)):
        return False
    if flt.get("network") and not (ev.type == "network" and want(
            "network", ev.actor_id, name)):
        return False
    if flt.get("volume") and not (ev.type == "volume" and want("volume", ev.actor_id)):
        return False
    if flt.get("image"):
        ref = ev.attributes.get("image", "") if ev.type == "container" else (
            ev.attributes.get("name", "") if ev.type == "image" else "")
        ids = (ev.actor_id,) if ev.type == "image" else ()
        if not want("image", ref, _image_name(ref), *ids):
            return False
    for lab in flt.get("label", []):
        k, eq, v = lab.partition("=")
        if k not in ev.attributes or (eq and ev.attributes[k] != v):
            return False
    return True


def parse_time(value: str, now_ns: int | None = None) -> int:
    """``--since``/``--until``: Unix seconds (``1700000000.5``), a Go duration before
    now (``10m``, ``1h30m``, ``90s``), or an RFC 3339 date/time (``2026-11-23``,
    ``2026-11-23T14:00:00``, ``...Z``, ``...+01:00``) -> nanoseconds."""
    import datetime
    import re

    from dockyard.errors import InvalidArgument

    now = time.time_ns() if now_ns is None else now_ns
    v = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", v):
        secs, _, frac = v.partition(".")
        return int(secs) * 1_000_000_000 + int((frac + "000000000")[:9])
    if re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", v):
        unit = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}
        total = sum(float(n) * unit[u] for n, _, u in re.findall(
            r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", v))
        return now - int(total)
    text = v.replace("Z", "+00:00")
    try:
        dt = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f'failed to parse value as time or duration: "{value}"'
                              ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000
