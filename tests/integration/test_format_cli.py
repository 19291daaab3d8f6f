"""``inspect``, ``ps``/``images``/``history --format``, ``info`` and ``version`` as a user
types them: the fields Docker users script against, Docker's tables and exit codes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from dockyard.engine.containers import ContainerRecord, ContainerStore, new_id
from tests.integration.conftest import Dy

pytestmark = pytest.mark.integration

#: the top-level keys of ``docker inspect`` of a container, in Docker's order
#: (/work/shared/reference/docker-inspect-container.json)
DOCKER_KEYS = ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
               "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver",
               "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs",
               "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"]


def _name(tag: str) -> str:
    return f"fmt-{tag}-{os.getpid()}"


def test_inspect_exited_container(cli: Dy, busybox: str) -> None:
    name = _name("exit")
    r = cli("run", "--name", name, "-e", "GREETING=hi", "busybox", "sh", "-c", "exit 3")
    assert r.returncode == 3
    r = cli("inspect", "-f", "{{.Name}} {{.State.Status}} {{.State.ExitCode}} "
            "{{.State.Running}} {{.HostConfig.Memory}} {{.Path}} {{json .Args}}", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f'/{name} exited 3 false 0 sh ["-c","exit 3"]\n'
    r = cli("inspect", name, check=True)
    objs = json.loads(r.stdout)
    assert r.stdout.startswith("[\n    {\n        \"Id\": ")  # Docker's 4-space indent
    assert len(objs) == 1
    obj = objs[0]
    assert list(obj) == DOCKER_KEYS
    assert obj["Name"] == f"/{name}"
    assert re.fullmatch(r"[0-9a-f]{64}", obj["Id"])
    assert obj["Image"] == busybox
    assert "GREETING=hi" in obj["Config"]["Env"]
    assert obj["Config"]["Cmd"] == ["sh", "-c", "exit 3"]
    assert obj["Config"]["Hostname"] == obj["Id"][:12]
    assert obj["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert obj["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert obj["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
    assert obj["Driver"] == "overlay2" and obj["Mounts"] == []
    # as Docker's: an exited container is still on the bridge network, with no address
    assert list(obj["NetworkSettings"]["Networks"]) == ["bridge"]
    assert obj["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    # the container form; by ID prefix; {{json .State}}
    r = cli("container", "inspect", "--format", "{{json .State}}", obj["Id"][:10], check=True)
    assert json.loads(r.stdout)["ExitCode"] == 3


def test_inspect_running_container_and_size(cli: Dy, busybox: str) -> None:
    name = _name("run")
    cli("run", "-d", "--name", name, "busybox", "sleep", "100", check=True)
    r = cli("inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.Pid}}", name,
            check=True)
    status, running, pid = r.stdout.split()
    assert (status, running) == ("running", "true") and int(pid) > 0
    r = cli("inspect", "-s", name, check=True)
    obj = json.loads(r.stdout)[0]
    assert obj["SizeRw"] >= 0 and obj["SizeRootFs"] > obj["SizeRw"]
    assert list(obj).index("SizeRw") == list(obj).index("GraphDriver") + 1
    r = cli("inspect", name, check=True)
    assert "SizeRw" not in json.loads(r.stdout)[0]


def test_inspect_errors_and_types(cli: Dy, busybox: str) -> None:
    name = _name("types")
    cli("run", "--name", name, "busybox", "true", check=True)
    r = cli("inspect", "nope-" + name)
    assert (r.returncode, r.stdout) == (1, "[]\n")
    assert r.stderr == f"Error: No such object: nope-{name}\n"
    r = cli("container", "inspect", "nope")
    assert r.returncode == 1 and r.stderr == "Error: No such container: nope\n"
    # found ones are printed, the missing one reported, exit 1
    r = cli("inspect", "-f", "{{.Name}}", name, "nope")
    assert (r.returncode, r.stdout) == (1, f"/{name}\n")
    assert "Error: No such object: nope" in r.stderr
    # no container by that name: an image
    r = cli("inspect", "-f", "{{.Id}}", "busybox", check=True)
    assert r.stdout == busybox + "\n"
    r = cli("inspect", "--type", "image", "-f", "{{.Id}}", name)
    assert r.returncode == 1 and r.stderr == f"Error: No such image: {name}\n"
    r = cli("inspect", "--type", "container", "-f", "{{.Name}}", name, check=True)
    assert r.stdout == f"/{name}\n"
    vol = _name("vol")
    cli("volume", "create", vol, check=True)
    try:
        r = cli("inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}}", vol, check=True)
        assert r.stdout == f"{vol} local local\n"
        r = cli("inspect", "--type", "volume", "nope")
        assert r.returncode == 1 and r.stderr == "Error: No such volume: nope\n"
    finally:
        cli("volume", "rm", vol)
    # the predefined networks, by name
    r = cli("inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}}", "none", check=True)
    assert r.stdout == "none null local\n"
    r = cli("inspect", "--type", "network", "nope")
    assert r.returncode == 1 and r.stderr == "Error: No such network: nope\n"
    r = cli("image", "inspect", "-f", "{{.Id}} {{json .RepoTags}}", "busybox", check=True)
    assert r.stdout == f'{busybox} ["busybox:latest"]\n'
    # templates: a parse error is Docker's 64, a failed execution 1
    r = cli("inspect", "-f", "{{.Name", name)
    assert r.returncode == 64
    assert r.stderr == "template parsing error: template: :1: unclosed action\n"
    r = cli("inspect", "-f", "{{index .Args 9}}", name)
    assert r.returncode == 1 and "index out of range: 9" in r.stderr
    # a field Docker's structs lack: an error, as Docker's raw-JSON fallback reports it
    r = cli("inspect", "-f", "{{.NoSuchKey}}", name)
    assert r.returncode == 1
    assert r.stderr == ('template parsing error: template: :1:2: executing "" at '
                        '<.NoSuchKey>: map has no entry for key "NoSuchKey"\n')
    r = cli("inspect", "-f", "{{.Config.Labels.nokey}}|{{json .State.Health}}", name,
            check=True)
    assert r.stdout == "<no value>|null\n"
    # nil fields of Docker's typed structs print as Go prints them
    r = cli("inspect", "-f", "{{.Config.Entrypoint}} {{.HostConfig.CapAdd}} {{.ExecIDs}} "
            "{{.HostConfig.PidsLimit}} {{.State.Health}}", name, check=True)
    assert r.stdout == "[] [] [] <nil> <nil>\n"


def test_inspect_and_ps_show_run_flags(cli: Dy, busybox: str) -> None:
    name, vol = _name("flags"), _name("flagsvol")
    try:
        cli("run", "--name", name, "-v", f"{vol}:/data", "-m", "64m", "--restart",
            "on-failure:2", "-l", "tier=db", "-e", "X=1", "busybox", "true", check=True)
        r = cli("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}} "
                "{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.Config.Labels}} "
                "{{index .Config.Labels \"tier\"}} {{range .Mounts}}{{.Type}}:{{.Name}}:"
                "{{.Destination}}:{{.RW}}{{end}}", name, check=True)
        assert r.stdout == f"67108864 on-failure 2 map[tier:db] db volume:{vol}:/data:true\n"
        r = cli("ps", "-a", "--no-trunc", "-f", f"name={name}", "--format",
                "{{.Mounts}}|{{.LocalVolumes}}|{{.Labels}}", check=True)
        assert r.stdout == f"{vol}|1|tier=db\n"
        r = cli("ps", "-a", "-f", f"name={name}", "--format", "{{.Mounts}}", check=True)
        assert r.stdout == (vol if len(vol) <= 15 else vol[:14] + "…") + "\n"
    finally:
        cli("rm", "-v", name)
        cli("volume", "rm", vol)


def _record(root: Path, name: str, labels: dict[str, str], status: str = "exited",
            exit_code: int = 0) -> str:
    """A stopped container as ``create -l`` would leave it (``run`` has no ``-l`` yet)."""
    cid = new_id()
    with ContainerStore(str(root)) as store:
        store.create(ContainerRecord(
            id=cid, name=name, image="busybox", image_id="sha256:" + "0" * 64,
            config={"Cmd": ["true"], "Labels": labels}, status=status, exit_code=exit_code,
            started_at="2026-01-01T00:00:00.000000000Z",
            finished_at="2026-01-01T00:00:01.000000000Z",
            bundle_dir=str(root / "no-bundle" / cid)))
    return cid


def test_ps_format_flags_and_filters(cli: Dy, busybox: str, root: Path) -> None:
    first, second, up = _name("ps1"), _name("ps2"), _name("psup")
    r = cli("run", "--name", first, "busybox", "sh", "-c", "exit 3")
    assert r.returncode == 3
    cli("run", "--name", second, "busybox", "true", check=True)
    cli("run", "-d", "--name", up, "busybox", "sleep", "100", check=True)
    labelled = _name("lab")
    _record(root, labelled, {"com.example.tier": "db", "x": "1"})

    def names(*args: str) -> list[str]:
        r = cli("ps", *args, "--format", "{{.Names}}")
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    assert names() == [up]
    assert names("-a") == [labelled, up, second, first]
    assert names("-n", "2") == [labelled, up]
    assert names("-l") == [labelled]
    assert names("-a", "--filter", "status=exited") == [labelled, second, first]
    assert names("-a", "-f", "exited=3") == [first]
    assert names("-a", "-f", f"name={second}") == [second]
    assert names("-a", "-f", "label=com.example.tier=db") == [labelled]
    assert names("-a", "-f", "label=x") == [labelled]
    assert names("-a", "-f", "ancestor=busybox", "-f", "status=running") == [up]
    assert names("-f", f"before={up}") == [second, first]
    assert names("-f", f"since={second}") == [labelled, up]
    r = cli("ps", "-aq", "-f", f"name={first}", check=True)
    cid = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", cid)
    assert names("-a", "-f", f"id={cid[:6]}") == [first]
    r = cli("ps", "-a", "-f", f"name={labelled}", "--format",
            '{{.Label "com.example.tier"}}|{{.Labels}}|{{.State}}|{{.Status}}', check=True)
    assert r.stdout == "db|com.example.tier=db,x=1|exited|" + r.stdout.split("|")[3]
    assert r.stdout.split("|")[3].startswith("Exited (0) ")
    r = cli("ps", "-a", "-f", f"name={labelled}", "--format",
            'table {{.Label "com.example.tier"}}\\t{{.Names}}', check=True)
    assert r.stdout.splitlines() == ["tier      NAMES", f"db        {labelled}"]
    r = cli("ps", "-f", f"name={up}", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.Command}}",
            check=True)
    header, row = r.stdout.splitlines()
    assert header == "CONTAINER ID   NAMES" + " " * (len(up) + 3 - 5) + "COMMAND"
    assert re.fullmatch(rf'[0-9a-f]{{12}}   {up}   "sleep 100"', row)
    r = cli("ps", "-f", f"name={up}", "--format", "{{json .}}", check=True)
    obj = json.loads(r.stdout)
    assert obj["Names"] == up and obj["State"] == "running"
    assert obj["Status"].startswith("Up ") and list(obj) == sorted(obj)
    # the default table, and -s adds SIZE
    r = cli("ps", "-s", "-f", f"name={up}", check=True)
    header, row = r.stdout.splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                              "PORTS", "NAMES", "SIZE"]
    assert re.search(r"\d+(\.\d+)?[kMG]?B \(virtual \d", row)
    # errors: a bad filter is the daemon's (1), a bad flag value the CLI's (125)
    r = cli("ps", "-f", "bogus=1")
    assert r.returncode == 1 and "invalid filter 'bogus'" in r.stderr
    r = cli("ps", "-f", "bogus")
    assert r.returncode == 125 and "bad format of filter" in r.stderr
    r = cli("ps", "--format", "{{.Nope}}")
    assert r.returncode == 1
    assert "can't evaluate field Nope in type *formatter.containerContext" in r.stderr
    # container ls / ps / list are ps
    for verb in ("ls", "ps", "list"):
        r = cli("container", verb, "--format", "{{.Names}}", check=True)
        assert r.stdout.split() == [up]
    r = cli("container", "frobnicate")
    assert r.returncode == 125 and "is not a dockyard command" in r.stderr


def test_images_and_history_format(cli: Dy, busybox: str) -> None:
    r = cli("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=True)
    assert r.stdout == f"busybox:latest {busybox[7:19]}\n"
    r = cli("images", "--format", "table {{.Repository}}\\t{{.ID}}", check=True)
    assert r.stdout.splitlines() == ["REPOSITORY   IMAGE ID",
                                     f"busybox      {busybox[7:19]}"]
    r = cli("image", "ls", "--format", "{{json .}}", check=True)
    assert json.loads(r.stdout)["Repository"] == "busybox"
    r = cli("history", "--format", "{{.ID}}|{{.CreatedBy}}", "busybox", check=True)
    assert r.stdout.splitlines()[0].startswith(busybox[7:19] + "|")
    r = cli("images", "--format", "{{.Nope}}")
    assert r.returncode == 1 and "can't evaluate field Nope" in r.stderr


def test_info(cli: Dy, busybox: str, root: Path) -> None:
    cli("run", "-d", "--name", _name("info"), "busybox", "sleep", "100", check=True)
    cli("run", "--name", _name("info2"), "busybox", "true", check=True)
    r = cli("info", check=True)
    for line in ("Server:", " Containers: 2", "  Running: 1", "  Paused: 0", "  Stopped: 1",
                 " Images: 1", " Storage Driver: overlay2", " Cgroup Driver: cgroupfs",
                 f" Kernel Version: {os.uname().release}", f" CPUs: {os.cpu_count()}",
                 f" Docker Root Dir: {root}"):
        assert line in r.stdout.splitlines(), line
    assert re.search(r"^ Total Memory: [\d.]+GiB$", r.stdout, re.M)
    r = cli("info", "--format", "{{json .}}", check=True)
    info = json.loads(r.stdout)
    assert info["Containers"] == 2 and info["ContainersRunning"] == 1
    assert info["CgroupVersion"] in ("1", "2") and info["OSType"] == "linux"
    assert info["DockerRootDir"] == str(root)
    r = cli("info", "-f", "{{.ContainersStopped}}/{{.Images}}", check=True)
    assert r.stdout == "1/1\n"
    r = cli("info", "-f", "{{.Nope")
    assert r.returncode == 64


def test_version(cli: Dy) -> None:
    from dockyard import __version__

    r = cli("version", check=True)
    assert r.stdout.startswith("Client: dockyard\n Version:           " + __version__)
    assert "\nServer: dockyard\n Engine:\n  Version:          " + __version__ in r.stdout
    r = cli("version", "--format", "{{.Server.Version}} {{.Client.ApiVersion}}", check=True)
    assert r.stdout == f"{__version__} 1.41\n"
    r = cli("version", "-f", "{{json .Client}}", check=True)
    assert json.loads(r.stdout)["Os"] == "linux"
