"""``--network none``: the container has only ``lo``, and it is up (127.0.0.1 answers),
both for ``run`` in the foreground and for a detached container's monitor."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Dy

pytestmark = pytest.mark.integration


def test_lo_is_up_in_the_foreground(cli: Dy, busybox: str) -> None:
    r = cli("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link", check=True)
    assert [ln.split(":")[1].strip() for ln in r.stdout.splitlines()] == ["lo"]
    assert ",UP" in r.stdout
    r = cli("run", "--rm", "--network", "none", "busybox", "ping", "-c", "1", "-W", "2",
            "127.0.0.1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 packets received" in r.stdout


def test_lo_is_up_in_a_detached_container(cli: Dy, busybox: str) -> None:
    cid = cli("run", "-d", "--network", "none", "busybox", "sh", "-c",
              "ping -c 1 -W 2 127.0.0.1 && echo reachable", check=True).stdout.strip()
    assert cli("wait", cid).stdout.strip() == "0"
    assert cli("logs", cid).stdout.endswith("reachable\n")
