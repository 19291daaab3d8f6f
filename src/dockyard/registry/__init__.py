"""Registry client: OCI distribution API, auth, and pull/push into content (STYLE.md).

Imports point down: ``registry`` uses ``oci``-level data only and writes into whatever
:class:`BlobSink` it is handed; it never imports the runtime or the image store.
"""

from dockyard.registry._ref import Reference, parse_reference
from dockyard.registry.auth import Credentials, load_credentials
from dockyard.registry.client import DigestMismatch, FetchedManifest, RegistryClient
from dockyard.registry.protocol import BlobSink, BlobSource, Descriptor, Platform, host_platform
from dockyard.registry.transfer import PullResult, PushResult, pull, push

__all__ = [
    "BlobSink",
    "BlobSource",
    "Credentials",
    "Descriptor",
    "DigestMismatch",
    "FetchedManifest",
    "Platform",
    "PullResult",
    "PushResult",
    "Reference",
    "RegistryClient",
    "host_platform",
    "load_credentials",
    "parse_reference",
    "pull",
    "push",
]
