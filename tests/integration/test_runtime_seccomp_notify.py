"""Seccomp user notification (runtime-spec ``listenerPath``), under dockyard-runtime and runc.

A test agent (a thread with a listening unix socket) receives the container process state
and the notify fd, then answers the container's ``mkdir`` with EPERM through the ioctls.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import socket
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtimes import Runtime, cgroup_dirs, edit_config, make_bundle

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

# linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif) (80 bytes) and
# _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes).
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101


def read_state(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The state JSON and the fds sent with it. Stops at the end of the JSON, not at EOF:
    runc 1.1 keeps the connection open (the spec says the runtime closes it)."""
    chunks: list[bytes] = []
    fds: list[int] = []
    while True:
        data, got, _, _ = socket.recv_fds(conn, 65536, 4)
        fds += got
        if not data:
            raise ValueError(f"EOF before a complete state: {b''.join(chunks)!r}")
        chunks.append(data)
        try:
            message: dict[str, Any] = json.loads(b"".join(chunks))
        except ValueError:
            continue
        return message, fds


class Agent:
    """Accepts connections at ``path`` (each: a state and a notify fd) and answers every
    notification on every fd with EPERM, until closed."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.messages: list[dict[str, Any]] = []
        self.fd_kinds: list[str] = []
        self.answered: list[int] = []  # syscall numbers
        self.error = ""
        self._fds: list[int] = []
        self._stop_r, self._stop_w = os.pipe()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def message(self) -> dict[str, Any]:
        return self.messages[0] if self.messages else {}

    def _serve(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self.sock, self._stop_r, *self._fds], [], [], 60)
                if self._stop_r in ready or not ready:
                    return
                if self.sock in ready:
                    conn, _ = self.sock.accept()
                    with conn:
                        message, fds = read_state(conn)
                    self.messages.append(message)
                    self._fds += fds
                    self.fd_kinds += [os.readlink(f"/proc/self/fd/{fd}") for fd in fds]
                for fd in [fd for fd in self._fds if fd in ready]:
                    self._answer(fd)
        except Exception as e:  # reported by the test
            self.error = repr(e)
        finally:
            for fd in self._fds:
                os.close(fd)

    def _answer(self, fd: int) -> None:
        notif = bytearray(80)
        try:
            fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notif, True)
        except OSError as e:
            if e.errno == errno.ENOENT:  # the process went away
                return
            self._fds.remove(fd)  # no process is left to notify us
            os.close(fd)
            return
        notif_id, _pid, _flags, nr = struct.unpack_from("=QIIi", notif)
        resp = struct.pack("=QqiI", notif_id, 0, -errno.EPERM, 0)
        try:
            fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(resp), True)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        self.answered.append(nr)

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self.thread.join(65)
        self.sock.close()
        os.close(self._stop_r)
        os.close(self._stop_w)


def _notify_bundle(tmp_path: Path, rootfs: Path, seccomp: dict[str, Any]) -> Path:
    bundle = make_bundle(tmp_path, rootfs, [
        "sh", "-c", "mkdir /x; echo mkdir=$?; echo alive"])
    edit_config(bundle, lambda s: s["linux"].update(seccomp=seccomp))
    return bundle


def test_agent_gets_state_and_fd_and_answers(runtime: Runtime, tmp_path: Path,
                                            busybox_rootfs: Path) -> None:
    path = str(tmp_path / "agent.sock")
    bundle = _notify_bundle(tmp_path, busybox_rootfs, {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "listenerMetadata": "meta-1",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]})
    agent = Agent(path)
    cid = runtime.new_id()
    try:
        r = runtime("run", "--bundle", str(bundle), cid)
    finally:
        agent.close()
    assert not agent.error, agent.error
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stdout + r.stderr
    assert "mkdir=1" in r.stdout and "alive" in r.stdout
    assert agent.answered
    assert agent.fd_kinds == ["anon_inode:seccomp notify"]
    m = agent.message
    assert m["fds"] == ["seccompFd"]
    assert m["metadata"] == "meta-1"
    assert m["ociVersion"] and m["pid"] > 0
    state = m["state"]
    assert state["id"] == cid
    assert state["status"] == "creating"
    assert state["pid"] == m["pid"]
    assert state["bundle"] == str(bundle)
    assert state["ociVersion"]


def test_process_runs_on_after_agent_closes_fd(runtime: Runtime, tmp_path: Path,
                                               busybox_rootfs: Path) -> None:
    """Once the agent has gone, the notified syscalls fail (ENOSYS) but the process runs."""
    path = str(tmp_path / "agent.sock")
    bundle = _notify_bundle(tmp_path, busybox_rootfs, {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]})
    received: list[object] = []

    def agent(sock: socket.socket) -> None:
        conn, _ = sock.accept()
        with conn:
            message, fds = read_state(conn)
            received.append(message.get("metadata", ""))
            for fd in fds:
                os.close(fd)

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(path)
        sock.listen(1)
        sock.settimeout(30)
        thread = threading.Thread(target=agent, args=(sock,), daemon=True)
        thread.start()
        cid = runtime.new_id()
        r = runtime("run", "--bundle", str(bundle), cid)
        thread.join(30)
    assert r.returncode == 0, r.stderr
    assert received == [""]  # no metadata key without listenerMetadata
    assert "mkdir=1" in r.stdout and "alive" in r.stdout


def test_exec_process_notifies_the_agent(runtime: Runtime, tmp_path: Path,
                                         busybox_rootfs: Path) -> None:
    path = str(tmp_path / "agent.sock")
    bundle = _notify_bundle(tmp_path, busybox_rootfs, {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]})
    edit_config(bundle, lambda s: s["process"].update(args=["sleep", "100"]))
    agent = Agent(path)
    cid = runtime.new_id()
    try:
        runtime("run", "-d", "--bundle", str(bundle), cid, check=True)
        init_pid = runtime.state(cid)["pid"]
        r = runtime("exec", cid, "sh", "-c", "mkdir /y; echo mkdir=$?")
        runtime("kill", cid, "KILL")
    finally:
        agent.close()
    assert not agent.error, agent.error
    assert r.returncode == 0, r.stderr
    assert "mkdir=1" in r.stdout and "Operation not permitted" in r.stdout + r.stderr
    assert agent.fd_kinds == ["anon_inode:seccomp notify"] * 2
    first, second = agent.messages
    assert first["state"]["status"] == "creating" and first["pid"] == init_pid
    assert second["state"]["status"] == "running" and second["state"]["pid"] == init_pid
    assert second["state"]["id"] == cid
    assert second["pid"] not in (0, init_pid)


def _assert_failed_cleanly(rt: Runtime, cid: str, bundle: Path, r: Any, *words: str) -> None:
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert rt("state", cid).returncode == 1
    assert not (rt.root / cid).exists()
    assert cgroup_dirs(bundle.name) == []


def test_notify_without_listener_path_is_an_error(runtime: Runtime, tmp_path: Path,
                                                  busybox_rootfs: Path) -> None:
    bundle = _notify_bundle(tmp_path, busybox_rootfs, {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    _assert_failed_cleanly(runtime, cid, bundle, r, "listenerPath")


def test_agent_not_listening_is_an_error(runtime: Runtime, tmp_path: Path,
                                         busybox_rootfs: Path) -> None:
    path = str(tmp_path / "nobody.sock")
    bundle = _notify_bundle(tmp_path, busybox_rootfs, {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    cid = runtime.new_id()
    r = runtime("run", "--bundle", str(bundle), cid)
    _assert_failed_cleanly(runtime, cid, bundle, r, "nobody.sock")


def test_relative_listener_path_is_refused(dockyard_runtime: Runtime, tmp_path: Path,
                                           busybox_rootfs: Path) -> None:
    bundle = _notify_bundle(tmp_path, busybox_rootfs, {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    cid = dockyard_runtime.new_id()
    r = dockyard_runtime("run", "--bundle", str(bundle), cid)
    _assert_failed_cleanly(dockyard_runtime, cid, bundle, r, "listenerPath", "absolute")
