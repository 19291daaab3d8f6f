"""The options of one build (``docker build``'s flags), in a module cheap to import."""

from __future__ import annotations

import json

from dockyard.errors import Unsupported

__all__ = ["BuildOptions", "check_platform"]


def check_platform(platform: str) -> None:
    """``--platform`` (or ``FROM --platform``) must be the host's: no emulation here."""
    from dockyard.oci.image_types import host_platform, parse_platform

    want = parse_platform(platform)
    host = host_platform()
    if (want.os, want.architecture) != (host.os, host.architecture):
        raise Unsupported(f"platform {platform} is not supported: this host builds "
                          f"{host.os}/{host.architecture} only")


class BuildOptions:
    """``tags`` as given (``-t``), ``build_args`` (``--build-arg``, values already taken
    from the environment for a bare name), ``labels`` (``--label``), ``target``,
    ``network`` (``default``, ``host`` or ``none``), ``quiet`` (``-q``) and
    ``source_date_epoch`` (``$SOURCE_DATE_EPOCH``: fixed times, clamped mtimes)."""

    def __init__(self, tags: list[str] | None = None,
                 build_args: dict[str, str] | None = None,
                 labels: dict[str, str] | None = None, no_cache: bool = False,
                 pull: bool = False, target: str = "", network: str = "default",
                 quiet: bool = False, source_date_epoch: int | None = None) -> None:
        self.tags = list(tags or [])
        self.build_args = dict(build_args or {})
        self.labels = dict(labels or {})
        self.no_cache = no_cache
        self.pull = pull
        self.target = target
        self.network = network
        self.quiet = quiet
        self.source_date_epoch = source_date_epoch

    def identity(self) -> str:
        """What, besides the context, decides the result (not tags, not ``-q``)."""
        return json.dumps([sorted(self.build_args.items()), sorted(self.labels.items()),
                           self.target, self.network, self.source_date_epoch])
