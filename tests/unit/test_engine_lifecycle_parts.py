"""The pure pieces of the container lifecycle: restart policies and backoff, Go
durations, health state, json-file rotation, Docker's Config/HostConfig."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.engine.container_config import docker_config, host_config, stop_settings
from dockyard.engine.health import check_args, next_health
from dockyard.engine.jsonlog import JsonLog
from dockyard.engine.logfile import log_files, parse_log_opts, read_log
from dockyard.engine.restart import Backoff, RestartPolicy
from dockyard.engine.run_options import RunOptions, parse_duration
from dockyard.errors import InvalidArgument

CID = "abcdef0123456789" * 4


@pytest.mark.parametrize(("text", "name", "count"), [
    (None, "no", 0), ("", "no", 0), ("no", "no", 0), ("always", "always", 0),
    ("unless-stopped", "unless-stopped", 0), ("on-failure", "on-failure", 0),
    ("on-failure:5", "on-failure", 5),
])
def test_restart_policy_parse(text: str | None, name: str, count: int) -> None:
    p = RestartPolicy.parse(text)
    assert (p.name, p.max_retries) == (name, count)
    assert RestartPolicy.from_json(p.to_json()) == p


@pytest.mark.parametrize(("text", "message"), [
    ("maybe", "invalid restart policy 'maybe'"),
    ("always:2", "maximum retry count cannot be used with restart policy 'always'"),
    ("on-failure:x", "maximum retry count must be an integer"),
    ("on-failure:-1", "maximum retry count cannot be negative"),
    ("a:b:c", "invalid restart policy format"),
])
def test_restart_policy_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        RestartPolicy.parse(text)


def test_should_restart() -> None:
    always, onf = RestartPolicy("always"), RestartPolicy("on-failure", 2)
    assert always.should_restart(0, 100, False)
    assert not always.should_restart(1, 0, True)  # stopped by the user
    assert RestartPolicy("unless-stopped").should_restart(0, 0, False)
    assert not RestartPolicy("no").should_restart(1, 0, False)
    assert onf.should_restart(1, 1, False) and not onf.should_restart(1, 2, False)
    assert not onf.should_restart(0, 0, False)
    assert RestartPolicy("on-failure").should_restart(1, 1000, False)


def test_backoff_doubles_caps_and_resets() -> None:
    b = Backoff()
    assert [b.next(0.1) for _ in range(4)] == [0.1, 0.2, 0.4, 0.8]
    for _ in range(20):
        last = b.next(0.1)
    assert last == 60.0
    assert b.next(10.0) == 0.1  # it ran 10 s: back to the start


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("30s", 30 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8),
    ("1.5h", 5400 * 10**9), ("2us", 2000), ("-1s", -(10**9)),
])
def test_parse_duration(text: str, ns: int) -> None:
    assert parse_duration(text, "--x") == ns


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1s2"])
def test_parse_duration_errors(text: str) -> None:
    with pytest.raises(InvalidArgument, match=f'invalid argument "{text}" for "--x" flag'):
        parse_duration(text, "--x")


def test_health_state_machine() -> None:
    def result(code: int) -> dict[str, object]:
        return {"Start": "s", "End": "e", "ExitCode": code, "Output": ""}

    h = next_health(None, result(1), 2, in_start_period=True)
    assert (h["Status"], h["FailingStreak"]) == ("starting", 0)
    h = next_health(h, result(1), 2, in_start_period=False)
    assert (h["Status"], h["FailingStreak"]) == ("starting", 1)
    h = next_health(h, result(1), 2, in_start_period=False)
    assert (h["Status"], h["FailingStreak"]) == ("unhealthy", 2)
    h = next_health(h, result(0), 2, in_start_period=False)
    assert (h["Status"], h["FailingStreak"]) == ("healthy", 0)
    for _ in range(10):
        h = next_health(h, result(0), 2, in_start_period=False)
    assert len(h["Log"]) == 5
    assert check_args(["CMD-SHELL", "curl x"]) == ["/bin/sh", "-c", "curl x"]
    assert check_args(["CMD", "true", "1"]) == ["true", "1"]
    assert check_args(["NONE"]) is None and check_args([]) is None


def test_log_rotation_keeps_max_files(tmp_path: Path) -> None:
    path = str(tmp_path / "c-json.log")
    w = JsonLog(path, max_size=300, max_files=3)
    for i in range(40):
        w.write("stdout", f"line {i}\n".encode())
    w.close()
    files = log_files(path)
    assert [Path(f).name for f in files] == ["c-json.log.2", "c-json.log.1", "c-json.log"]
    assert all(Path(f).stat().st_size <= 300 for f in files)
    lines = [json.loads(ln)["log"] for ln in read_log(path).splitlines()]
    assert lines[-1] == "line 39\n"
    assert lines == [f"line {i}\n" for i in range(40 - len(lines), 40)]
    # max-file=1 truncates the one file
    one = str(tmp_path / "one-json.log")
    w = JsonLog(one, max_size=200, max_files=1)
    for i in range(40):
        w.write("stderr", f"line {i}\n".encode())
    w.close()
    assert log_files(one) == [one] and Path(one).stat().st_size <= 200


def test_parse_log_opts() -> None:
    assert parse_log_opts({}) == (-1, 1)
    assert parse_log_opts({"max-size": "10k", "max-file": "3"}) == (10240, 3)
    with pytest.raises(InvalidArgument, match="max-file cannot be less than 1"):
        parse_log_opts({"max-file": "0"})
    with pytest.raises(InvalidArgument, match="max-file cannot be set when max-size"):
        parse_log_opts({"max-file": "2"})
    with pytest.raises(InvalidArgument, match="unknown log opt 'x'"):
        parse_log_opts({"x": "1"})


def test_config_merges_the_image_config() -> None:
    image = {"Env": ["PATH=/bin", "A=image"], "Cmd": ["/bin/sh"], "Entrypoint": ["/ep"],
             "WorkingDir": "/w", "User": "daemon", "Labels": {"l": "image", "m": "1"},
             "StopSignal": "SIGQUIT", "ExposedPorts": {"80/tcp": {}},
             "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}}
    opts = RunOptions(env=["A=user"], labels={"l": "user"},
                      healthcheck={"Retries": 7})
    cfg = docker_config(opts, "img", image, CID)
    assert cfg["Env"] == ["A=user", "PATH=/bin"]
    assert (cfg["Cmd"], cfg["Entrypoint"]) == (["/bin/sh"], ["/ep"])
    assert (cfg["WorkingDir"], cfg["User"], cfg["StopSignal"]) == ("/w", "daemon", "SIGQUIT")
    assert cfg["Labels"] == {"l": "user", "m": "1"}
    assert cfg["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5, "Retries": 7}
    assert cfg["Hostname"] == CID[:12] and cfg["Image"] == "img"
    assert list(cfg)[:6] == ["Hostname", "Domainname", "User", "AttachStdin",
                             "AttachStdout", "AttachStderr"]
    # --entrypoint drops the image's Cmd
    cfg = docker_config(RunOptions(entrypoint="/x"), "img", image, CID)
    assert (cfg["Entrypoint"], cfg["Cmd"]) == (["/x"], None)
    assert stop_settings(cfg) == ("SIGQUIT", 10)
    assert stop_settings({"StopTimeout": 3}) == ("SIGTERM", 3)


def test_host_config_defaults_and_values() -> None:
    hc = host_config(RunOptions())
    assert (hc["Memory"], hc["MemorySwap"], hc["ShmSize"], hc["PidsLimit"]) == (
        0, 0, 64 << 20, None)
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert "Init" not in hc and "Sysctls" not in hc
    hc = host_config(RunOptions(memory="64m", cpus="1.5", restart="on-failure:3",
                                init=True, ulimits=["nofile=10:-1"], privileged=True))
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"]) == (64 << 20, 128 << 20,
                                                                1_500_000_000)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert hc["Init"] is True and hc["MaskedPaths"] is None
    assert hc["Ulimits"] == [{"Name": "nofile", "Hard": -1, "Soft": 10}]
    with pytest.raises(InvalidArgument, match="Conflicting options: --restart and --rm"):
        host_config(RunOptions(auto_remove=True, restart="always"))


