"""``docker ps --filter``: parse once, then match records (moby ``daemon/list.go``).

Values of one key are alternatives (any may match), except ``label``, whose values must all
match. Supported keys: ``id`` (prefix), ``name`` (regular expression searched in the name,
with and without the leading ``/``), ``label`` (``key`` or ``key=value``), ``status``,
``exited`` (exit code of a container that ran and stopped), ``ancestor`` (image reference as
given or normalised, image ID or ID prefix), ``health`` (``starting``, ``healthy``,
``unhealthy``, ``none``), ``before`` / ``since`` (a container reference: only those created
before / after it; the store resolves it, the last value counts). ``status``, ``before`` and
``since`` list stopped containers without ``--all``, as in Docker.
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument
from dockyard.oci.reference import parse_reference
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from dockyard.engine.containers import ContainerRecord

__all__ = ["ContainerFilter", "parse"]

_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
_HEALTH = ("starting", "healthy", "unhealthy", "none")
_KEYS = ("id", "name", "label", "status", "exited", "ancestor", "health", "before", "since")
_NEVER = "0001-01-01T00:00:00Z"


def _invalid(key: str, value: str | None = None) -> InvalidArgument:
    return InvalidArgument(f"invalid filter '{key}'" if value is None
                           else f"invalid filter '{key}={value}'")


def _normalise(ref: str) -> str:
    try:
        return str(parse_reference(ref))
    except InvalidArgument:
        return ref


@record(frozen=True)
class ContainerFilter:
    ids: tuple[str, ...] = ()
    names: tuple[re.Pattern[str], ...] = ()
    labels: tuple[tuple[str, str | None], ...] = ()
    statuses: frozenset[str] = frozenset()
    exited: frozenset[int] = frozenset()
    ancestors: tuple[str, ...] = ()
    health: frozenset[str] = frozenset()
    before: str | None = None
    since: str | None = None
    _ancestor_refs: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def implies_all(self) -> bool:
        return bool(self.statuses) or self.before is not None or self.since is not None

    def matches(self, rec: ContainerRecord) -> bool:
        if self.ids and not any(rec.id.startswith(i) for i in self.ids):
            return False
        if self.names and not any(p.search(rec.name) or p.search("/" + rec.name)
                                  for p in self.names):
            return False
        labels = rec.labels
        for k, v in self.labels:
            if k not in labels or (v is not None and labels[k] != v):
                return False
        if self.statuses and rec.status.value not in self.statuses:
            return False
        if self.exited and not (rec.exit_code in self.exited and not rec.status.is_active
                                and rec.started_at != _NEVER):
            return False
        if self.ancestors and not self._ancestor_match(rec):
            return False
        if self.health:
            status = (rec.health or {}).get("Status", "none") or "none"
            if status not in self.health:
                return False
        return True

    def _ancestor_match(self, rec: ContainerRecord) -> bool:
        if rec.image in self.ancestors or _normalise(rec.image) in self._ancestor_refs:
            return True
        bare = rec.image_id.removeprefix("sha256:")
        for a in self.ancestors:
            if a == rec.image_id or (re.fullmatch(r"(sha256:)?[0-9a-f]+", a)
                                     and bare.startswith(a.removeprefix("sha256:"))):
                return True
        return False


def _values(raw: str | Iterable[str]) -> list[str]:
    return [raw] if isinstance(raw, str) else list(raw)


def parse(filters: Mapping[str, str | Iterable[str]]) -> ContainerFilter:
    """``{"status": ["exited"], "label": ["a=b", "c"]}`` -> a matcher; unknown keys or bad
    values -> :class:`InvalidArgument` (``invalid filter 'status=bogus'``)."""
    ids: list[str] = []
    names: list[re.Pattern[str]] = []
    labels: list[tuple[str, str | None]] = []
    statuses: set[str] = set()
    exited: set[int] = set()
    ancestors: list[str] = []
    health: set[str] = set()
    order: dict[str, str] = {}
    for key, raw in filters.items():
        if key not in _KEYS:
            raise _invalid(key)
        for v in _values(raw):
            if key == "id":
                ids.append(v)
            elif key == "name":
                try:
                    names.append(re.compile(v))
                except re.error as e:
                    raise _invalid(key, v) from e
            elif key == "label":
                k, eq, val = v.partition("=")
                labels.append((k, val if eq else None))
            elif key == "status":
                if v not in _STATUSES:
                    raise _invalid(key, v)
                statuses.add(v)
            elif key == "exited":
                try:
                    exited.add(int(v))
                except ValueError as e:
                    raise _invalid(key, v) from e
            elif key in ("before", "since"):
                order[key] = v
            elif key == "ancestor":
                ancestors.append(v)
            else:
                if v not in _HEALTH:
                    raise _invalid(key, v)
                health.add(v)
    return ContainerFilter(
        ids=tuple(ids), names=tuple(names), labels=tuple(labels),
        statuses=frozenset(statuses), exited=frozenset(exited), ancestors=tuple(ancestors),
        health=frozenset(health), before=order.get("before"), since=order.get("since"),
        _ancestor_refs=frozenset(_normalise(a) for a in ancestors))
