"""The guess of which ``run`` command lines start their container in the foreground."""

from __future__ import annotations

import pytest

from dockyard.engine.early_start import may_run_in_foreground


@pytest.mark.parametrize("argv", [
    ["--rm", "busybox", "true"],
    ["--network", "none", "-e", "A=b", "-w", "/tmp", "busybox", "sh", "-c", "echo hi"],
    ["--name=x", "-u", "65534", "-v", "/a:/b", "busybox"],
])
def test_foreground_command_lines(argv: list[str]) -> None:
    assert may_run_in_foreground(argv)


@pytest.mark.parametrize("argv", [
    ["-d", "busybox", "sleep", "9"],
    ["-dit", "busybox"],
    ["-it", "busybox", "sh"],
    ["-a", "stdout", "busybox", "true"],
    ["--detach", "busybox"],
    ["--tty=true", "busybox"],
    ["--interactive", "busybox"],
    ["busybox", "ls", "-d", "/"],  # the command's own flag: a harmless "no"
])
def test_monitored_or_unsure_command_lines(argv: list[str]) -> None:
    assert not may_run_in_foreground(argv)
