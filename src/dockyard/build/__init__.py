"""``dockyard build``: Dockerfiles -> images.

:func:`parse` (text -> instructions), :class:`Builder` (stages, steps, the step cache;
RUN through a :class:`StepRunner` the engine gives, as :class:`RunProcess`),
:class:`BuildOptions`, :class:`BuildError`. The names load on first use (PEP 562), so
that the build memo's fast path imports none of the builder.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.build.builder import Builder, BuildError, RunProcess, StepRunner
    from dockyard.build.options import BuildOptions
    from dockyard.build.parser import parse

__all__ = ["BuildError", "BuildOptions", "Builder", "RunProcess", "StepRunner", "parse"]

_HOME = {"BuildError": "builder", "Builder": "builder", "RunProcess": "builder",
         "StepRunner": "builder", "BuildOptions": "options", "parse": "parser"}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'dockyard.build' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"dockyard.build.{home}"), name)
