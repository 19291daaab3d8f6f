"""Images: content store, snapshots, layer unpacking, metadata store, archives.

What ``pull``, ``build`` and ``run`` use: :class:`ImageService` (create an image from a
config and layer blobs, unpack once per chain ID, resolve names, ``prepare_rootfs``),
its ``content`` (:class:`ContentStore`), ``snapshots`` (:class:`Snapshotter`) and
``store`` (:class:`ImageStore`).
"""

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
