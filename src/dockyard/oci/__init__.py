"""Pure data: the OCI runtime spec (config.json and state) and its validation; image
digests, references and media types.

The names below load on first use (PEP 562): the runtime's start path reads only
``runtime_spec`` and must not pay for the image side's imports.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.oci.digest import Digest, chain_id, digest_bytes, parse_digest
    from dockyard.oci.image_types import Platform, host_platform
    from dockyard.oci.reference import Reference, parse_reference
    from dockyard.oci.runtime_spec import load_spec, validate_spec

__all__ = [
    "Digest",
    "Platform",
    "Reference",
    "chain_id",
    "digest_bytes",
    "host_platform",
    "load_spec",
    "parse_digest",
    "parse_reference",
    "validate_spec",
]

_HOME = {
    "Digest": "digest", "chain_id": "digest", "digest_bytes": "digest",
    "parse_digest": "digest", "Platform": "image_types", "host_platform": "image_types",
    "Reference": "reference", "parse_reference": "reference",
    "load_spec": "runtime_spec", "validate_spec": "runtime_spec",
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'dockyard.oci' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"dockyard.oci.{home}"), name)
