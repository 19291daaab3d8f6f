"""``docker inspect``'s container object built from a record: Docker's keys, order and
defaults; the typed view templates run on; the ``container`` group's verb table."""

from __future__ import annotations

import importlib.util

from dockyard.cli import container as container_cli
from dockyard.cli.inspect import dumps
from dockyard.engine.containers import ContainerRecord, new_id
from dockyard.engine.inspect import container_json
from dockyard.engine.inspect_view import typed
from dockyard.template import Template

KEYS = ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
        "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel",
        "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig", "GraphDriver", "Mounts",
        "Config", "NetworkSettings"]


def _record(**kw: object) -> ContainerRecord:
    base: dict[str, object] = {
        "id": new_id(), "name": "web", "image": "busybox", "image_id": "sha256:" + "a" * 64,
        "config": {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"], "Env": ["A=1"],
                   "Labels": {"k": "v"}},
        "host_config": {"Memory": 1 << 20,
                        "DockyardMountPoints": [{"Type": "volume", "Name": "v"}]}}
    base.update(kw)
    return ContainerRecord(**base)  # type: ignore[arg-type]


def test_container_json_has_dockers_shape() -> None:
    rec = _record()
    obj = container_json(rec, "/var/lib/dockyard")
    assert list(obj) == KEYS
    assert obj["Name"] == "/web" and obj["Id"] == rec.id
    assert (obj["Path"], obj["Args"]) == ("/bin/sh", ["-c", "echo hi"])
    assert obj["HostConfig"]["Memory"] == 1 << 20
    assert obj["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert obj["HostConfig"]["ShmSize"] == 67108864
    assert "DockyardMountPoints" not in obj["HostConfig"]
    assert obj["Mounts"] == [{"Type": "volume", "Name": "v"}]
    assert obj["Config"]["Hostname"] == rec.id[:12]
    assert obj["Config"]["Labels"] == {"k": "v"}
    assert list(obj["Config"])[:3] == ["Hostname", "Domainname", "User"]
    assert obj["ResolvConfPath"] == f"/var/lib/dockyard/containers/{rec.id}/resolv.conf"
    assert obj["NetworkSettings"]["Networks"] == {}
    assert obj["State"]["Status"] == "created"
    sized = container_json(rec, "/r", size_rw=5, size_root_fs=10)
    assert list(sized).index("SizeRw") == KEYS.index("GraphDriver") + 1
    assert (sized["SizeRw"], sized["SizeRootFs"]) == (5, 10)


def test_exposed_ports_sit_where_docker_puts_them() -> None:
    obj = container_json(_record(config={"ExposedPorts": {"80/tcp": {}}}))
    keys = list(obj["Config"])
    assert keys.index("ExposedPorts") == keys.index("AttachStderr") + 1


def test_typed_view_prints_as_dockers_structs() -> None:
    obj = container_json(_record(config={}))
    t = Template("{{.Config.Entrypoint}}|{{.HostConfig.CapAdd}}|{{.HostConfig.PidsLimit}}|"
                 "{{.State.Health}}|{{.Config.Labels.x}}|{{json .State}}")
    assert t.execute(typed(obj)) == (
        '[]|[]|<nil>|<nil>|<no value>|{"Status":"created","Running":false,"Paused":false,'
        '"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":0,"Error":"",'
        '"StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"}')


def test_dumps_is_dockers_indented_json() -> None:
    assert dumps([{"a": "<&>", "b": []}]) == (
        '[\n    {\n        "a": "\\u003c\\u0026\\u003e",\n        "b": []\n    }\n]\n')


def test_container_group_lists_every_docker_container_verb() -> None:
    docker_verbs = ["attach", "commit", "cp", "create", "diff", "exec", "export", "inspect",
                    "kill", "logs", "ls", "list", "ps", "pause", "port", "prune", "rename",
                    "restart", "rm", "run", "start", "stats", "stop", "top", "unpause",
                    "update", "wait"]
    assert sorted(container_cli.SUBCOMMANDS) == sorted(docker_verbs)
    for _verb, (module, _help) in container_cli.SUBCOMMANDS.items():
        assert module.isidentifier()
    # the verbs whose modules exist are in the usage; the others are not
    usage = container_cli.usage()
    for verb, (module, _help) in container_cli.SUBCOMMANDS.items():
        exists = importlib.util.find_spec(f"dockyard.cli.{module}") is not None
        if verb not in ("list", "ps"):
            assert (f"  {verb} " in usage) == exists, verb


def test_ps_ports_column_is_dockers_displayable_ports() -> None:
    from dockyard.cli._ps_view import displayable_ports as _ports

    running = _record(status="running")
    ports = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None,
             "81/tcp": [{"HostIp": "127.0.0.1", "HostPort": "81"}],
             "82/tcp": [{"HostIp": "127.0.0.1", "HostPort": "82"}],
             "53/udp": None, "54/udp": None}
    assert _ports(running, ports) == (
        "53-54/udp, 127.0.0.1:81-82->81-82/tcp, 443/tcp, 0.0.0.0:8080->80/tcp")
    assert _ports(_record(status="exited"), ports) == ""
    assert _ports(running, {}) == ""
