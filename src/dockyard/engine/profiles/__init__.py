"""Security profiles the engine puts into a container's config.json by default.

``seccomp_default.json`` is the ``linux.seccomp`` section dockerd (20.10) generated for a
container with Docker's default capabilities (no CAP_SYS_ADMIN, CAP_SYS_PTRACE...): every
syscall not listed fails with EPERM; ``clone`` may not create namespaces; ``clone3`` fails with
ENOSYS so that libcs fall back to ``clone``, which can be filtered on its flags.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from dockyard.oci.runtime_types import Seccomp

__all__ = ["default_seccomp_profile"]

_DIR = os.path.dirname(__file__)


def default_seccomp_profile() -> Seccomp:
    """Docker's default seccomp profile, a fresh copy the caller may change."""
    import json  # only the engine pays for json, and only here

    with open(os.path.join(_DIR, "seccomp_default.json"), encoding="utf-8") as f:
        profile: Seccomp = json.load(f)
    return profile
