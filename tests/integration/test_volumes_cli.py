"""Volumes and mounts end to end: ``volume`` verbs, ``run -v/--mount/--tmpfs/--volumes-from``,
``rm -v``, ``run --rm``, with real files and real containers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Dy

pytestmark = pytest.mark.integration


def _names(cli: Dy, *args: str) -> list[str]:
    return cli("volume", "ls", "-q", *args, check=True).stdout.split()


def _mounted(path: Path | str) -> bool:
    return str(path) in Path("/proc/self/mountinfo").read_text()


def _inspect_mounts(cli: Dy, cid: str) -> list[dict[str, object]]:
    """The container's ``.Mounts`` as ``inspect`` shows them."""
    points = json.loads(cli("inspect", "-f", "{{json .Mounts}}", cid, check=True).stdout)
    assert isinstance(points, list)
    return sorted(points, key=lambda p: str(p["Destination"]))


# --- the volume verbs ----------------------------------------------------------------

def test_volume_create_inspect_ls_rm(cli: Dy, root: Path) -> None:
    assert cli("volume", "create", "--label", "team=a", "vol1", check=True).stdout == "vol1\n"
    assert cli("volume", "create", "--name", "vol2", check=True).stdout == "vol2\n"
    r = cli("volume", "inspect", "vol1", check=True)
    [info] = json.loads(r.stdout)
    assert list(info) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                          "Scope"]
    assert info["Driver"] == "local" and info["Scope"] == "local"
    assert info["Labels"] == {"team": "a"} and info["Options"] is None
    assert info["Mountpoint"] == str(root / "volumes" / "vol1" / "_data")
    assert os.path.isdir(info["Mountpoint"])
    ls = cli("volume", "ls", check=True).stdout.splitlines()
    assert ls == ["DRIVER    VOLUME NAME", "local     vol1", "local     vol2"]
    assert _names(cli, "--filter", "label=team=a") == ["vol1"]
    assert _names(cli, "--filter", "name=2") == ["vol2"]
    assert cli("volume", "ls", "--format", "{{.Name}}:{{.Driver}}",
               check=True).stdout == "vol1:local\nvol2:local\n"
    assert cli("volume", "inspect", "-f", "{{.Name}} {{.Labels}} {{.Options}}", "vol2",
               check=True).stdout == "vol2 map[] map[]\n"  # nil maps, as Go prints them
    assert cli("inspect", "-f", "{{.Name}} {{.Scope}}", "vol1",
               check=True).stdout == "vol1 local\n"
    r = cli("inspect", "--type", "volume", "nope")
    assert r.returncode == 1 and r.stderr == "Error: No such volume: nope\n"
    r = cli("volume", "inspect", "nope")
    assert r.returncode == 1 and r.stdout == "[]\n"
    assert r.stderr == "Error response from daemon: get nope: no such volume\n"
    assert cli("volume", "rm", "vol1", "vol2", check=True).stdout == "vol1\nvol2\n"
    assert _names(cli) == []
    assert not (root / "volumes" / "vol1").exists()
    r = cli("volume", "rm", "vol1")
    assert r.returncode == 1
    assert r.stderr == "Error response from daemon: get vol1: no such volume\n"
    assert cli("volume", "rm", "-f", "vol1").returncode == 0


def test_volume_bad_names(cli: Dy, busybox: str) -> None:
    want = ('"a/b" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed')
    r = cli("volume", "create", "a/b")
    assert r.returncode == 1 and want in r.stderr
    r = cli("run", "--rm", "-v", "a/b:/data", "busybox", "true")
    assert r.returncode == 125 and want in r.stderr
    r = cli("volume", "create", "-o", "bogus=1", "x1")
    assert r.returncode == 1 and 'create x1: invalid option: "bogus"' in r.stderr
    assert _names(cli) == [] and cli("ps", "-aq").stdout == ""
    for args, want in ((("ls", "--filter", "dangling=maybe"), "Invalid filter 'dangling=[maybe]'"),
                       (("ls", "--filter", "colour=red"), "Invalid filter 'colour'"),
                       (("ls", "--format", "{{.Bad"), "template parsing error"),
                       (("create", "-d", "nfs", "v9"), 'plugin "nfs" not found')):
        r = cli("volume", *args)
        assert r.returncode == 1 and want in r.stderr and len(r.stderr.splitlines()) == 1
    r = cli("volume", "create", "--label")
    assert r.returncode == 125 and "expected one argument" in r.stderr


def test_volume_anonymous_name_and_prune(cli: Dy, busybox: str) -> None:
    generated = cli("volume", "create", check=True).stdout.strip()
    assert len(generated) == 64  # generated, not anonymous: Docker 23 prunes it with -a only
    cli("volume", "create", "named", check=True)
    cli("run", "-v", "/old", "busybox", "true", check=True)
    cli("rm", *cli("ps", "-aq").stdout.split(), check=True)  # without -v: its volume stays
    [anon] = [n for n in _names(cli) if n not in (generated, "named")]
    cid = cli("run", "-d", "-v", "/data", "busybox", "sleep", "100", check=True).stdout.strip()
    used = [n for n in _names(cli) if n not in (anon, generated, "named")]
    assert len(used) == 1
    dangling = _names(cli, "--filter", "dangling=true")
    assert sorted(dangling) == sorted([anon, generated, "named"])
    assert _names(cli, "--filter", "dangling=false") == used
    r = cli("volume", "prune", "-f", check=True)  # Docker 23: anonymous, unused only
    assert r.stdout.startswith(f"Deleted Volumes:\n{anon}\n\n")
    assert "Total reclaimed space:" in r.stdout
    assert sorted(_names(cli)) == sorted([generated, "named", *used])
    r = cli("volume", "prune", input="n\n", check=True)
    assert "Are you sure you want to continue? [y/N]" in r.stdout
    cli("volume", "prune", "-a", "-f", check=True)
    assert _names(cli) == used
    cli("rm", "-f", cid, check=True)


# --- named volumes, anonymous volumes, removal -------------------------------------------

def test_named_volume_written_then_read_then_ro(cli: Dy, busybox: str, root: Path) -> None:
    cli("run", "--rm", "-v", "shared:/data", "busybox", "sh", "-c",
        "echo hello > /data/f", check=True)
    assert (root / "volumes" / "shared" / "_data" / "f").read_text() == "hello\n"
    r = cli("run", "--rm", "-v", "shared:/data", "busybox", "cat", "/data/f", check=True)
    assert r.stdout == "hello\n"
    r = cli("run", "--rm", "-v", "shared:/data:ro", "busybox", "sh", "-c",
            "cat /data/f; echo x > /data/g")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert r.stdout == "hello\n"
    r = cli("run", "--rm", "--mount", "type=volume,source=shared,target=/d,readonly",
            "busybox", "touch", "/d/z")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert _names(cli) == ["shared"]  # named volumes survive run --rm


#: What the engine bind-mounts into every container's /etc (their mount points land in a
#: volume mounted at /etc, as with Docker).
ETC_FILES = {"hostname", "hosts", "resolv.conf"}


def _without_etc_files(names: list[str]) -> list[str]:
    return sorted(n for n in names if n not in ETC_FILES)


def test_seeded_from_image_first_time_only(cli: Dy, busybox: str, root: Path) -> None:
    r = cli("run", "--rm", "-v", "etcvol:/etc", "busybox", "sh", "-c",
            "cat /etc/group; echo extra > /etc/extra; rm /etc/passwd", check=True)
    assert r.stdout.startswith("root:x:0:")
    data = root / "volumes" / "etcvol" / "_data"
    assert _without_etc_files(os.listdir(data)) == ["extra", "group"]
    r = cli("run", "--rm", "-v", "etcvol:/etc", "busybox", "ls", "/etc", check=True)
    # not seeded again: it is not empty
    assert _without_etc_files(r.stdout.split()) == ["extra", "group"]
    st = os.stat(data / "group")
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o644)
    r = cli("run", "--rm", "-v", "fresh:/etc:nocopy", "busybox", "ls", "-A", "/etc",
            check=True)
    assert _without_etc_files(r.stdout.split()) == []
    r = cli("run", "--rm", "--mount", "type=volume,src=fresh2,dst=/bin,volume-nocopy",
            "busybox", "true")
    assert r.returncode == 127  # an empty /bin: no true to run


def test_image_volumes_and_rm_v(cli: Dy, root: Path, busybox_tar: Path) -> None:
    cli("import", "-c", "VOLUME /etc", str(busybox_tar), "bbvol", check=True)
    cid = cli("run", "-d", "-v", "keep:/keep", "-v", "scratch", "bbvol", "sh", "-c",
              "ls /etc > /etc/listing; touch /scratch/ok", check=True).stdout.strip()
    points = _inspect_mounts(cli, cid)
    by_dest = {p["Destination"]: p for p in points}
    assert set(by_dest) == {"/etc", "/keep", "scratch"}  # relative, as Docker keeps it
    anon = str(by_dest["/etc"]["Name"])
    assert len(anon) == 64 and by_dest["/etc"]["Mode"] == ""
    assert by_dest["/keep"] == {
        "Type": "volume", "Name": "keep", "Source": str(root / "volumes/keep/_data"),
        "Destination": "/keep", "Driver": "local", "Mode": "z", "RW": True,
        "Propagation": ""}
    names = set(_names(cli))
    assert names == {anon, "keep", str(by_dest["scratch"]["Name"])}
    assert (root / "volumes" / anon / "_data" / "group").exists()  # seeded from the image
    _wait_exited(cli, cid)
    assert (Path(str(by_dest["scratch"]["Source"])) / "ok").exists()
    r = cli("volume", "rm", anon)
    assert r.returncode == 1 and f"volume is in use - [{cid}]" in r.stderr
    cli("rm", "-v", cid, check=True)
    assert _names(cli) == ["keep"]  # rm -v: anonymous ones go, named ones stay


def test_rm_without_v_keeps_anonymous_run_rm_removes(cli: Dy, busybox: str) -> None:
    cli("run", "-v", "/a", "busybox", "true", check=True)
    [cid] = cli("ps", "-aq").stdout.split()
    cli("rm", cid, check=True)
    assert len(_names(cli)) == 1
    cli("volume", "prune", "-f", check=True)
    cli("run", "--rm", "-v", "/b", "--mount", "type=volume,target=/c", "busybox", "true",
        check=True)
    assert _names(cli) == []


def test_detached_rm_removes_anonymous_volumes(cli: Dy, busybox: str) -> None:
    cid = cli("run", "-d", "--rm", "-v", "/anon", "-v", "kept3:/k", "busybox", "true",
              check=True).stdout.strip()
    import time

    for _ in range(200):
        if cid not in cli("ps", "-aq", "--no-trunc").stdout:
            break
        time.sleep(0.05)
    assert cid not in cli("ps", "-aq", "--no-trunc").stdout
    for _ in range(100):  # the monitor removes the volumes just after the record
        if _names(cli) == ["kept3"]:
            break
        time.sleep(0.05)
    assert _names(cli) == ["kept3"]


def test_in_use_volume_refused_unless_forced(cli: Dy, busybox: str) -> None:
    cid = cli("run", "-d", "-v", "busy:/data", "busybox", "sleep", "100",
              check=True).stdout.strip()
    r = cli("volume", "rm", "busy")
    assert r.returncode == 1
    assert r.stderr == f"Error response from daemon: remove busy: volume is in use - [{cid}]\n"
    assert _names(cli) == ["busy"]
    cli("rm", "-f", cid, check=True)
    cid = cli("run", "-d", "-v", "busy:/data", "busybox", "sleep", "100",
              check=True).stdout.strip()
    assert cli("volume", "rm", "-f", "busy", check=True).stdout == "busy\n"
    assert _names(cli) == []
    cli("rm", "-f", cid, check=True)


def test_volumes_from(cli: Dy, busybox: str, root: Path) -> None:
    src = cli("run", "-d", "--name", f"vsrc{os.getpid()}", "-v", "vf:/data", "--mount",
              "type=tmpfs,target=/tt,tmpfs-size=3m", "busybox",
              "sh", "-c", "echo from-src > /data/f; sleep 100", check=True).stdout.strip()
    _wait_file(cli, src, "/data/f")
    r = cli("run", "--rm", "--volumes-from", f"vsrc{os.getpid()}", "busybox", "cat",
            "/data/f", check=True)
    assert r.stdout == "from-src\n"
    r = cli("run", "--rm", "--volumes-from", src, "busybox", "sh", "-c",
            "df -k /tt | tail -1", check=True)
    assert r.stdout.split()[:2] == ["tmpfs", "3072"]
    r = cli("run", "--rm", "--volumes-from", f"{src[:12]}:ro", "busybox", "sh", "-c",
            "echo no > /data/f")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    other = cli("create", "-v", "vfempty:/etc:nocopy", "busybox", "true",
                check=True).stdout.strip()
    cli("run", "--rm", "--volumes-from", other, "busybox", "true", check=True)
    assert not (root / "volumes" / "vfempty" / "_data" / "passwd").exists()  # not seeded
    cli("rm", other, check=True)
    r = cli("run", "--rm", "--volumes-from", "nosuch", "busybox", "true")
    assert r.returncode == 125 and "No such container: nosuch" in r.stderr


# --- binds and tmpfs ---------------------------------------------------------------

def test_bind_mounts_both_ways(cli: Dy, busybox: str, tmp_path: Path, root: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "in").write_text("from host\n")
    r = cli("run", "--rm", "-v", f"{host}:/h", "busybox", "sh", "-c",
            "cat /h/in; echo from ctr > /h/out", check=True)
    assert r.stdout == "from host\n" and (host / "out").read_text() == "from ctr\n"
    r = cli("run", "--rm", "-v", f"{host}:/h:ro", "busybox", "touch", "/h/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = cli("run", "--rm", "--mount", f"type=bind,source={host},target=/h,readonly",
            "busybox", "cat", "/h/in", check=True)
    assert r.stdout == "from host\n"
    missing = tmp_path / "made" / "by" / "v"
    cli("run", "--rm", "-v", f"{missing}:/m", "busybox", "touch", "/m/f", check=True)
    assert (missing / "f").exists()  # -v creates a missing host path
    absent = tmp_path / "absent"
    r = cli("run", "--rm", "--mount", f"type=bind,source={absent},target=/m", "busybox",
            "true")
    assert r.returncode == 125
    assert (f'invalid mount config for type "bind": bind source path does not exist: '
            f"{absent}") in r.stderr
    assert not absent.exists() and cli("ps", "-aq").stdout == ""
    cid = cli("run", "-d", "-v", f"{host}:/h:ro", "busybox", "sleep", "100",
              check=True).stdout.strip()
    [p] = _inspect_mounts(cli, cid)
    assert p == {"Type": "bind", "Source": str(host), "Destination": "/h", "Mode": "ro",
                 "RW": False, "Propagation": "rprivate"}


@pytest.fixture
def tmpfs_dirs(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A shared and a private tmpfs mount, unmounted at the end whatever happens."""
    from dockyard.linux import mount as m

    made = []
    try:
        for name, flag in (("shared", m.MS_SHARED), ("private", m.MS_PRIVATE)):
            d = tmp_path / name
            d.mkdir()
            m.mount("tmpfs", str(d), "tmpfs", 0, "size=1m")
            made.append(d)
            m.mount(None, str(d), None, flag)
        yield made[0], made[1]
    finally:
        for d in made:
            m.umount2(str(d), m.MNT_DETACH)


def test_bind_propagation_needs_a_shared_source(cli: Dy, busybox: str, root: Path,
                                                tmpfs_dirs: tuple[Path, Path]) -> None:
    shared, private = tmpfs_dirs
    cid = cli("run", "-d", "-v", f"{shared}:/h:ro,rslave", "--mount",
              f"type=bind,src={shared},dst=/s,bind-propagation=rshared", "busybox", "sleep",
              "100", check=True).stdout.strip()
    points = _inspect_mounts(cli, cid)
    assert [(p["Destination"], p["Mode"], p["Propagation"]) for p in points] == [
        ("/h", "ro,rslave", "rslave"), ("/s", "", "rshared")]
    cli("rm", "-f", cid, check=True)
    r = cli("run", "--rm", "-v", f"{private}:/h:rslave", "busybox", "true")
    assert r.returncode == 125
    assert f"path {private} is mounted on {private} but it is not a shared or slave mount" \
        in r.stderr
    r = cli("run", "--rm", "--mount", f"type=bind,src={private},dst=/h,bind-propagation=shared",
            "busybox", "true")
    assert r.returncode == 125 and "but it is not a shared mount" in r.stderr


def test_tmpfs_empty_at_each_start_and_sized(cli: Dy, busybox: str) -> None:
    for _ in range(2):
        r = cli("run", "--rm", "--tmpfs", "/run:size=1m", "busybox", "sh", "-c",
                "ls -A /run; touch /run/x; df -k /run | tail -1", check=True)
        fields = r.stdout.split()
        assert fields[0] == "tmpfs" and fields[1] == "1024"
    r = cli("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=2m", "busybox",
            "sh", "-c", "df -k /t | tail -1", check=True)
    assert r.stdout.split()[:2] == ["tmpfs", "2048"]


def test_bad_mount_flags(cli: Dy, busybox: str) -> None:
    cases = {
        ("-v", "/a:rw"): "invalid volume specification: '/a:rw'",
        ("-v", "xx:/a:bogus"): "invalid mode: bogus",
        ("-v", "xx:rel"): "mount path must be absolute",
        ("--mount", "type=bind,target=/a"): "field Source must not be empty",
        ("--mount", "type=volume,src=xx"): "target is required",
        ("--mount", "type=volume,target=/a,foo=1"): "unexpected key 'foo'",
        ("--mount", "type=tmpfs,src=x,target=/a"): "field Source must not be specified",
        ("-v", "xx:/a", "--mount", "type=tmpfs,target=/a"): "Duplicate mount point: /a",
    }
    for flags, want in cases.items():
        r = cli("run", "--rm", *flags, "busybox", "true")
        assert r.returncode == 125, (flags, r.stderr)
        assert want in r.stderr, (flags, r.stderr)
    assert _names(cli) == [] and cli("ps", "-aq").stdout == ""


def test_driver_options_tmpfs_volume_mounted_while_running(cli: Dy, busybox: str,
                                                          root: Path) -> None:
    cli("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m",
        "tv", check=True)
    [info] = json.loads(cli("volume", "inspect", "tv", check=True).stdout)
    assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    data = root / "volumes" / "tv" / "_data"
    r = cli("run", "--rm", "-v", "tv:/t", "busybox", "sh", "-c",
            "echo x > /t/f; df -k /t | tail -1", check=True)
    assert r.stdout.split()[:2] == ["tmpfs", "1024"]
    assert not _mounted(data)
    r = cli("run", "--rm", "-v", "tv:/t", "busybox", "ls", "-A", "/t", check=True)
    assert r.stdout == ""  # a fresh tmpfs each time it is mounted
    cid = cli("run", "-d", "-v", "tv:/t", "busybox", "sleep", "100", check=True).stdout.strip()
    assert _mounted(data)
    cli("rm", "-f", cid, check=True)
    _wait_unmounted(data)
    cli("volume", "rm", "tv", check=True)


def test_nothing_left_mounted(cli: Dy, busybox: str, root: Path, tmp_path: Path) -> None:
    host = tmp_path / "h"
    cli("run", "--rm", "-v", "n1:/a", "-v", f"{host}:/b", "-v", "/c", "--tmpfs", "/d",
        "--mount", "type=tmpfs,target=/e", "busybox", "true", check=True)
    cid = cli("run", "-d", "-v", "n1:/a", "busybox", "true", check=True).stdout.strip()
    _wait_exited(cli, cid)
    cli("rm", "-v", cid, check=True)
    text = Path("/proc/self/mountinfo").read_text()
    assert str(root) not in text and str(host) not in text


def test_system_df_and_prune_volumes(cli: Dy, busybox: str) -> None:
    cli("run", "--rm", "-v", "dfv:/data", "busybox", "sh", "-c",
        "head -c 5000 /dev/zero > /data/f", check=True)
    r = cli("system", "df", check=True)
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("Local Volumes"))
    assert line.split()[2:5] == ["1", "0", "5kB"]
    r = cli("system", "prune", "-f", "--volumes", check=True)
    assert "Deleted Volumes:\n" not in r.stdout  # named: kept (Docker 23)
    cli("run", "-v", "/anon", "busybox", "true", check=True)
    r = cli("system", "prune", "-f", "--volumes", check=True)
    assert "Deleted Containers:\n" in r.stdout
    assert "Deleted Volumes:\n" in r.stdout
    assert _names(cli) == ["dfv"]


# --- helpers ---------------------------------------------------------------------------

def _wait_exited(cli: Dy, cid: str) -> None:
    import time

    for _ in range(200):
        if cid not in cli("ps", "-q", "--no-trunc").stdout:
            return
        time.sleep(0.05)
    raise AssertionError(f"{cid} still running")


def _wait_file(cli: Dy, cid: str, path: str) -> None:
    import time

    for _ in range(200):
        if cli("run", "--rm", "--volumes-from", cid, "busybox", "test", "-e",
               path).returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _wait_unmounted(path: Path) -> None:
    import time

    for _ in range(200):
        if not _mounted(path):
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} still mounted")


def test_create_start_tmpfs_empty_each_start_volume_kept(cli: Dy, busybox: str,
                                                         root: Path) -> None:
    cid = cli("create", "--tmpfs", "/run", "-v", "keep2:/keep", "busybox", "sh", "-c",
              "echo run >> /keep/log; ls -A /run >> /keep/log; touch /run/stale",
              check=True).stdout.strip()
    assert _names(cli) == ["keep2"]
    for _ in range(2):
        cli("start", cid, check=True)
        assert cli("wait", cid, check=True).stdout == "0\n"
    assert (root / "volumes" / "keep2" / "_data" / "log").read_text() == "run\nrun\n"
    cli("rm", "-v", cid, check=True)
    assert _names(cli) == ["keep2"]


def test_driver_mounted_volume_unmounted_after_exit(cli: Dy, busybox: str,
                                                    root: Path) -> None:
    cli("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "tv2", check=True)
    cid = cli("run", "-d", "-v", "tv2:/t", "busybox", "sh", "-c", "sleep 1; echo x > /t/f",
              check=True).stdout.strip()
    assert cli("wait", cid, check=True).stdout == "0\n"
    _wait_unmounted(root / "volumes" / "tv2" / "_data")
    assert os.listdir(root / "volumes" / "tv2" / "_data") == []
    r = cli("volume", "rm", "tv2")
    assert r.returncode == 1 and "volume is in use" in r.stderr
    cli("rm", cid, check=True)
    cli("volume", "rm", "tv2", check=True)


def test_config_json_mounts_as_docker_writes_them(cli: Dy, busybox: str, root: Path,
                                                  tmp_path: Path) -> None:
    host = tmp_path / "hb"
    cid = cli("create", "-v", "cfgvol:/data", "-v", f"{host}:/b:ro", "--mount",
              "type=tmpfs,target=/t,tmpfs-size=1m", "busybox", "true",
              check=True).stdout.strip()
    spec = json.loads((root / "containers" / cid / "config.json").read_text())
    by_dest = {m["destination"]: m for m in spec["mounts"]}
    assert by_dest["/data"] == {"destination": "/data", "type": "bind",
                                "source": str(root / "volumes/cfgvol/_data"),
                                "options": ["rbind"]}
    assert by_dest["/b"] == {"destination": "/b", "type": "bind", "source": str(host),
                             "options": ["rbind", "ro", "rprivate"]}
    assert by_dest["/t"]["type"] == "tmpfs" and "size=1m" in by_dest["/t"]["options"]
    hc = json.loads(cli("inspect", "-f", "{{json .HostConfig}}", cid, check=True).stdout)
    assert "DockyardMountPoints" not in hc
    assert hc["Binds"] == ["cfgvol:/data", f"{host}:/b:ro"]
    assert hc["Mounts"] == [{"Type": "tmpfs", "Source": "", "Target": "/t",
                             "TmpfsOptions": {"SizeBytes": 1 << 20}}]
    cli("rm", cid, check=True)


def test_parallel_runs_share_one_new_volume_seeded_once(cli: Dy, busybox: str,
                                                        root: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> int:
        return cli("run", "--rm", "-v", "par:/etc", "busybox", "sh", "-c",
                   f"echo {i} >> /etc/log").returncode

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(one, range(4))) == [0, 0, 0, 0]
    data = root / "volumes" / "par" / "_data"
    assert sorted((data / "log").read_text().split()) == ["0", "1", "2", "3"]
    assert (data / "passwd").read_text().startswith("root:x:0:0:")
    assert _names(cli) == ["par"]
