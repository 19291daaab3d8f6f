import pytest

from dockyard.cli._image import human_duration, human_size, render, table
from dockyard.errors import InvalidArgument
from dockyard.image.config import apply_changes, new_config


def cfg() -> dict[str, object]:
    return new_config("linux", "amd64", "", [], "c", "2024-01-01T00:00:00Z")


def test_changes() -> None:
    c = cfg()
    apply_changes(c, ["CMD echo hi", "ENV A=1", "ENV A 2 3", "LABEL a=b c=\"d e\"",
                      "EXPOSE 80", "VOLUME /data", "STOPSIGNAL SIGTERM", "user nobody"])
    conf = c["config"]
    assert isinstance(conf, dict)
    assert conf["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert conf["Env"] == ["A=2 3"]
    assert conf["Labels"] == {"a": "b", "c": "d e"}
    assert conf["ExposedPorts"] == {"80/tcp": {}}
    assert conf["Volumes"] == {"/data": {}}
    assert conf["User"] == "nobody" and conf["StopSignal"] == "SIGTERM"


@pytest.mark.parametrize("bad", ["FROM x", "RUN x", "EXPOSE abc", "LABEL novalue", "CMD"])
def test_bad_changes(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        apply_changes(cfg(), [bad])


def test_human_size() -> None:
    assert human_size(0) == "0B"
    assert human_size(999) == "999B"
    assert human_size(1984172) == "1.98MB"
    assert human_size(72_800_000) == "72.8MB"
    assert human_size(1_234_567_890) == "1.23GB"


def test_human_duration() -> None:
    assert human_duration(0.2) == "Less than a second"
    assert human_duration(5) == "5 seconds"
    assert human_duration(60) == "About a minute"
    assert human_duration(29 * 60) == "29 minutes"
    assert human_duration(3600) == "About an hour"
    assert human_duration(5 * 86400) == "5 days"
    assert human_duration(800 * 86400) == "2 years"


def test_table_matches_docker_widths() -> None:
    out = table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                [["busybox", "latest", "b967e9b36d70", "33 minutes ago", "1.98MB"]])
    assert out == ("REPOSITORY   TAG       IMAGE ID       CREATED          SIZE\n"
                   "busybox      latest    b967e9b36d70   33 minutes ago   1.98MB\n")


def test_render() -> None:
    rows = [{"Repository": "a", "Tag": "1"}, {"Repository": "b", "Tag": "2"}]
    assert render("{{.Repository}}:{{.Tag}}", rows) == "a:1\nb:2\n"
    assert render("{{json .Tag}}", rows[:1]) == '"1"\n'
    assert render("table {{.Repository}}\\t{{.Tag}}", rows).splitlines()[0].split() == [
        "REPOSITORY", "TAG"]


def test_render_nested_go_style() -> None:
    info = {"Id": "sha256:x", "Config": {"Cmd": ["sh", "-c", "x"], "Env": None,
                                         "Labels": {"b": "2", "a": "1"}, "Tty": False}}
    assert render("{{.Config.Cmd}} {{.Config.Labels}} {{.Config.Tty}} {{.Config.Env}}",
                  [info]) == "[sh -c x] map[a:1 b:2] false <no value>\n"
    assert render("{{json .Config.Cmd}}", [info]) == '["sh","-c","x"]\n'
