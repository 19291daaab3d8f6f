"""One exception hierarchy for the whole project.

Category bases (``NotFound``, ``Conflict``, ``InvalidArgument``, ...) are what the CLI maps
to exit codes and the Engine API to HTTP statuses (containerd's ``errdefs``). Messages are
one line a user can act on; the cause is chained with ``raise ... from``.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DockyardError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Unavailable",
    "Unsupported",
]


class DockyardError(Exception):
    """Base of every error dockyard reports to a user."""

    http_status = 500


class NotFound(DockyardError):
    """The named object (container, image, file, namespace path...) does not exist."""

    http_status = 404


class Conflict(DockyardError):
    """The request clashes with current state: a name in use, a container not stopped."""

    http_status = 409


class InvalidArgument(DockyardError):
    """The input is malformed: a bad config.json, an unknown signal, a bad flag value."""

    http_status = 400


class Unsupported(InvalidArgument):
    """Well-formed input asking for something this host or build cannot do."""


class PermissionDenied(DockyardError):
    """The caller lacks a privilege the operation needs."""

    http_status = 403


class Unavailable(DockyardError):
    """A peer (registry, daemon, kernel facility) is not reachable right now."""

    http_status = 503
