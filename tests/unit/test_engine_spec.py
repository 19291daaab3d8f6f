"""engine.spec: a ``docker run`` request -> the config.json dockerd 20.10 generates."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.profiles import default_seccomp_profile
from dockyard.engine.run_options import (
    BindMount,
    RunOptions,
    parse_env_file,
    parse_size,
    parse_ulimit,
)
from dockyard.engine.spec import (
    ALL_CAPABILITIES,
    DEFAULT_CAPABILITIES,
    build_spec,
    entrypoint_and_args,
)
from dockyard.engine.spec_mounts import merge_tmpfs_options
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci.runtime_spec import validate_spec

#: What dockerd 20.10 generated for ``docker run -d -p 127.0.0.1:18099:80 -e FOO=bar -v refvol:/data
#: --memory 64m --cpus 0.5 --pids-limit 100 busybox sleep 300`` (Debian's docker.io, runc 1.1).
REFERENCE = Path(__file__).parent / "data" / "docker-run-oci-config.json"
ID = "a36e5fc671fb81ea7bd9788f9ea17adad442736937222beff55888013c3ab9a5"
BUSYBOX = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
           "Cmd": ["sh"]}
PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
app:x:1000:1000::/home/app:/bin/sh
"""
GROUP = """root:x:0:
daemon:x:1:
tty:x:5:
www-data:x:33:
audio:x:29:app,www-data
video:x:44:app
app:x:1000:
"""


@pytest.fixture
def rootfs(tmp_path: Path) -> str:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    return str(root)


def build(opts: RunOptions, rootfs: str, image: dict[str, Any] | None = None,
          **kw: Any) -> dict[str, Any]:
    spec = build_spec(opts, BUSYBOX if image is None else image, rootfs, container_id=ID, **kw)
    validate_spec(copy.deepcopy(spec), os.path.dirname(rootfs))
    json.dumps(spec)  # serialisable as config.json
    return spec  # type: ignore[return-value]


def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    return data


# -- the headline: the reference run ------------------------------------------------------------

def test_matches_the_reference_run(rootfs: str) -> None:
    ref = reference()
    opts = RunOptions(cmd=["sleep", "300"], env=["FOO=bar"], memory="64m", cpus="0.5",
                      pids_limit=100)
    etc = {n: f"/var/lib/dockyard/containers/{ID}/{n}" for n in ("resolv.conf", "hostname",
                                                                  "hosts")}
    spec = build(opts, rootfs,
                 binds=[BindMount("/var/lib/dockyard/volumes/refvol/_data", "/data",
                                  propagation="")],
                 etc_files=etc)

    host_specific = {"root", "hostname", "hooks"}
    assert set(spec) - host_specific == set(ref) - host_specific
    assert spec["ociVersion"] == ref["ociVersion"]
    assert spec["hostname"] == ID[:12] == ref["hostname"]
    assert spec["root"] == {"path": rootfs}
    assert spec["process"] == ref["process"]

    assert len(spec["mounts"]) == len(ref["mounts"])
    for ours, theirs in zip(spec["mounts"], ref["mounts"], strict=True):
        assert ours["destination"] == theirs["destination"]
        assert ours["type"] == theirs["type"]
        assert ours["options"] == theirs["options"], ours["destination"]
        if theirs["type"] != "bind":
            assert ours["source"] == theirs["source"]

    lin, rlin = spec["linux"], ref["linux"]
    assert set(lin) == set(rlin)
    for key in ("sysctl", "resources", "namespaces", "maskedPaths", "readonlyPaths", "seccomp"):
        assert lin[key] == rlin[key], key
    assert lin["cgroupsPath"] == f"/dockyard/{ID}"
    assert "rlimits" not in spec["process"]  # Docker sets none unless --ulimit


def test_default_seccomp_is_the_engine_profile(rootfs: str) -> None:
    spec = build(RunOptions(), rootfs)
    assert spec["linux"]["seccomp"] == default_seccomp_profile()
    assert spec["process"]["args"] == ["sh"]
    assert spec["process"]["env"][:2] == [BUSYBOX["Env"][0], f"HOSTNAME={ID[:12]}"]


# -- args -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "entrypoint", "cmd", "args"), [
    ({"Cmd": ["sh"]}, None, [], ["sh"]),
    ({"Cmd": ["sh"]}, None, ["echo", "hi"], ["echo", "hi"]),
    ({"Entrypoint": ["/ep"], "Cmd": ["a"]}, None, [], ["/ep", "a"]),
    ({"Entrypoint": ["/ep"], "Cmd": ["a"]}, None, ["b"], ["/ep", "b"]),
    ({"Entrypoint": ["/ep"], "Cmd": ["a"]}, "/new", [], ["/new"]),
    ({"Entrypoint": ["/ep"], "Cmd": ["a"]}, "/new", ["b"], ["/new", "b"]),
    ({"Entrypoint": ["/ep"], "Cmd": ["a"]}, "", ["b", "c"], ["b", "c"]),
    ({"Entrypoint": ["/ep"]}, None, [], ["/ep"]),
    ({"Cmd": ["sh"]}, "sh -c", [], ["sh -c"]),  # not split, as the CLI does
])
def test_entrypoint_and_cmd(image: dict[str, Any], entrypoint: str | None, cmd: list[str],
                            args: list[str]) -> None:
    assert entrypoint_and_args(RunOptions(entrypoint=entrypoint, cmd=cmd), image) == args


@pytest.mark.parametrize(("image", "entrypoint"), [({}, None), ({"Cmd": ["sh"]}, "")])
def test_no_command(image: dict[str, Any], entrypoint: str | None) -> None:
    with pytest.raises(InvalidArgument, match="No command specified"):
        entrypoint_and_args(RunOptions(entrypoint=entrypoint), image)


def test_init_wraps_args(rootfs: str) -> None:
    spec = build(RunOptions(init=True, cmd=["top"]), rootfs, init_path="/usr/bin/docker-init")
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "top"]
    assert spec["mounts"][-1] == {"destination": "/sbin/docker-init", "type": "bind",
                                  "source": "/usr/bin/docker-init", "options": ["bind", "ro"]}


# -- env, cwd, hostname -----------------------------------------------------------------------

def test_env_order_and_overrides(rootfs: str) -> None:
    image = {"Env": ["PATH=/img/bin", "A=image", "B=image"], "Cmd": ["sh"]}
    opts = RunOptions(env=["B=user", "C=user", "PATH=/user/bin"], env_file=["A=file\n# c\n\n"],
                      tty=True, hostname="box")
    env = build(opts, rootfs, image)["process"]["env"]
    assert env == ["PATH=/user/bin", "HOSTNAME=box", "TERM=xterm", "A=file", "B=user", "C=user"]


def test_env_without_image_path_and_unset(rootfs: str) -> None:
    env = build(RunOptions(env=["HOSTNAME"]), rootfs, {"Cmd": ["sh"]})["process"]["env"]
    assert env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_env_file_takes_bare_names_from_the_client(rootfs: str) -> None:
    spec = build(RunOptions(env_file=["FROMCLIENT\nNOTSET\n"], env=["BARE"]), rootfs,
                 client_env={"FROMCLIENT": "yes", "BARE": "b"})
    assert spec["process"]["env"][-2:] == ["FROMCLIENT=yes", "BARE=b"]
    assert not any(e.startswith("NOTSET") for e in spec["process"]["env"])
    with pytest.raises(InvalidArgument, match="invalid environment variable: =x"):
        build(RunOptions(env=["=x"]), rootfs)


def test_env_file_parsing() -> None:
    text = "  # comment\nA=1\nB= spaced \nFROMHOST\nMISSING\n\n"
    assert parse_env_file(text, {"FROMHOST": "h"}) == ["A=1", "B= spaced ", "FROMHOST=h"]
    with pytest.raises(InvalidArgument, match="contains whitespaces"):
        parse_env_file("BAD KEY=1")


def test_workdir_and_hostname(rootfs: str) -> None:
    spec = build(RunOptions(workdir="/srv//app/"), rootfs, {"Cmd": ["sh"], "WorkingDir": "/w"})
    assert spec["process"]["cwd"] == "/srv/app"
    assert build(RunOptions(), rootfs, {"Cmd": ["sh"], "WorkingDir": "/w"})["process"]["cwd"] \
        == "/w"
    assert build(RunOptions(), rootfs, hostname="given")["hostname"] == "given"
    with pytest.raises(InvalidArgument, match="needs to be an absolute path"):
        build(RunOptions(workdir="rel"), rootfs)


# -- user ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("user", "expected"), [
    ("", {"uid": 0, "gid": 0, "additionalGids": [0]}),
    ("root", {"uid": 0, "gid": 0, "additionalGids": [0]}),
    ("app", {"uid": 1000, "gid": 1000, "additionalGids": [1000, 29, 44]}),
    ("1000", {"uid": 1000, "gid": 1000, "additionalGids": [1000, 29, 44]}),
    ("app:www-data", {"uid": 1000, "gid": 33, "additionalGids": [33]}),
    ("33:5", {"uid": 33, "gid": 5, "additionalGids": [5]}),
    ("4242", {"uid": 4242, "gid": 0, "additionalGids": [0]}),
    ("4242:4343", {"uid": 4242, "gid": 4343, "additionalGids": [4343]}),
])
def test_user_resolution(rootfs: str, user: str, expected: dict[str, Any]) -> None:
    assert build(RunOptions(user=user), rootfs)["process"]["user"] == expected


def test_user_from_image_and_group_add(rootfs: str) -> None:
    spec = build(RunOptions(group_add=["audio", "777"]), rootfs, {"Cmd": ["sh"], "User": "app"})
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000,
                                       "additionalGids": [1000, 29, 44, 29, 777]}


def test_user_through_symlinked_etc(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "real").mkdir(parents=True)
    (root / "real/passwd").write_text(PASSWD)
    (root / "etc").symlink_to("/real")  # absolute: must resolve inside the rootfs
    spec = build(RunOptions(user="daemon"), str(root))
    assert spec["process"]["user"]["uid"] == 1


@pytest.mark.parametrize(("user", "message"), [
    ("nobody", "unable to find user nobody: no matching entries in passwd file"),
    ("app:nogroup", "unable to find group nogroup: no matching entries in group file"),
])
def test_unknown_user(rootfs: str, user: str, message: str) -> None:
    with pytest.raises(NotFound, match=message):
        build(RunOptions(user=user), rootfs)


# -- capabilities, privileged, security-opt ------------------------------------------------------

def test_cap_add_drop(rootfs: str) -> None:
    caps = build(RunOptions(cap_add=["net_admin", "CAP_SYS_TIME"], cap_drop=["MKNOD", "chown"]),
                 rootfs)["process"]["capabilities"]
    expected = [c for c in DEFAULT_CAPABILITIES if c not in ("CAP_MKNOD", "CAP_CHOWN")]
    assert caps["bounding"] == [*expected, "CAP_NET_ADMIN", "CAP_SYS_TIME"]
    assert caps["effective"] == caps["permitted"] == caps["bounding"]
    assert "inheritable" not in caps and "ambient" not in caps


def test_cap_all(rootfs: str) -> None:
    caps = build(RunOptions(cap_drop=["ALL"], cap_add=["kill"]), rootfs)["process"]["capabilities"]
    assert caps["bounding"] == ["CAP_KILL"]
    caps = build(RunOptions(cap_add=["all"], cap_drop=["sys_admin"]),
                 rootfs)["process"]["capabilities"]
    assert caps["bounding"] == [c for c in ALL_CAPABILITIES if c != "CAP_SYS_ADMIN"]


def test_unknown_capability(rootfs: str) -> None:
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_NOPE"'):
        build(RunOptions(cap_add=["nope"]), rootfs)


def test_privileged(rootfs: str) -> None:
    spec = build(RunOptions(privileged=True), rootfs)
    assert spec["process"]["capabilities"]["bounding"] == list(ALL_CAPABILITIES)
    lin = spec["linux"]
    assert "seccomp" not in lin and "maskedPaths" not in lin and "readonlyPaths" not in lin
    assert lin["resources"]["devices"][-1] == {"allow": True, "access": "rwm"}
    mounts = {m["destination"]: m["options"] for m in spec["mounts"]}
    assert "ro" not in mounts["/sys"] and "ro" not in mounts["/sys/fs/cgroup"]


def test_security_opts(rootfs: str, tmp_path: Path) -> None:
    spec = build(RunOptions(security_opt=["seccomp=unconfined", "no-new-privileges"]), rootfs)
    assert "seccomp" not in spec["linux"]
    assert spec["process"]["noNewPrivileges"] is True
    assert "noNewPrivileges" not in build(
        RunOptions(security_opt=["no-new-privileges=false"]), rootfs)["process"]
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                            "subArchitectures": ["SCMP_ARCH_X86"]},
                           {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []}],
               "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                            {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
                             "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                            {"names": ["chown"], "action": "SCMP_ACT_ERRNO",
                             "excludes": {"caps": ["CAP_CHOWN"]}}]}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    seccomp = build(RunOptions(security_opt=[f"seccomp={path}"]), rootfs)["linux"]["seccomp"]
    assert seccomp["defaultAction"] == "SCMP_ACT_ALLOW"
    assert seccomp["syscalls"] == [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                    "errnoRet": 1}]
    if os.uname().machine == "x86_64":
        assert seccomp["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    with pytest.raises(InvalidArgument, match='invalid --security-opt 2: "bogus=1"'):
        build(RunOptions(security_opt=["bogus=1"]), rootfs)
    with pytest.raises(InvalidArgument, match="opening seccomp profile"):
        build(RunOptions(security_opt=["seccomp=/nonexistent.json"]), rootfs)


def test_seccomp_follows_capabilities(rootfs: str) -> None:
    def rules(spec: dict[str, Any]) -> list[list[str]]:
        return [r["names"] for r in spec["linux"]["seccomp"]["syscalls"]]

    default = rules(build(RunOptions(), rootfs))
    admin = rules(build(RunOptions(cap_add=["SYS_ADMIN", "sys_ptrace"]), rootfs))
    assert ["clone"] in default and ["clone3"] in default
    assert ["clone"] not in admin and ["clone3"] not in admin
    assert any("mount" in names for names in admin)
    assert any("process_vm_readv" in names for names in admin)
    assert not any("mount" in names for names in default)
    assert ["chroot"] not in rules(build(RunOptions(cap_drop=["SYS_CHROOT"]), rootfs))


# -- read-only, ulimits, sysctls, tmpfs, shm, binds, network -------------------------------------

def test_read_only(rootfs: str) -> None:
    spec = build(RunOptions(read_only=True), rootfs, etc_files={"hosts": "/h"})
    assert spec["root"]["readonly"] is True
    assert spec["mounts"][-1]["options"] == ["rbind", "ro", "rprivate"]


def test_ulimits(rootfs: str) -> None:
    spec = build(RunOptions(ulimits=["nofile=1024:2048", "nproc=-1", "core=0"]), rootfs)
    assert spec["process"]["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048},
        {"type": "RLIMIT_NPROC", "soft": 2**64 - 1, "hard": 2**64 - 1},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    assert parse_ulimit("stack=10") == {"type": "RLIMIT_STACK", "soft": 10, "hard": 10}


@pytest.mark.parametrize(("value", "message"), [
    ("nofile", "invalid ulimit argument: nofile"),
    ("bogus=1", "invalid ulimit type: bogus"),
    ("nofile=2048:1024", "ulimit soft limit must be less than or equal to hard limit: "
                         "2048 > 1024"),
    ("nofile=1:2:3", "too many limit value arguments"),
    ("nofile=x", "invalid syntax"),
])
def test_bad_ulimit(value: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as e:
        parse_ulimit(value)
    assert str(e.value).startswith(f'invalid argument "{value}" for "--ulimit" flag: ')


def test_sysctls_and_network_modes(rootfs: str) -> None:
    spec = build(RunOptions(sysctls={"net.core.somaxconn": "1024",
                                     "net.ipv4.ip_unprivileged_port_start": "80"}), rootfs,
                 netns_path="/run/dockyard/netns/x")
    assert spec["linux"]["sysctl"] == {"net.ipv4.ping_group_range": "0 2147483647",
                                       "net.ipv4.ip_unprivileged_port_start": "80",
                                       "net.core.somaxconn": "1024"}
    assert {"type": "network", "path": "/run/dockyard/netns/x"} in spec["linux"]["namespaces"]
    host = build(RunOptions(network_mode="host"), rootfs)
    assert "network" not in [n["type"] for n in host["linux"]["namespaces"]]
    assert host["linux"]["sysctl"] == {}
    joined = build(RunOptions(network_mode="container:/proc/42/ns/net"), rootfs)
    assert {"type": "network", "path": "/proc/42/ns/net"} in joined["linux"]["namespaces"]
    none = build(RunOptions(network_mode="none"), rootfs)
    assert {"type": "network"} in none["linux"]["namespaces"]
    v2 = build(RunOptions(), rootfs, cgroup_v2=True)
    assert v2["linux"]["namespaces"][-1] == {"type": "cgroup"}


def test_tmpfs_and_shm(rootfs: str) -> None:
    spec = build(RunOptions(tmpfs={"/run": "size=64m", "/tmp": "exec,mode=1777"},
                            shm_size="128m"), rootfs)
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/run"] == {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                              "options": ["noexec", "nosuid", "nodev", "rprivate", "size=64m"]}
    assert mounts["/tmp"]["options"] == ["nosuid", "nodev", "rprivate", "exec", "mode=1777"]
    assert mounts["/dev/shm"]["options"][-1] == "size=134217728"
    with pytest.raises(InvalidArgument, match="invalid tmpfs option"):
        merge_tmpfs_options(["bogus"])


def test_user_mount_replaces_default_and_sorts(rootfs: str) -> None:
    spec = build(RunOptions(tmpfs={"/dev/shm": "size=1m"}), rootfs,
                 binds=[("/h/deep", "/a/b/c", "ro"), ("/h/top", "/a", ""),
                        ("/h/s", "/s", "rw,rslave")],
                 etc_files={"hosts": "/c/hosts", "resolv.conf": "/c/resolv.conf"})
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.count("/dev/shm") == 1
    # sortMounts: stable by depth over binds, then the /etc files, then tmpfs
    assert dests[-6:] == ["/a", "/s", "/etc/resolv.conf", "/etc/hosts", "/dev/shm", "/a/b/c"]
    user = {m["destination"]: m["options"] for m in spec["mounts"]}
    assert user["/a"] == ["rbind", "rprivate"]
    assert user["/s"] == ["rbind", "rslave"]
    assert user["/a/b/c"] == ["rbind", "ro", "rprivate"]


def test_user_etc_bind_wins_and_dev_mount_hides_defaults(rootfs: str) -> None:
    spec = build(RunOptions(), rootfs, binds=[("/mine", "/etc/hosts", "ro"), ("/hd", "/dev", "")],
                 etc_files={"hosts": "/c/hosts"})
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/etc/hosts"]["source"] == "/mine"
    assert [m["destination"] for m in spec["mounts"]].count("/etc/hosts") == 1
    assert not [d for d in mounts if d.startswith("/dev/")]
    assert mounts["/dev"]["type"] == "bind"


def test_bad_bind() -> None:
    from dockyard.engine.spec_mounts import bind_mount

    with pytest.raises(InvalidArgument, match="invalid mode: rw,bogus"):
        bind_mount(("/h", "/c", "rw,bogus"))
    with pytest.raises(InvalidArgument, match="mount path must be absolute"):
        bind_mount(("/h", "rel", ""))


def test_pid_ipc_uts_modes(rootfs: str) -> None:
    spec = build(RunOptions(pid_mode="host", ipc_mode="host", uts_mode="host"), rootfs)
    assert [n["type"] for n in spec["linux"]["namespaces"]] == ["mount", "network"]
    assert "hostname" not in spec
    shm = [m for m in spec["mounts"] if m["destination"] == "/dev/shm"]
    assert shm == [{"destination": "/dev/shm", "type": "bind", "source": "/dev/shm",
                    "options": ["rbind", "rprivate"]}]
    joined = build(RunOptions(pid_mode="container:/proc/7/ns/pid",
                              ipc_mode="container:/proc/7/ns/ipc"), rootfs)
    assert {"type": "pid", "path": "/proc/7/ns/pid"} in joined["linux"]["namespaces"]
    assert {"type": "ipc", "path": "/proc/7/ns/ipc"} in joined["linux"]["namespaces"]
    no_ipc = build(RunOptions(ipc_mode="none"), rootfs)
    assert "/dev/shm" not in [m["destination"] for m in no_ipc["mounts"]]
    with pytest.raises(InvalidArgument, match="--pid: invalid PID mode"):
        build(RunOptions(pid_mode="bogus"), rootfs)
    with pytest.raises(InvalidArgument, match="--uts: invalid UTS mode"):
        build(RunOptions(uts_mode="container:/proc/7/ns/uts"), rootfs)


def test_devices(rootfs: str) -> None:
    fuse = {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 0o666}
    spec = build(RunOptions(), rootfs, devices=[fuse])
    assert spec["linux"]["devices"] == [fuse]
    assert spec["linux"]["resources"]["devices"][-1] == {
        "allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}


# -- resources and bad input ---------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "memory"), [
    ({"memory": "64m"}, {"limit": 64 << 20, "swap": 128 << 20}),
    ({"memory": "64m", "memory_swap": "-1"}, {"limit": 64 << 20}),
    ({"memory": "64m", "memory_swap": "100m"}, {"limit": 64 << 20, "swap": 100 << 20}),
    ({"memory": "1g", "memory_reservation": "512m"},
     {"limit": 1 << 30, "reservation": 512 << 20, "swap": 2 << 30}),
    ({}, {}),
])
def test_memory_swap_rules(rootfs: str, kw: dict[str, Any], memory: dict[str, int]) -> None:
    res = build(RunOptions(**kw), rootfs)["linux"]["resources"]
    assert res["memory"] == {**memory, "disableOOMKiller": False}


def test_cpu_and_pids(rootfs: str) -> None:
    res = build(RunOptions(cpus=1.5, cpu_shares=512, cpuset_cpus="0-1", cpuset_mems="0",
                           pids_limit=-1), rootfs)["linux"]["resources"]
    assert res["cpu"] == {"shares": 512, "cpus": "0-1", "mems": "0", "quota": 150000,
                          "period": 100000}
    assert res["pids"] == {"limit": -1}
    assert "pids" not in build(RunOptions(), rootfs)["linux"]["resources"]


@pytest.mark.parametrize(("kw", "message"), [
    ({"memory": "lots"}, 'invalid argument "lots" for "--memory" flag: invalid size: \'lots\''),
    ({"memory": "1m"}, "Minimum memory limit allowed is 6MB"),
    ({"memory_swap": "1g"}, "You should always set the Memory limit when using Memoryswap"),
    ({"memory": "64m", "memory_swap": "32m"}, "Minimum memoryswap limit should be larger"),
    ({"memory": "64m", "memory_reservation": "128m"}, "can not be less than memory reservation"),
    ({"cpus": "half"}, 'invalid argument "half" for "--cpus" flag: failed to parse half'),
    ({"cpus": "0.0000000001"}, "value is too precise"),
    ({"cpus": "3"}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    ({"shm_size": "x"}, 'invalid argument "x" for "--shm-size" flag'),
    ({"oom_score_adj": 1001}, "range for oom score adj is \\[-1000, 1000\\]"),
    ({"security_opt": ["nothing"]}, 'Invalid --security-opt 1: "nothing"'),
])
def test_bad_input(rootfs: str, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        build(RunOptions(**kw), rootfs, host_cpus=2)


def test_cpus_exact() -> None:
    from dockyard.engine.run_options import parse_cpus

    assert [parse_cpus(v) for v in ("0.3", "1/2", 1.1, "2")] == \
        [300_000_000, 500_000_000, 1_100_000_000, 2_000_000_000]


@pytest.mark.parametrize(("text", "size"), [
    ("512", 512), ("512b", 512), ("512k", 512 << 10), ("64m", 64 << 20), ("64MB", 64 << 20),
    ("64MiB", 64 << 20), ("1g", 1 << 30), ("1.5g", 3 << 29), ("2t", 2 << 40),
])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "m", "-1", "1x", "1.2.3m", "1 gg"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_annotations_and_options_untouched(rootfs: str) -> None:
    opts = RunOptions(cmd=["x"], labels={"a": "b"})
    before = copy.deepcopy(opts)
    spec = build(opts, rootfs, annotations={"org.example": "1"}, cgroup_parent="/custom/")
    assert spec["annotations"] == {"org.example": "1"}
    assert spec["linux"]["cgroupsPath"] == f"/custom/{ID}"
    assert opts == before
