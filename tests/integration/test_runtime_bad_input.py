"""Bad input: one clear line on stderr, runc's exit code, and nothing left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.runtimes import Runtime, cgroup_dirs, edit_config, make_bundle

pytestmark = pytest.mark.integration


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def assert_nothing_left(rt: Runtime, cid: str, bundle: Path) -> None:
    assert rt("state", cid).returncode == 1
    assert not (rt.root / cid).exists()
    assert cgroup_dirs(bundle.name) == []
    with open("/proc/self/mountinfo") as f:
        assert str(bundle) not in f.read()


def test_missing_config_json(dockyard_runtime: Runtime, tmp_path: Path) -> None:
    bundle = tmp_path / "empty-bundle"
    bundle.mkdir()
    cid = dockyard_runtime.new_id()
    r = dockyard_runtime("create", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "config.json", "not found")
    assert_nothing_left(dockyard_runtime, cid, bundle)


def test_invalid_json(dockyard_runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])
    (bundle / "config.json").write_text('{"ociVersion": "1.0.2", "root": ')
    cid = dockyard_runtime.new_id()
    r = dockyard_runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "invalid JSON")
    assert_nothing_left(dockyard_runtime, cid, bundle)


def test_rootfs_that_does_not_exist(runtime: Runtime, tmp_path: Path,
                                    busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])
    edit_config(bundle, lambda s: s["root"].update(path=str(tmp_path / "nope")))
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert "nope" in r.stderr and "Traceback" not in r.stderr
    assert_nothing_left(runtime, cid, bundle)


def test_unknown_namespace_type(dockyard_runtime: Runtime, tmp_path: Path,
                                busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])
    edit_config(bundle, lambda s: s["linux"]["namespaces"].append({"type": "bogus"}))
    cid = dockyard_runtime.new_id()
    r = dockyard_runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "unknown namespace type", "bogus")
    assert_nothing_left(dockyard_runtime, cid, bundle)


def test_namespace_path_that_does_not_exist(runtime: Runtime, tmp_path: Path,
                                            busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])

    def bad_path(spec: dict[str, object]) -> None:
        nss = spec["linux"]["namespaces"]  # type: ignore[index]
        for n in nss:  # type: ignore[attr-defined]
            if n["type"] == "network":
                n["path"] = "/proc/999999999/ns/net"

    edit_config(bundle, bad_path)
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert "999999999" in r.stderr
    assert_nothing_left(runtime, cid, bundle)


def test_missing_executable_fails_at_create(runtime: Runtime, tmp_path: Path,
                                            busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["no-such-binary"])
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert "executable file not found" in r.stderr
    assert_nothing_left(runtime, cid, bundle)


def test_unknown_container(runtime: Runtime) -> None:
    for args in (["state", "nope"], ["start", "nope"], ["kill", "nope"], ["delete", "nope"],
                 ["exec", "nope", "true"]):
        r = runtime(*args)
        assert r.returncode in (1, 255), (args, r)
        assert "does not exist" in r.stderr, (args, r.stderr)


def test_invalid_container_id(dockyard_runtime: Runtime, tmp_path: Path,
                              busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])
    r = dockyard_runtime("create", "--bundle", str(bundle), "../escape")
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "invalid container id")
    assert not (tmp_path / "escape").exists()


def test_unknown_flag_and_command(dockyard_runtime: Runtime) -> None:
    r = dockyard_runtime("create", "--frobnicate", "x")
    assert r.returncode == 1 and "frobnicate" in r.stderr
    r = dockyard_runtime("frobnicate")
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_systemd_cgroup_is_refused_clearly(dockyard_runtime: Runtime) -> None:
    r = dockyard_runtime("--systemd-cgroup", "list")
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "systemd cgroup driver is not supported")


def test_log_file_gets_json_errors(dockyard_runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    r = dockyard_runtime("--log", str(log), "--log-format", "json", "state", "nope")
    assert r.returncode == 1
    assert r.stderr.strip() == "container does not exist"
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and entry["msg"] == "container does not exist"
    assert "time" in entry


def test_spec_writes_and_refuses_to_overwrite(dockyard_runtime: Runtime, tmp_path: Path) -> None:
    bundle = tmp_path / "speccy"
    bundle.mkdir()
    r = dockyard_runtime("spec", "--bundle", str(bundle))
    assert r.returncode == 0
    spec = json.loads((bundle / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"] and spec["root"]["path"] == "rootfs"
    r = dockyard_runtime("spec", "--bundle", str(bundle))
    assert r.returncode == 1 and "exists" in r.stderr
    os.remove(bundle / "config.json")


def test_features_reports_hybrid_cgroups(dockyard_runtime: Runtime) -> None:
    r = dockyard_runtime("features")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert "createRuntime" in data["hooks"]
    assert data["linux"]["seccomp"]["enabled"] is True
    assert "CAP_SYS_ADMIN" in data["linux"]["capabilities"]


def test_host_wide_sysctl_is_refused(runtime: Runtime, tmp_path: Path,
                                     busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])
    edit_config(bundle, lambda s: s["linux"].update(sysctl={"vm.swappiness": "0"}))
    with open("/proc/sys/vm/swappiness") as f:
        before = f.read()
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert "vm.swappiness" in r.stderr and "separate kernel namespace" in r.stderr
    with open("/proc/sys/vm/swappiness") as f:
        assert f.read() == before
    assert_nothing_left(runtime, cid, bundle)
