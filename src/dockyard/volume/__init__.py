"""Volumes: the ``local`` driver (directories under ``ROOT/volumes/<name>/_data``, optionally
mounted from a device with ``-o type= -o device= -o o=``), their records in the state
database, and seeding a new volume with an image's content."""

from dockyard.volume.copy import copy_tree, is_empty_dir
from dockyard.volume.local import LocalDriver, parse_driver_options
from dockyard.volume.names import anonymous_name, validate_name
from dockyard.volume.store import VolumeRecord, VolumeStore

__all__ = [
    "LocalDriver",
    "VolumeRecord",
    "VolumeStore",
    "anonymous_name",
    "copy_tree",
    "is_empty_dir",
    "parse_driver_options",
    "validate_name",
]
