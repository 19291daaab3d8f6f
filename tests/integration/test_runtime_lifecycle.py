"""Lifecycle, exec, hooks, terminals and cleanup, as containerd's shim drives a runtime."""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtimes import Runtime, cgroup_dirs, edit_config, make_bundle

pytestmark = pytest.mark.integration


def wait_status(rt: Runtime, cid: str, want: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = rt("state", cid)
        st: dict[str, Any] = json.loads(r.stdout) if r.returncode == 0 else {"status": ""}
        if st["status"] == want or time.monotonic() > deadline:
            return st
        time.sleep(0.02)


def read_to_end(fd: int) -> bytes:
    """All a pty master yields until its slave side is closed (EIO) or EOF."""
    output = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            return output
        if not chunk:
            return output
        output += chunk


def mounted(fragment: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return fragment in f.read()


def test_state_transitions_and_cleanup(runtime: Runtime, tmp_path: Path,
                                       busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    cid = runtime.new_id()
    pid_file = tmp_path / "pid"
    r = runtime("create", "--bundle", str(bundle), "--pid-file", str(pid_file), cid)
    assert r.returncode == 0, r.stderr
    st = runtime.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == str(bundle)
    assert int(pid_file.read_text()) == st["pid"]
    assert os.path.exists(f"/proc/{st['pid']}")
    assert runtime("start", cid).returncode == 0
    assert runtime.state(cid)["status"] == "running"
    r = runtime("delete", cid)
    assert r.returncode == 1 and "not stopped" in r.stderr
    assert runtime("kill", cid, "KILL").returncode == 0
    st = wait_status(runtime, cid, "stopped")
    assert st["status"] == "stopped"
    assert runtime("delete", cid).returncode == 0
    r = runtime("state", cid)
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert not os.path.exists(f"/proc/{st['pid']}") or _zombie(st["pid"])
    assert cgroup_dirs(bundle.name) == []
    assert not mounted(str(busybox_rootfs))


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_delete_force_of_running_container_leaves_nothing(runtime: Runtime, tmp_path: Path,
                                                          busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs,
                         ["sh", "-c", "sleep 100 & sleep 100 & sleep 100"])
    cid = runtime.new_id()
    assert runtime("run", "--detach", "--bundle", str(bundle), cid).returncode == 0
    pid = runtime.state(cid)["pid"]
    assert len(json.loads(runtime("ps", "--format", "json", cid).stdout)) >= 3
    r = runtime("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(f"/proc/{pid}") or _zombie(pid)
    assert cgroup_dirs(bundle.name) == []


def test_kill_all_and_signals(runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    cid = runtime.new_id()
    assert runtime("run", "-d", "--bundle", str(bundle), cid).returncode == 0
    r = runtime("kill", cid, "NOSUCHSIG")
    assert r.returncode == 1 and "unknown signal" in r.stderr and "NOSUCHSIG" in r.stderr
    # (a pid 1 ignores TERM without a handler: KILL reaches every process)
    assert runtime("kill", "--all", cid, "KILL").returncode == 0
    assert wait_status(runtime, cid, "stopped")["status"] == "stopped"
    r = runtime("kill", cid, "TERM")
    assert r.returncode == 1 and "not running" in r.stderr


def test_exec_returns_the_exit_code(runtime: Runtime, tmp_path: Path,
                                    busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"], hostname="box")
    cid = runtime.new_id()
    assert runtime("run", "-d", "--bundle", str(bundle), cid).returncode == 0
    r = runtime("exec", cid, "sh", "-c", "hostname; echo $$ > /dev/null; exit 7")
    assert r.returncode == 7 and r.stdout.strip() == "box"
    r = runtime("exec", "--env", "X=1", "--cwd", "/etc", cid, "sh", "-c", 'echo "$X $PWD"')
    assert r.stdout.strip() == "1 /etc"
    r = runtime("exec", cid, "nosuch")
    assert r.returncode == 255
    assert "nosuch" in r.stderr and "executable file not found in $PATH" in r.stderr
    process = {"args": ["sh", "-c", "id -u"], "cwd": "/", "user": {"uid": 65534, "gid": 0},
               "env": ["PATH=/bin"]}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(process))
    r = runtime("exec", "--process", str(pf), cid)
    assert r.returncode == 0 and r.stdout.strip() == "65534"
    # the exec'd process shares the container's pid namespace and cgroup
    r = runtime("exec", cid, "ps")
    assert "sleep 60" in r.stdout


def test_hooks_run_with_state_on_stdin(runtime: Runtime, tmp_path: Path,
                                       busybox_rootfs: Path) -> None:
    out = tmp_path / "hooks"
    out.mkdir()
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\ncat > {out}/$1\n")
    script.chmod(0o755)
    hooks = {kind: [{"path": str(script), "args": ["hook.sh", kind]}]
             for kind in ("prestart", "createRuntime", "poststart", "poststop")}
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"], hooks=hooks)
    cid = runtime.new_id()
    assert runtime("create", "--bundle", str(bundle), cid).returncode == 0
    created = json.loads((out / "createRuntime").read_text())
    assert created["id"] == cid and created["pid"] > 0
    assert (out / "prestart").exists()
    if runtime.name != "runc":  # runc 1.1 runs poststart at create (fixed in runc 1.2)
        assert not (out / "poststart").exists()
    assert runtime("start", cid).returncode == 0
    assert json.loads((out / "poststart").read_text())["id"] == cid
    wait_status(runtime, cid, "stopped")
    assert runtime("delete", cid).returncode == 0
    assert json.loads((out / "poststop").read_text())["id"] == cid


def test_failing_prestart_hook_fails_create_and_cleans_up(runtime: Runtime, tmp_path: Path,
                                                          busybox_rootfs: Path) -> None:
    hooks = {"prestart": [{"path": "/bin/false"}]}
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"], hooks=hooks)
    cid = runtime.new_id()
    r = runtime("create", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert "hook" in r.stderr
    assert runtime("state", cid).returncode == 1
    assert cgroup_dirs(bundle.name) == []


def _console_server(path: Path) -> socket.socket:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    return srv


def test_terminal_through_console_socket(runtime: Runtime, tmp_path: Path,
                                         busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "test -t 0 && tty && echo hi"])
    edit_config(bundle, lambda s: s["process"].update(terminal=True))
    sock_path = tmp_path / "console.sock"
    srv = _console_server(sock_path)
    cid = runtime.new_id()
    try:
        r = runtime("create", "--bundle", str(bundle), "--console-socket", str(sock_path), cid)
        assert r.returncode == 0, r.stderr
        conn, _ = srv.accept()
        fds = array.array("i")
        _, ancdata, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
        fds.frombytes(ancdata[0][2][: fds.itemsize])
        master = fds[0]
        conn.close()
        assert runtime("start", cid).returncode == 0
        output = read_to_end(master)
        os.close(master)
    finally:
        srv.close()
    text = output.decode()
    assert "/dev/pts/0" in text or "/dev/console" in text, text
    assert "hi" in text


def test_create_of_existing_id_is_refused(runtime: Runtime, tmp_path: Path,
                                          busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"])
    cid = runtime.new_id()
    assert runtime("create", "--bundle", str(bundle), cid).returncode == 0
    r = runtime("create", "--bundle", str(bundle), cid)
    assert r.returncode == 1
    assert "exists" in r.stderr
    assert runtime.state(cid)["status"] == "created"


def test_list_and_ps(runtime: Runtime, tmp_path: Path, busybox_rootfs: Path) -> None:
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"])
    cid = runtime.new_id()
    assert runtime("run", "-d", "--bundle", str(bundle), cid).returncode == 0
    listing = json.loads(runtime("list", "--format", "json").stdout)
    assert [s["id"] for s in listing] == [cid]
    assert listing[0]["status"] == "running"
    assert cid in runtime("list", "-q").stdout
    r = runtime("ps", cid)
    assert r.returncode == 0 and "PID" in r.stdout.splitlines()[0]
    assert "sleep 30" in r.stdout


def test_created_init_cannot_overwrite_the_runtime_binary(dockyard_runtime: Runtime,
                                                          tmp_path: Path,
                                                          busybox_rootfs: Path) -> None:
    """CVE-2019-5736: the process waiting in the container runs from a read-only file."""
    rt = dockyard_runtime
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"])
    cid = rt.new_id()
    assert rt("create", "--bundle", str(bundle), cid).returncode == 0
    pid = rt.state(cid)["pid"]
    exe = os.path.realpath(sys.executable)  # the interpreter dockyard-runtime runs on
    # The file it runs is the host's interpreter, reached through a read-only mount:
    # once the busy text file is free, a write still fails with EROFS.
    assert os.path.samefile(f"/proc/{pid}/exe", exe)
    assert os.statvfs(f"/proc/{pid}/exe").f_flag & os.ST_RDONLY
    assert not os.statvfs(exe).f_flag & os.ST_RDONLY
    with pytest.raises(OSError) as info:
        os.open(f"/proc/{pid}/exe", os.O_WRONLY)
    assert info.value.errno in (26, 30)  # ETXTBSY while it runs, EROFS always


def test_run_forwards_signals(dockyard_runtime: Runtime, tmp_path: Path,
                              busybox_rootfs: Path) -> None:
    import subprocess

    bundle = make_bundle(tmp_path, busybox_rootfs,
                         ["sh", "-c", "trap 'echo got-term; exit 3' TERM; "
                                      "while :; do sleep 0.1; done"])
    cid = dockyard_runtime.new_id()
    p = subprocess.Popen([*dockyard_runtime.argv, "--root", str(dockyard_runtime.root),
                          "run", "--bundle", str(bundle), cid], stdout=subprocess.PIPE,
                         text=True)
    try:
        wait_status(dockyard_runtime, cid, "running")
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 3
    assert "got-term" in out


def test_sigkill_of_create_leaves_nothing_delete_cannot_remove(dockyard_runtime: Runtime,
                                                               tmp_path: Path,
                                                               busybox_rootfs: Path) -> None:
    import subprocess

    marker = tmp_path / "hook-ran"
    hook = tmp_path / "slow-hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 30\n")
    hook.chmod(0o755)
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"],
                         hooks={"createRuntime": [{"path": str(hook)}]})
    rt = dockyard_runtime
    cid = rt.new_id()
    p = subprocess.Popen([*rt.argv, "--root", str(rt.root), "create", "--bundle", str(bundle),
                          cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists()
        p.kill()  # mid-create: the init is waiting in its namespaces, the hook is running
        p.wait()
        assert rt.state(cid)["status"] == "creating"
        r = rt("delete", "--force", cid)
        assert r.returncode == 0, r.stderr
        assert rt("state", cid).returncode == 1
        assert cgroup_dirs(bundle.name) == []
        assert not mounted(str(busybox_rootfs))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run(["pkill", "-f", str(hook)], check=False)


def test_container_hooks_run_inside(runtime: Runtime, tmp_path: Path,
                                    busybox_rootfs: Path) -> None:
    """createContainer runs in the container's namespaces before pivot_root (host paths
    still resolve); startContainer runs after it, so its path is the container's."""
    out = tmp_path / "created.txt"
    hooks = {"createContainer": [{"path": "/bin/sh",
                                  "args": ["sh", "-c", f"readlink /proc/self/ns/uts > {out}"]}],
             "startContainer": [{"path": "/bin/sh",
                                 "args": ["sh", "-c", "echo started > /tmp/started"]}]}
    bundle = make_bundle(tmp_path, busybox_rootfs,
                         ["sh", "-c", "readlink /proc/self/ns/uts; cat /tmp/started"],
                         copy_rootfs=True, hooks=hooks)
    edit_config(bundle, lambda s: s["root"].update(readonly=False))
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    assert r.returncode == 0, r.stderr
    container_uts, started = r.stdout.split()
    assert out.read_text().strip() == container_uts != os.readlink("/proc/self/ns/uts")
    assert started == "started"


def test_foreground_terminal_is_proxied(dockyard_runtime: Runtime, tmp_path: Path,
                                        busybox_rootfs: Path) -> None:
    import pty
    import subprocess

    bundle = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "tty; read x; echo got $x; "
                                                    "exit 4"])
    edit_config(bundle, lambda s: s["process"].update(terminal=True))
    master, slave = pty.openpty()
    rt = dockyard_runtime
    p = subprocess.Popen([*rt.argv, "--root", str(rt.root), "run", "--bundle", str(bundle),
                          rt.new_id()], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + 20
        while b"/dev/" not in output and time.monotonic() < deadline:
            output += os.read(master, 1024)
        os.write(master, b"hello\r")
        while p.poll() is None and time.monotonic() < deadline:
            try:
                output += os.read(master, 1024)
            except OSError:
                break
        p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert p.returncode == 4, output
    assert b"/dev/pts/0" in output and b"got hello" in output


def test_exec_with_a_terminal(dockyard_runtime: Runtime, tmp_path: Path,
                              busybox_rootfs: Path) -> None:
    import pty
    import subprocess

    rt = dockyard_runtime
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    cid = rt.new_id()
    assert rt("run", "-d", "--bundle", str(bundle), cid).returncode == 0
    master, slave = pty.openpty()
    p = subprocess.Popen([*rt.argv, "--root", str(rt.root), "exec", "--tty", cid, "sh", "-c",
                          "test -t 0 && tty; exit 6"], stdin=slave, stdout=slave,
                         stderr=slave)
    os.close(slave)
    output = b""
    try:
        p.wait(timeout=20)
        output = read_to_end(master)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert p.returncode == 6, output
    assert b"/dev/pts/" in output
