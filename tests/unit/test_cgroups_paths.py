"""Mode detection and path computation from fixture mountinfo and /proc/self/cgroup text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockyard.errors import InvalidArgument, NotFound, Unsupported
from dockyard.runtime import cgroups
from dockyard.runtime.cgroups import build_manager, manager_from_paths
from dockyard.runtime.cgroups.paths import (
    clean_path,
    detect,
    parse_mountinfo,
    parse_proc_cgroup,
)

HYBRID = """\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

V2 = """\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 \
rw,nsdelegate,memory_recursiveprot
"""

V1_COMOUNTED = """\
31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
50 31 0:40 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids
"""

PROC_CGROUP = """\
9:name=systemd:/user.slice
8:pids:/
4:memory:/docker/abc/inner
2:cpu,cpuacct:/sys
0::/user.slice/session-1.scope
"""


def test_detect_hybrid() -> None:
    h = detect(HYBRID)
    assert h.mode == "hybrid"
    assert h.unified is not None and h.unified.mountpoint == "/sys/fs/cgroup/unified"
    assert set(h.v1) == {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                         "pids", "name=systemd"}


def test_detect_v2() -> None:
    h = detect(V2)
    assert h.mode == "v2" and h.v1 == {}
    assert h.unified is not None and h.unified.mountpoint == "/sys/fs/cgroup"


def test_detect_v2_wins_over_stray_named_v1_hierarchy() -> None:
    extra = "99 30 0:50 / /run/compat rw - cgroup cgroup rw,name=systemd\n"
    assert detect(V2 + extra).mode == "v2"


def test_detect_v1_comounted_and_escaped() -> None:
    h = detect(V1_COMOUNTED)
    assert h.mode == "v1" and h.unified is None
    assert h.v1["cpu"] is h.v1["cpuacct"]
    assert h.v1["cpu"].mountpoint == "/sys/fs/cgroup/cpu,cpuacct"
    assert h.v1["memory"].root == "/docker/abc"
    assert h.v1["pids"].mountpoint == "/sys/fs/cgroup/my dir"
    assert "xattr" not in h.v1


def test_detect_nothing_mounted() -> None:
    with pytest.raises(Unsupported, match="no cgroup filesystem"):
        detect("23 1 0:21 / /sys rw - sysfs sysfs rw\n")


def test_parse_mountinfo_skips_garbage() -> None:
    assert parse_mountinfo("garbage\n\n1 2 3\n") == []


def test_parse_proc_cgroup() -> None:
    own = parse_proc_cgroup(PROC_CGROUP)
    assert own == {"name=systemd": "/user.slice", "pids": "/", "memory": "/docker/abc/inner",
                   "cpu": "/sys", "cpuacct": "/sys", "": "/user.slice/session-1.scope"}


@pytest.mark.parametrize(("given", "want"), [
    ("", "/dockyard/c1"),
    ("/a/b", "/a/b"),
    ("/a/../../b", "/b"),
    ("//a//b/", "/a/b"),
    ("a/b", "a/b"),
    ("../../a", "a"),
    ("./a/./b", "a/b"),
])
def test_clean_path(given: str, want: str) -> None:
    assert clean_path(given, "c1") == want


@pytest.mark.parametrize("bad", ["/", "..", ".", "/.."])
def test_clean_path_rejects_root(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        clean_path(bad, "c1")


@pytest.mark.parametrize("cid", ["", "a/b", ".."])
def test_clean_path_rejects_bad_id(cid: str) -> None:
    with pytest.raises(InvalidArgument, match="container id"):
        clean_path("", cid)


def test_absolute_path_hybrid() -> None:
    m = build_manager(detect(HYBRID), {}, clean_path("", "c1"))
    p = m.paths()
    assert p["memory"] == "/sys/fs/cgroup/memory/dockyard/c1"
    assert p["name=systemd"] == "/sys/fs/cgroup/systemd/dockyard/c1"
    assert p["unified"] == "/sys/fs/cgroup/unified/dockyard/c1"
    assert len(p) == 10


def test_relative_path_follows_own_cgroup() -> None:
    own = parse_proc_cgroup(PROC_CGROUP)
    p = build_manager(detect(V1_COMOUNTED), own, clean_path("ctr", "x")).paths()
    # memory is mounted with root /docker/abc: own path is taken relative to it
    assert p["memory"] == "/sys/fs/cgroup/memory/inner/ctr"
    assert p["cpu"] == p["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct/sys/ctr"
    assert p["name=systemd"] == "/sys/fs/cgroup/systemd/user.slice/ctr"
    assert p["pids"] == "/sys/fs/cgroup/my dir/ctr"
    assert "unified" not in p


def test_relative_path_without_own_entry() -> None:
    with pytest.raises(NotFound, match="no entry"):
        build_manager(detect(V1_COMOUNTED), {}, "ctr")


def test_relative_path_v2() -> None:
    own = parse_proc_cgroup(PROC_CGROUP)
    m = build_manager(detect(V2), own, "ctr")
    assert m.paths() == {"unified": "/sys/fs/cgroup/user.slice/session-1.scope/ctr"}


def test_relative_path_outside_mount_root() -> None:
    with pytest.raises(NotFound, match="outside the hierarchy"):
        own = {"memory": "/other", "cpu": "/", "cpuacct": "/", "pids": "/",
               "name=systemd": "/"}
        build_manager(detect(V1_COMOUNTED), own, "ctr")


def test_same_arguments_same_manager() -> None:
    h = detect(HYBRID)
    a = build_manager(h, {}, clean_path("/x/y", "c")).paths()
    b = build_manager(h, {}, clean_path("/x/y", "c")).paths()
    assert a == b
    assert manager_from_paths(h, a).paths() == a


def test_from_paths_v2() -> None:
    h = detect(V2)
    m = manager_from_paths(h, {"unified": "/sys/fs/cgroup/dockyard/c"})
    assert m.paths() == {"unified": "/sys/fs/cgroup/dockyard/c"}


@pytest.mark.parametrize("paths", [
    {"memory": "/etc/passwd"},
    {"memory": "/sys/fs/cgroup/memory/../../../etc"},
    {"bogus": "/sys/fs/cgroup/memory/x"},
    {"memory": "/sys/fs/cgroup/memory"},
])
def test_from_paths_rejects_outside(paths: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument):
        manager_from_paths(detect(HYBRID), paths)


def test_public_surface() -> None:
    assert sorted(cgroups.__all__) == ["CgroupError", "cgroup_mode", "open_manager",
                                       "prime_migration"]


def test_import_does_not_load_typing() -> None:
    code = ("import sys, dockyard.runtime.cgroups; "
            "print(sorted(m for m in ('typing', 'dataclasses') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
