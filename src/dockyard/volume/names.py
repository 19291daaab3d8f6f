"""Volume names as the local driver accepts them (moby ``volume/local`` ``validateName``)."""

from __future__ import annotations

import os
import re

from dockyard.errors import InvalidArgument

__all__ = ["anonymous_name", "validate_name"]

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


def validate_name(name: str) -> str:
    """``name`` if the local driver accepts it, else Docker's error::

        create a/b: "a/b" includes invalid characters for a local volume name, only
        "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory,
        use absolute path
    """
    if len(name) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be at "
                              "least two alphanumeric characters")
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path")
    return name


def anonymous_name() -> str:
    """64 hex digits, as Docker names an anonymous volume."""
    return os.urandom(32).hex()
