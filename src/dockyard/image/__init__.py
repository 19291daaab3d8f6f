"""Images: content store, snapshots, layer unpacking, metadata store, archives.

What ``pull``, ``build`` and ``run`` use: :class:`ImageService` (create an image from a
config and layer blobs, unpack once per chain ID, resolve names, ``prepare_rootfs``),
its ``content`` (:class:`ContentStore`), ``snapshots`` (:class:`Snapshotter`) and
``store`` (:class:`ImageStore`).

The names load on first use (PEP 562): importing one module of the package (the
metadata store, say) does not load them all.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.image.content import ContentStore, Info, LocalContentStore, Writer
    from dockyard.image.service import ImageService, LayerBlob
    from dockyard.image.store import ImageRecord, ImageStore, LayerRecord

__all__ = [
    "ContentStore",
    "ImageRecord",
    "ImageService",
    "ImageStore",
    "Info",
    "LayerBlob",
    "LayerRecord",
    "LocalContentStore",
    "Writer",
]

_HOME = {"ContentStore": "content", "Info": "content", "LocalContentStore": "content",
         "Writer": "content", "ImageService": "service", "LayerBlob": "service",
         "ImageRecord": "store", "ImageStore": "store", "LayerRecord": "store"}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'dockyard.image' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"dockyard.image.{home}"), name)
