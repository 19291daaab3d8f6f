"""The public surface of the image packages is pinned (STYLE rule 8)."""

import dockyard.image
import dockyard.image.snapshots
import dockyard.oci


def test_image_all() -> None:
    assert sorted(dockyard.image.__all__) == [
        "ContentStore", "ImageRecord", "ImageService", "ImageStore", "Info", "LayerBlob",
        "LayerRecord", "LocalContentStore", "Writer"]


def test_snapshots_all() -> None:
    assert sorted(dockyard.image.snapshots.__all__) == [
        "CopySnapshotter", "Mount", "OverlaySnapshotter", "SnapshotInfo", "Snapshotter",
        "mount_all", "new_snapshotter", "unmount"]


def test_oci_all() -> None:
    assert sorted(dockyard.oci.__all__) == [
        "Digest", "Platform", "Reference", "chain_id", "digest_bytes", "host_platform",
        "load_spec", "parse_digest", "parse_reference", "validate_spec"]
    for name in dockyard.oci.__all__:
        assert hasattr(dockyard.oci, name)
