"""Images: content store, snapshots, layer unpacking, metadata store, archives."""

from dockyard.image.content import ContentStore, LocalContentStore

__all__ = ["ContentStore", "LocalContentStore"]
