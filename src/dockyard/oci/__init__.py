"""Pure data: the OCI runtime spec (config.json and state) and its validation; image
digests, references and media types."""

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
