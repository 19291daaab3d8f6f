"""Pins the registry package's public surface (STYLE.md rule 8)."""

import dockyard.registry


def test_registry_all() -> None:
    assert sorted(dockyard.registry.__all__) == [
        "BlobSink", "BlobSource", "Credentials", "Descriptor", "DigestMismatch",
        "FetchedManifest", "Platform", "PullResult", "PushResult", "Reference",
        "RegistryClient", "host_platform", "load_credentials", "parse_reference", "pull",
        "push",
    ]
    for name in dockyard.registry.__all__:
        assert hasattr(dockyard.registry, name)
