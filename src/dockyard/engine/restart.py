"""Restart policies and their backoff (moby ``restartmanager/restartmanager.go``).

``--restart no|always|unless-stopped|on-failure[:N]``. After each exit the monitor asks
:meth:`RestartPolicy.should_restart`; between runs it waits :meth:`Backoff.next`: 100 ms,
doubled after every restart up to one minute, and back to 100 ms once a run lasted 10 s.
A container stopped by the user (``stop``, ``kill``... recorded as a manual stop) is never
restarted.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Backoff", "RestartPolicy"]

_NAMES = ("no", "always", "on-failure", "unless-stopped")
DEFAULT_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


@record(frozen=True)
class RestartPolicy:
    """``HostConfig.RestartPolicy``: ``Name`` and ``MaximumRetryCount``."""

    name: str = "no"
    max_retries: int = 0

    @classmethod
    def parse(cls, value: str | None) -> RestartPolicy:
        """The flag's value (the CLI's ``ParseRestartPolicy`` + the daemon's checks)."""
        if not value:
            return cls()
        parts = value.split(":")
        if len(parts) > 2:
            raise InvalidArgument("invalid restart policy format")
        count = 0
        if len(parts) == 2:
            try:
                count = int(parts[1])
            except ValueError:
                raise InvalidArgument("maximum retry count must be an integer") from None
        name = parts[0]
        if name not in _NAMES:
            raise InvalidArgument(f"invalid restart policy '{name}'")
        if len(parts) == 2 and name != "on-failure":
            raise InvalidArgument(
                f"maximum retry count cannot be used with restart policy '{name}'")
        if count < 0:
            raise InvalidArgument("maximum retry count cannot be negative")
        return cls(name, count)

    @classmethod
    def from_json(cls, obj: Any) -> RestartPolicy:
        if not isinstance(obj, dict):
            return cls()
        name = str(obj.get("Name") or "no")
        return cls(name if name in _NAMES else "no", int(obj.get("MaximumRetryCount") or 0))

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "MaximumRetryCount": self.max_retries}

    @property
    def is_none(self) -> bool:
        return self.name == "no"

    def should_restart(self, exit_code: int, restart_count: int,
                       manually_stopped: bool) -> bool:
        if manually_stopped or self.name == "no":
            return False
        if self.name in ("always", "unless-stopped"):
            return True
        if self.max_retries and restart_count >= self.max_retries:
            return False
        return exit_code != 0


class Backoff:
    """The wait before the next restart, in seconds."""

    def __init__(self) -> None:
        self.delay = 0.0

    def next(self, ran_for: float) -> float:
        if ran_for >= RESET_AFTER:
            self.delay = 0.0
        self.delay = DEFAULT_DELAY if self.delay == 0 else min(self.delay * 2, MAX_DELAY)
        return self.delay
