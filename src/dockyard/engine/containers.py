"""Container records in the shared SQLite database (moby ``container/`` + ``daemon/names.go``).

One table, ``containers``, created with ``CREATE TABLE IF NOT EXISTS``: one row a container,
``name`` UNIQUE (stored without Docker's leading ``/``), ``config`` / ``host_config`` /
``health`` as JSON text, and the state columns ``docker inspect`` shows under ``State``.

Every read-modify-write runs in a ``BEGIN IMMEDIATE`` transaction, so two CLIs or a CLI and
the daemon serialise on SQLite's write lock: two creators can never take the same name, and
``transition`` is a compare-and-set on the status (the engine's guard against a ``start``
racing a ``rm``).

Lookups follow moby's ``daemon.GetContainer``: full ID, then name, then unique ID prefix.
"""

from __future__ import annotations

import enum
import json
import os
import re
import sqlite3
import threading
from contextlib import contextmanager

from dockyard.engine.names import generate_name, validate_name
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.record import field, fields, record, replace
from dockyard.sqlite import connect, immediate

TYPE_CHECKING = False
if TYPE_CHECKING:
    import builtins
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import Any

__all__ = [
    "NEVER",
    "ContainerRecord",
    "ContainerStore",
    "Status",
    "new_id",
    "rfc3339_ns",
]

NEVER = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time`` as Docker prints it: ``StartedAt``/``FinishedAt`` of a container
that never started or never finished."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")


class Status(enum.StrEnum):
    """``State.Status`` values (moby ``container/state.go`` ``StateString``)."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"

    @property
    def is_active(self) -> bool:
        """A process should exist: Docker reports ``State.Running`` true for these."""
        return self in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)

    @property
    def can_start(self) -> bool:
        return self in (Status.CREATED, Status.EXITED)

    @property
    def can_remove_unforced(self) -> bool:
        """``docker rm`` without ``-f`` refuses running/paused/restarting containers."""
        return not self.is_active and self is not Status.REMOVING


def _status(value: Status | str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise InvalidArgument(f"invalid container status {value!r}") from None


# one definition, shared with the monitor's light modules
from dockyard.engine.jsonlog import rfc3339_ns  # noqa: E402


def new_id() -> str:
    """64 lowercase hex digits from ``os.urandom``; like moby's ``stringid.GenerateRandomID``,
    never all digits (a short ID of only digits would read as a number)."""
    while True:
        cid = os.urandom(32).hex()
        if not cid[:12].isdigit():
            return cid


@record(frozen=True)
class ContainerRecord:
    """What the engine remembers about one container.

    ``name`` has no leading ``/`` (``docker inspect`` adds it); an empty name given to
    :meth:`ContainerStore.create` asks for a generated one. ``config`` is the create request
    (``Cmd``, ``Entrypoint``, ``Env``, ``Labels``, ...) and ``host_config`` the ``HostConfig``,
    both JSON-able. ``exit_code`` is meaningful once ``finished_at`` is not :data:`NEVER`.
    """

    id: str
    name: str
    image: str
    image_id: str
    config: dict[str, Any] = field(default_factory=dict)
    host_config: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=rfc3339_ns)
    status: Status = Status.CREATED
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: str = NEVER
    finished_at: str = NEVER
    restart_count: int = 0
    health: dict[str, Any] | None = None
    bundle_dir: str = ""
    rootfs_key: str = ""
    log_path: str = ""
    #: Stopped by the user (``stop``, ``kill``): its restart policy no longer applies
    #: (moby's ``HasBeenManuallyStopped``); a ``start`` clears it.
    manual_stop: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", _status(self.status))

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def labels(self) -> dict[str, str]:
        labels = self.config.get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def state_json(self) -> dict[str, Any]:
        """The ``State`` object of ``docker inspect``, in Docker's key order."""
        out: dict[str, Any] = {
            "Status": self.status.value,
            "Running": self.status.is_active,
            "Paused": self.status is Status.PAUSED,
            "Restarting": self.status is Status.RESTARTING,
            "OOMKilled": self.oom_killed,
            "Dead": self.status is Status.DEAD,
            "Pid": self.pid,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
        }
        if self.health is not None:
            out["Health"] = self.health
        return out


_COLUMNS = tuple(f.name for f in fields(ContainerRecord))
_JSON_COLUMNS = frozenset({"config", "host_config", "health"})
_IMMUTABLE = frozenset({"id", "name", "created"})
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "image": (str,), "image_id": (str,), "config": (dict,), "host_config": (dict,),
    "status": (str,), "pid": (int,), "exit_code": (int,), "oom_killed": (bool,),
    "error": (str,), "started_at": (str,), "finished_at": (str,), "restart_count": (int,),
    "health": (dict, type(None)), "bundle_dir": (str,), "rootfs_key": (str,),
    "log_path": (str,), "manual_stop": (bool,),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL,
    image_id TEXT NOT NULL, config TEXT NOT NULL, host_config TEXT NOT NULL,
    created TEXT NOT NULL, status TEXT NOT NULL, pid INTEGER NOT NULL,
    exit_code INTEGER NOT NULL, oom_killed INTEGER NOT NULL, error TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT NOT NULL, restart_count INTEGER NOT NULL,
    health TEXT, bundle_dir TEXT NOT NULL, rootfs_key TEXT NOT NULL, log_path TEXT NOT NULL,
    manual_stop INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS containers_created ON containers (created);
"""
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM containers"


def _to_db(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return None if value is None else json.dumps(value)
    if column in ("oom_killed", "manual_stop"):
        return int(bool(value))
    if column == "status":
        return _status(value).value
    return value


def _from_row(row: tuple[Any, ...]) -> ContainerRecord:
    v = dict(zip(_COLUMNS, row, strict=True))
    for c in _JSON_COLUMNS:
        v[c] = None if v[c] is None else json.loads(v[c])
    v["oom_killed"] = bool(v["oom_killed"])
    v["manual_stop"] = bool(v["manual_stop"])
    v["status"] = Status(v["status"])
    return ContainerRecord(**v)


def _check_fields(fields: Mapping[str, Any]) -> None:
    for k, v in fields.items():
        if k in _IMMUTABLE or k not in _FIELD_TYPES:
            raise InvalidArgument(f"container field {k!r} cannot be updated")
        if not isinstance(v, _FIELD_TYPES[k]) or (isinstance(v, bool)
                                                    and bool not in _FIELD_TYPES[k]):
            raise InvalidArgument(f"container field {k!r}: bad value {v!r}")
        if k == "status":
            _status(str(v))


class ContainerStore:
    """The ``containers`` table of ``ROOT/dockyard.db``.

    Mutators take a full container ID (resolve user input with :meth:`get` first) and raise
    :class:`NotFound` when the row is gone. One store may be shared by threads: its
    connection is used under a lock.
    """

    def __init__(self, root: str) -> None:
        self.conn = connect(root)
        self._lock = threading.RLock()
        self.conn.executescript(_SCHEMA)
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(containers)")}
        if "manual_stop" not in have:  # a database made before the column existed
            try:
                self.conn.execute("ALTER TABLE containers ADD COLUMN manual_stop "
                                  "INTEGER NOT NULL DEFAULT 0")
            except sqlite3.OperationalError:
                pass  # another process added it meanwhile

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ContainerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``)."""
        with self._lock, immediate(self.conn) as c:
            yield c

    def _row(self, c: sqlite3.Connection, cid: str) -> ContainerRecord:
        r = c.execute(f"{_SELECT} WHERE id = ?", (cid,)).fetchone()
        if r is None:
            raise NotFound(f"No such container: {cid}")
        return _from_row(r)

    def _owner(self, c: sqlite3.Connection, name: str) -> str | None:
        r = c.execute("SELECT id FROM containers WHERE name = ?", (name,)).fetchone()
        return None if r is None else str(r[0])

    @staticmethod
    def _name_conflict(name: str, owner: str) -> Conflict:
        return Conflict(
            f'Conflict. The container name "/{name}" is already in use by container '
            f'"{owner}". You have to remove (or rename) that container to be able to '
            "reuse that name.")

    # create / read ----------------------------------------------------------
    def create(self, record: ContainerRecord) -> ContainerRecord:
        """Insert ``record``; an empty ``name`` gets a generated one. Returns the stored
        record. A name in use -> :class:`Conflict` with Docker's message."""
        if not _HEX64.fullmatch(record.id):
            raise InvalidArgument(f"invalid container ID {record.id!r}: want 64 hex digits")
        name = validate_name(record.name) if record.name else ""
        _check_fields({k: getattr(record, k) for k in _FIELD_TYPES})
        with self._tx() as c:
            if not name:
                name = (generate_name(lambda n: self._owner(c, n) is not None)
                        or record.id[:12])
            owner = self._owner(c, name)
            if owner is not None:
                raise self._name_conflict(name, owner)
            if c.execute("SELECT 1 FROM containers WHERE id = ?", (record.id,)).fetchone():
                raise Conflict(f"container ID {record.id} already exists")
            stored = replace(record, name=name)
            c.execute(f"INSERT INTO containers ({', '.join(_COLUMNS)}) VALUES "
                      f"({', '.join('?' * len(_COLUMNS))})",
                      [_to_db(k, getattr(stored, k)) for k in _COLUMNS])
        return stored

    def get(self, ref: str) -> ContainerRecord:
        """By full ID, by name (with or without ``/``), or by unique ID prefix."""
        if not ref:
            raise InvalidArgument("invalid container name or ID: value is empty")
        with self._lock:
            c = self.conn
            r = c.execute(f"{_SELECT} WHERE id = ?", (ref,)).fetchone()
            if r is None:
                r = c.execute(f"{_SELECT} WHERE name = ?", (ref.removeprefix("/"),)).fetchone()
            if r is None and _HEX.fullmatch(ref):
                rows = c.execute(f"{_SELECT} WHERE substr(id, 1, ?) = ? LIMIT 2",
                                 (len(ref), ref)).fetchall()
                if len(rows) > 1:
                    raise InvalidArgument(f"Multiple IDs found with provided prefix: {ref}")
                r = rows[0] if rows else None
        if r is None:
            raise NotFound(f"No such container: {ref}")
        return _from_row(r)

    def all(self) -> list[ContainerRecord]:
        """Every record, newest first."""
        with self._lock:
            rows = self.conn.execute(f"{_SELECT} ORDER BY created DESC, rowid DESC").fetchall()
        return [_from_row(r) for r in rows]

    def list(self, all: bool = False,
             filters: Mapping[str, str | Iterable[str]] | None = None,
             limit: int = 0) -> builtins.list[ContainerRecord]:
        """``docker ps``: newest first; only active ones unless ``all``, a ``status`` /
        ``before`` / ``since`` filter or a ``limit`` (``-n``) asks for all, as in Docker.
        See :mod:`dockyard.engine.container_filters`."""
        from dockyard.engine.container_filters import parse as parse_filters

        flt = parse_filters(filters or {})
        show_all = all or flt.implies_all or limit > 0
        since = None if flt.since is None else self.get(flt.since).id
        before = None if flt.before is None else self.get(flt.before).id
        recs = self.all()
        pos = {r.id: i for i, r in enumerate(recs)}   # newest first: newer = smaller
        if since is not None:
            recs = [r for r in recs if pos[r.id] < pos.get(since, -1)]
        if before is not None:
            recs = [r for r in recs if pos[r.id] > pos.get(before, len(pos))]
        out = [r for r in recs if (show_all or r.status.is_active) and flt.matches(r)]
        return out[:limit] if limit > 0 else out

    def names_in_use(self) -> set[str]:
        """Every container name, without the leading ``/``."""
        with self._lock:
            return {str(r[0]) for r in self.conn.execute("SELECT name FROM containers")}

    def users_of_image(self, image_id: str) -> builtins.list[str]:
        """IDs of the containers created from ``image_id`` (for ``rmi``'s check)."""
        with self._lock:
            return [str(r[0]) for r in self.conn.execute(
                "SELECT id FROM containers WHERE image_id = ? ORDER BY created", (image_id,))]

    # updates ----------------------------------------------------------------
    def update_state(self, cid: str, **fields: Any) -> ContainerRecord:
        """Set ``fields`` (any column but id, name, created) atomically; return the result."""
        _check_fields(fields)
        with self._tx() as c:
            self._row(c, cid)
            self._set(c, cid, fields)
            return self._row(c, cid)

    def transition(self, cid: str, from_statuses: Iterable[Status | str],
                   to_status: Status | str, *, conflict_message: str | None = None,
                   **fields: Any) -> ContainerRecord:
        """Compare-and-set: move to ``to_status`` (and set ``fields``) only if the current
        status is one of ``from_statuses``; otherwise :class:`Conflict` (with
        ``conflict_message`` if given). Returns the updated record."""
        allowed = {_status(s) for s in from_statuses}
        fields = {**fields, "status": _status(to_status)}
        _check_fields(fields)
        with self._tx() as c:
            cur = self._row(c, cid)
            if cur.status not in allowed:
                want = ", ".join(sorted(s.value for s in allowed))
                raise Conflict(conflict_message or (
                    f"container {cur.short_id} is {cur.status.value}; cannot move it to "
                    f"{_status(to_status).value} (needs: {want})"))
            self._set(c, cid, fields)
            return self._row(c, cid)

    def _set(self, c: sqlite3.Connection, cid: str, fields: Mapping[str, Any]) -> None:
        if fields:
            c.execute(f"UPDATE containers SET {', '.join(f'{k} = ?' for k in fields)} "
                      "WHERE id = ?", [*(_to_db(k, v) for k, v in fields.items()), cid])

    def rename(self, cid: str, new_name: str) -> ContainerRecord:
        """moby ``daemon/rename.go``: validate, refuse the current name and names in use."""
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        name = validate_name(new_name)
        with self._tx() as c:
            cur = self._row(c, cid)
            if cur.name == name:
                raise InvalidArgument(
                    "Renaming a container with the same name as its current name")
            owner = self._owner(c, name)
            if owner is not None:
                raise self._name_conflict(name, owner)
            c.execute("UPDATE containers SET name = ? WHERE id = ?", (name, cid))
            return self._row(c, cid)

    def delete(self, cid: str,
               only_if: Iterable[Status | str] | None = None) -> ContainerRecord:
        """Remove the row and return what it held. With ``only_if``, a compare-and-delete:
        :class:`Conflict` unless the current status is one of those."""
        with self._tx() as c:
            cur = self._row(c, cid)
            if only_if is not None and cur.status not in {_status(s) for s in only_if}:
                raise Conflict(f"container {cur.short_id} is {cur.status.value}; "
                               "it cannot be removed in that state")
            c.execute("DELETE FROM containers WHERE id = ?", (cid,))
        return cur

    # after a host or daemon restart -----------------------------------------
    def reconcile(self, is_alive: Callable[[ContainerRecord], bool],
                  exit_code: Callable[[ContainerRecord], int | None] | None = None,
                  ) -> builtins.list[ContainerRecord]:
        """Mark containers whose process is gone as exited; return the updated records.

        Records that say running, paused or restarting and for which ``is_alive`` is false
        become ``exited`` with pid 0 and ``finished_at`` now. Their exit code is
        ``exit_code(record)`` if that callback knows it, else the one already recorded if
        non-zero (a monitor that wrote it and died), else 255 (moby's restore uses 255 when
        the runtime cannot tell). Records left in ``removing`` become ``dead``, as moby's
        restore does, so a later ``rm`` can finish them. ``is_alive`` runs outside any
        transaction; each update is a compare-and-set on the status and pid it saw.
        """
        changed: builtins.list[ContainerRecord] = []
        for rec in self.all():
            if rec.status is Status.REMOVING:
                fields: dict[str, Any] = {"status": Status.DEAD}
            elif rec.status.is_active and not is_alive(rec):
                code = exit_code(rec) if exit_code is not None else None
                if code is None:
                    code = rec.exit_code or 255
                fields = {"status": Status.EXITED, "pid": 0, "exit_code": code,
                          "finished_at": rfc3339_ns()}
            else:
                continue
            with self._tx() as c:
                r = c.execute("SELECT status, pid FROM containers WHERE id = ?",
                              (rec.id,)).fetchone()
                if r is None or (r[0], r[1]) != (rec.status.value, rec.pid):
                    continue
                self._set(c, rec.id, fields)
                changed.append(self._row(c, rec.id))
        return changed
