"""``dockyard build``: Dockerfiles -> images (parser, context, cache, builder)."""

__all__: list[str] = []
