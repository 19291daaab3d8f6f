"""The mount flags parsed as Docker parses them; volume names; the local driver's options."""

from __future__ import annotations

import pytest

from dockyard.engine.mount_specs import (
    parse_mount,
    parse_tmpfs,
    parse_volume,
    parse_volumes_from,
    tmpfs_data,
)
from dockyard.engine.run_options import BindMount
from dockyard.engine.spec_mounts import bind_mount
from dockyard.errors import InvalidArgument, Unsupported
from dockyard.volume import parse_driver_options, validate_name


def test_volume_flag_kinds() -> None:
    v = parse_volume("data:/var/lib/mysql")
    assert (v.type, v.source, v.target, v.readonly, v.mode) == (
        "volume", "data", "/var/lib/mysql", False, "")
    b = parse_volume("/srv/x/:/x/:ro,rslave")
    assert (b.type, b.source, b.target, b.readonly, b.propagation, b.create_source) == (
        "bind", "/srv/x", "/x", True, "rslave", True)
    assert parse_volume("/host:/c").propagation == "rprivate"
    a = parse_volume("/scratch")
    assert (a.type, a.source, a.target) == ("volume", "", "/scratch")
    assert parse_volume("data:/d:nocopy").nocopy
    rel = parse_volume("data/x/")  # Docker keeps a relative anonymous path as typed
    assert (rel.type, rel.source, rel.target) == ("volume", "", "data/x")


@pytest.mark.parametrize(("raw", "why"), [
    ("/a:rw", "invalid volume specification: '/a:rw'"),
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    ("data:/d:rx", "invalid mode: rx"),
    ("data:/d:ro,rw", "invalid mode: ro,rw"),
    ("/h:/d:nocopy", "invalid volume specification: '/h:/d:nocopy': invalid mount config for "
                     'type "bind": field VolumeOptions must not be specified'),
    ("vv:/x:rslave", "invalid volume specification: 'vv:/x:rslave': invalid mount config for "
                     'type "volume": field BindOptions must not be specified'),
    ("data:rel", "invalid volume specification: 'data:rel': invalid mount config for type "
                 "\"volume\": invalid mount path: 'rel' mount path must be absolute"),
    ("data:/", "destination can't be '/'"),
    ("/", "destination can't be '/'"),
])
def test_volume_flag_errors(raw: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        parse_volume(raw)
    assert why in str(e.value)


def test_mount_flag() -> None:
    m = parse_mount("type=bind,source=/h,target=/c,readonly,bind-propagation=rshared")
    assert (m.type, m.source, m.target, m.readonly, m.propagation, m.create_source) == (
        "bind", "/h", "/c", True, "rshared", False)
    assert m.api == {"Type": "bind", "Source": "/h", "Target": "/c", "ReadOnly": True,
                     "BindOptions": {"Propagation": "rshared"}}
    v = parse_mount("type=volume,src=data,dst=/d,volume-nocopy,volume-label=a=b")
    assert (v.source, v.nocopy, v.volume_labels) == ("data", True, {"a": "b"})
    t = parse_mount("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770")
    assert tmpfs_data(t) == "size=64m,mode=1770"
    assert parse_mount("type=bind,src=/h,target=/c,ro=false").readonly is False
    assert parse_mount("target=/a").type == "volume"  # the CLI's default type


@pytest.mark.parametrize(("raw", "why"), [
    ("type=volume", "target is required"),
    ("type=bind,target=/a", 'invalid mount config for type "bind": field Source must not be '
                            "empty"),
    ("type=bind,src=rel,target=/a", "mount path must be absolute"),
    ("type=tmpfs,src=x,target=/a", "field Source must not be specified"),
    ("type=volume,target=/a,bind-propagation=rslave", "field BindOptions must not be"),
    ("type=volume,target=/a,tmpfs-size=1m", "field TmpfsOptions must not be"),
    ("type=nfs,target=/a", 'invalid mount config for type "nfs": mount type unknown'),
    ("type=volume,target=/a,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("type=volume,target=/a,volume-driver=flocker", 'plugin "flocker" not found'),
])
def test_mount_flag_errors(raw: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        parse_mount(raw)
    assert why in str(e.value)


def test_tmpfs_and_volumes_from() -> None:
    assert parse_tmpfs("/run:size=64m,mode=755") == ("/run", "size=64m,mode=755")
    assert parse_tmpfs("/run") == ("/run", "")
    with pytest.raises(InvalidArgument):
        parse_tmpfs("run")
    assert parse_volumes_from("c1") == ("c1", None)
    assert parse_volumes_from("c1:ro") == ("c1", True)
    assert parse_volumes_from("c1:rw") == ("c1", False)
    with pytest.raises(InvalidArgument, match="invalid mode: z"):
        parse_volumes_from("c1:z")


def test_oci_options_as_docker_writes_them() -> None:
    """A named volume is ``rbind`` alone; a host bind carries its propagation."""
    assert bind_mount(BindMount("/v/_data", "/data", propagation=""))["options"] == ["rbind"]
    assert bind_mount(BindMount("/h", "/c", readonly=True))["options"] == [
        "rbind", "ro", "rprivate"]


def test_volume_names() -> None:
    assert validate_name("my-vol_1.x") == "my-vol_1.x"
    for bad in ("a/b", "-lead", "has space", ""):
        with pytest.raises(InvalidArgument, match="includes invalid characters"):
            validate_name(bad)
    with pytest.raises(InvalidArgument, match="create x: volume name is too short"):
        validate_name("x")


def test_driver_options() -> None:
    opts = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    assert parse_driver_options("v", opts) == opts
    with pytest.raises(InvalidArgument, match='create v: invalid option: "colour"'):
        parse_driver_options("v", {"colour": "red"})
    with pytest.raises(InvalidArgument, match='create v: missing required option: "device"'):
        parse_driver_options("v", {"type": "tmpfs"})
    with pytest.raises(Unsupported):
        parse_driver_options("v", {"size": "1g"})


def test_volume_public_api() -> None:
    import dockyard.volume

    assert sorted(dockyard.volume.__all__) == [
        "LocalDriver", "VolumeRecord", "VolumeStore", "anonymous_name", "copy_tree",
        "is_empty_dir", "parse_driver_options", "validate_name"]
    assert all(hasattr(dockyard.volume, n) for n in dockyard.volume.__all__)
