"""The spec the engine builds for a ``docker run`` (Docker's defaults: capabilities,
seccomp profile, masked paths, cgroup mount) runs under dockyard-runtime and runc alike."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from dockyard.engine.run_options import RunOptions
from dockyard.engine.spec import build_spec
from tests.integration.runtimes import Runtime

pytestmark = pytest.mark.integration


def test_docker_default_spec_runs(runtime: Runtime, tmp_path: Path,
                                  busybox_rootfs: Path) -> None:
    cid = runtime.new_id()
    opts = RunOptions(cmd=["sh", "-c", "echo $FOO; id -u; grep CapEff /proc/self/status; "
                                       "cat /sys/fs/cgroup/pids/pids.max; "
                                       "unshare -U true 2>/dev/null || echo denied"],
                      env=["FOO=bar"], memory="64m", cpus="0.5", pids_limit=100)
    spec = build_spec(opts, {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
                      str(busybox_rootfs), container_id=uuid.uuid4().hex * 2,
                      cgroup_parent="/dockyard-test")
    spec["linux"]["cgroupsPath"] = f"/dockyard-test/{cid}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(spec))
    r = runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "bar" and lines[1] == "0"
    assert int(lines[2].split()[1], 16) == 0xA80425FB  # Docker's default capability set
    assert lines[3] == "100"
    assert lines[4] == "denied"  # the default seccomp profile refuses unshare
