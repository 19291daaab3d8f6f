"""stats and events as a user types them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import unique_name

pytestmark = pytest.mark.integration


def test_stats_no_stream_table_and_format(cli: Dy, busybox: str) -> None:
    name = unique_name("stats")
    cli("run", "-d", "--name", name, "-m", "64m", busybox, "sh", "-c",
        "while :; do :; done", check=True)
    r = cli("stats", "--no-stream", name, check=True)
    lines = r.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
        "BLOCK I/O", "PIDS"]
    assert len(lines) == 2
    cols = re.split(r"\s{2,}", lines[1])
    assert cols[1] == name
    assert cols[3].endswith(" / 64MiB")
    cpu = float(cols[2].rstrip("%"))
    assert 0.0 < cpu <= 100.0 * os.cpu_count()  # busy: some CPU in the second sample
    assert int(cols[7]) >= 1
    fmt = ("{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|"
           "{{.PIDs}}|{{.Container}}|{{.ID}}")
    r = cli("stats", "--no-stream", "--format", fmt, name, check=True)
    f = r.stdout.strip().split("|")
    full = cli("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()
    assert f[0] == name and f[7] == name and f[8] == full[:12]
    assert re.fullmatch(r"\d+\.\d\d%", f[1]) and re.fullmatch(r"\d+\.\d\d%", f[3])
    assert f[2].endswith(" / 64MiB") and " / " in f[4] and " / " in f[5]
    r = cli("stats", "--no-stream", "--no-trunc", "--format", "{{json .}}", name, check=True)
    assert json.loads(r.stdout)["ID"] == full
    r = cli("stats", "--no-stream", "nosuch-ctr-x")
    assert r.returncode == 1 and "No such container: nosuch-ctr-x" in r.stderr


def test_stats_all_shows_stopped_with_zeros(cli: Dy, busybox: str) -> None:
    name = unique_name("statsa")
    cli("create", "--name", name, busybox, "true", check=True)
    r = cli("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}",
            check=True)
    assert f"{name} 0.00% 0" in r.stdout.splitlines()
    r = cli("stats", "--no-stream", "--format", "{{.Name}}", check=True)
    assert name not in r.stdout.split()


def test_stats_live_redraws(cli: Dy, busybox: str, root: Path, tmp_path: Path) -> None:
    name = unique_name("statslive")
    cli("run", "-d", "--name", name, busybox, "sleep", "100", check=True)
    p = subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root),
                          "--exec-root", str(tmp_path / "exec"), "stats", name],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(3.5)
    finally:
        p.send_signal(2)
        out, _ = p.communicate(timeout=20)
    frames = out.decode().split("\033[2J\033[H")
    assert len([f for f in frames if f]) >= 2
    assert all(name in f for f in frames if f)


def test_events_since_until_filters(cli: Dy, busybox: str) -> None:
    name = unique_name("ev")
    since = f"{time.time() - 1:.3f}"
    assert busybox
    cli("run", "-d", "--name", name, "-l", "team=x", "busybox", "sleep", "100", check=True)
    cli("stop", "-t", "1", name, check=True)
    cli("rm", name, check=True)
    until = f"{time.time() + 0.5:.3f}"
    r = cli("events", "--since", since, "--until", until, "--filter", "type=container",
            "--filter", f"container={name}", check=True)
    actions = [line.split()[2] for line in r.stdout.splitlines()]
    for a in ("create", "start", "kill", "die", "stop", "destroy"):
        assert a in actions, r.stdout
    assert actions.index("create") < actions.index("start") < actions.index("die") \
        < actions.index("destroy")
    line = next(x for x in r.stdout.splitlines() if " container start " in x)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container start [0-9a-f]{64} "
                        rf"\(image=busybox, name={name}, team=x\)", line)
    r = cli("events", "--since", since, "--until", until, "--filter", "event=die",
            "--filter", "label=team=x", "--format", "{{json .}}", check=True)
    evs = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(evs) == 1
    ev = evs[0]
    assert ev["Type"] == "container" and ev["Action"] == "die" and ev["status"] == "die"
    assert ev["from"] == "busybox" and ev["id"] == ev["Actor"]["ID"]
    assert ev["Actor"]["Attributes"]["name"] == name
    assert ev["Actor"]["Attributes"]["exitCode"] in ("137", "143")
    assert ev["scope"] == "local" and ev["time"] == ev["timeNano"] // 10**9
    r = cli("events", "--since", since, "--until", until, "--filter", "event=start",
            "--format", "{{.Status}} {{.ID}} {{.From}} {{.Actor.Attributes.name}} {{.Scope}}",
            check=True)
    assert r.stdout.split()[0] == "start" and r.stdout.split()[2:] == ["busybox", name, "local"]
    r = cli("events", "--since", since, "--until", until, "--format", "{{.Type}} {{.Action}}",
            "--filter", "type=network", check=True)
    assert "network connect" in r.stdout and "container" not in r.stdout
    r = cli("events", "--until", since, "--filter", f"container={name}", check=True)
    assert r.stdout == ""
    r = cli("events", "--since", "bogus", "--until", "1s")
    assert r.returncode == 1 and "bogus" in r.stderr


def test_events_follow(cli: Dy, busybox: str, root: Path, tmp_path: Path) -> None:
    name = unique_name("evf")
    p = subprocess.Popen([sys.executable, "-m", "dockyard", "--root", str(root),
                          "--exec-root", str(tmp_path / "exec"), "events", "--filter",
                          f"container={name}", "--format", "{{.Action}}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        cli("create", "--name", name, busybox, "true", check=True)
        cli("rm", name, check=True)
        time.sleep(1.5)
    finally:
        p.send_signal(2)
        out, err = p.communicate(timeout=20)
    assert out.decode().split() == ["create", "destroy"], err
