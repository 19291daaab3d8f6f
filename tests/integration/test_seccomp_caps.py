"""Seccomp filters and capabilities applied for real, each in a forked child.

A child runs one function, reports what it saw through a pipe and leaves with os._exit;
the parent always reaps it, so nothing leaks and the test process keeps its own filter-free,
all-capable state.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import socket
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest

from dockyard.engine.profiles import default_seccomp_profile
from dockyard.linux import seccomp as scmp
from dockyard.linux._libc import libc
from dockyard.linux.errors import SyscallError
from dockyard.linux.namespaces import CLONE_NEWUSER, unshare
from dockyard.linux.process import PR_SET_KEEPCAPS, prctl
from dockyard.runtime.capabilities import (
    apply_process_caps,
    caps_to_mask,
    drop_bounding,
)
from dockyard.runtime.seccomp import prepare_filter, send_to_listener

if TYPE_CHECKING:
    from collections.abc import Callable

    from dockyard.oci.runtime_types import Seccomp, State

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def in_child(fn: Callable[[], str]) -> tuple[int, str]:
    """Run ``fn`` in a forked child; return its wait status and what it returned
    (or ``"ExcType: message"`` with exit status 1 when it raised)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 0
        try:
            os.close(r)
            out = fn()
        except BaseException as e:
            out, code = f"{type(e).__name__}: {e}", 1
        try:
            os.write(w, out.encode())
        finally:
            os._exit(code)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            data = f.read()
    finally:
        _, status = os.waitpid(pid, 0)
    return status, data.decode()


def ok(status: int, out: str) -> str:
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, out
    return out


def load(section: Seccomp) -> int | None:
    return prepare_filter(section).load()


def outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except OSError as e:
        return errno.errorcode[e.errno or 0]
    return "ok"


def test_errno_rule_on_default_allow(tmp_path: os.PathLike[str]) -> None:
    def child() -> str:
        load({"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]})
        mk = outcome(lambda: os.mkdir(os.path.join(tmp_path, "d")))
        with open(os.path.join(tmp_path, "f"), "w") as f:
            f.write("x")
        return f"{mk} {os.listdir(tmp_path)}"

    assert ok(*in_child(child)) == "EPERM ['f']"


def test_arg_filter() -> None:
    def child() -> str:
        load({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
            "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES,
            "args": [{"index": 0, "value": socket.AF_INET, "op": "SCMP_CMP_EQ"}]}]})
        inet = outcome(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
        unix = outcome(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
        return f"{inet} {unix}"

    assert ok(*in_child(child)) == "EACCES ok"


_ALLOWED = ["read", "write", "close", "exit", "exit_group", "mmap", "munmap", "brk", "mremap",
            "madvise", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "futex", "getpid",
            "gettid", "fstat", "newfstatat", "lseek", "ioctl"]


def test_default_errno_with_allow_list() -> None:
    def child() -> str:
        load({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
              "syscalls": [{"names": _ALLOWED, "action": "SCMP_ACT_ALLOW"}]})
        pid = os.getpid()
        return f"{pid > 0} {outcome(os.getcwd)} {outcome(lambda: os.open('/', os.O_RDONLY))}"

    assert ok(*in_child(child)) == "True ENOSYS ENOSYS"


def test_kill_process_is_sigsys() -> None:
    def child() -> str:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from SIGSYS
        load({"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL_PROCESS"}]})
        os.getcwd()
        return "survived"

    status, out = in_child(child)
    assert out == ""
    assert os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == signal.SIGSYS


def test_tsync_filters_threads_started_before() -> None:
    def child() -> str:
        go, seen = threading.Event(), []

        def thread() -> None:
            go.wait()
            seen.append(outcome(os.getcwd))

        t = threading.Thread(target=thread)
        t.start()
        load({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
              "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]})
        go.set()
        t.join()
        return f"{outcome(os.getcwd)} {seen[0]}"

    assert ok(*in_child(child)) == "EPERM EPERM"


def test_without_tsync_other_threads_are_not_filtered() -> None:
    def child() -> str:
        go, seen = threading.Event(), []

        def thread() -> None:
            go.wait()
            seen.append(outcome(os.getcwd))

        t = threading.Thread(target=thread)
        t.start()
        load({"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]})
        go.set()
        t.join()
        return f"{outcome(os.getcwd)} {seen[0]}"

    assert ok(*in_child(child)) == "EPERM ok"


def test_log_flag_and_spec_allow_load() -> None:
    def child() -> str:
        load({"defaultAction": "SCMP_ACT_ALLOW",
              "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
              "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]})
        return outcome(os.getcwd)

    assert ok(*in_child(child)) == "EPERM"


def test_notify_returns_listener_fd() -> None:
    def child() -> str:
        fd = load({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
        assert fd is not None
        return os.readlink(f"/proc/self/fd/{fd}")

    assert ok(*in_child(child)) == "anon_inode:seccomp notify"


def test_notify_fd_sent_to_listener(tmp_path: os.PathLike[str]) -> None:
    """The agent gets the state and the fd; once it closes the fd (no agent left), the
    notified syscall fails with ENOSYS in the container."""
    path = os.path.join(tmp_path, "agent.sock")
    state: State = {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 0,
                    "bundle": "/b", "annotations": {"a": "b"}}
    received: dict[str, object] = {}
    go_r, go_w = os.pipe()

    def agent(server: socket.socket) -> None:
        try:
            conn, _ = server.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
                received["msg"] = json.loads(msg)
                received["fd"] = [os.readlink(f"/proc/self/fd/{fd}") for fd in fds]
                received["eof"] = conn.recv(1)
                for fd in fds:
                    os.close(fd)
        finally:
            os.write(go_w, b"x")  # never leave the child waiting

    def child() -> str:
        os.close(go_w)
        fd = load({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
        assert fd is not None
        send_to_listener(path, {**state, "pid": os.getpid()}, fd, metadata="meta")
        os.close(fd)
        os.read(go_r, 1)
        return outcome(lambda: os.mkdir(os.path.join(tmp_path, "d")))

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.settimeout(10)
        server.bind(path)
        server.listen(1)
        t = threading.Thread(target=agent, args=(server,))
        t.start()
        try:
            status, out = in_child(child)
        finally:
            os.close(go_r)
            t.join(timeout=10)
            os.close(go_w)
    assert ok(status, out) == "ENOSYS"
    msg = received["msg"]
    assert isinstance(msg, dict)
    pid = msg["pid"]
    assert msg == {"ociVersion": "1.0.2", "fds": ["seccompFd"], "pid": pid, "metadata": "meta",
                   "state": {**state, "pid": pid}}
    assert received["fd"] == ["anon_inode:seccomp notify"]
    assert received["eof"] == b""


def test_send_to_missing_listener_is_an_error(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "nobody.sock")
    state: State = {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "bundle": "/b"}
    with pytest.raises(SyscallError) as e:
        send_to_listener(path, state, 0)
    assert e.value.errno == errno.ENOENT
    assert str(e.value) == f"send seccomp fd to {path}: No such file or directory"


def test_libseccomp_load_directly() -> None:
    """The linux layer's own seccomp_load path (the runtime loads through seccomp(2))."""
    def child() -> str:
        ctx = scmp.Context(scmp.SCMP_ACT_ALLOW)
        nr = scmp.syscall_resolve_name("getcwd")
        assert nr is not None
        ctx.attr_set(scmp.SCMP_FLTATR_CTL_NNP, 0)
        ctx.rule_add(scmp.act_errno(errno.EROFS), nr, name="getcwd")
        ctx.load()
        ctx.release()
        return outcome(os.getcwd)

    assert ok(*in_child(child)) == "EROFS"


def test_no_notify_returns_none() -> None:
    def child() -> str:
        return repr(load({"defaultAction": "SCMP_ACT_ALLOW",
                          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]}))

    assert ok(*in_child(child)) == "None"


def test_docker_default_profile() -> None:
    profile = default_seccomp_profile()

    def child() -> str:
        load(profile)
        echo = subprocess.run(["/bin/echo", "hi"], capture_output=True, check=True).stdout
        userns = outcome(lambda: unshare(CLONE_NEWUSER))
        return f"{echo!r} {userns} {outcome(os.getcwd)} {clone3()}"

    # Unfiltered, clone3(NULL, 0) fails with EINVAL and root may unshare(CLONE_NEWUSER).
    assert ok(*in_child(clone3)) == "EINVAL"
    # The profile denies unshare like Docker does, and makes clone3 ENOSYS so libcs fall
    # back to clone, whose flags it can filter.
    assert ok(*in_child(child)) == "b'hi\\n' EPERM ok ENOSYS"


def fchmodat2() -> str:
    """errno name of fchmodat2(AT_FDCWD, "/nonexistent", 0, 0) (syscall 452, Linux 6.6):
    newer than every syscall Docker's profile names, and what glibc 2.39 probes."""
    ret = libc.syscall(452, -100, b"/nonexistent", 0, 0)
    return "ok" if ret >= 0 else errno.errorcode[ctypes.get_errno()]


def test_newer_syscalls_get_enosys_under_a_deny_profile() -> None:
    assert ok(*in_child(fchmodat2)) == "ENOENT"  # the kernel has it

    def child() -> str:
        load(default_seccomp_profile())
        return f"{fchmodat2()} {outcome(lambda: unshare(CLONE_NEWUSER))}"

    # a syscall the profile does not know: ENOSYS; one it knows and denies: EPERM
    assert ok(*in_child(child)) == "ENOSYS EPERM"


def test_enosys_stub_keeps_a_custom_default_errno() -> None:
    def child() -> str:
        load({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.EACCES,
              "syscalls": [{"names": _ALLOWED, "action": "SCMP_ACT_ALLOW"}]})
        return f"{fchmodat2()} {outcome(os.getcwd)}"

    assert ok(*in_child(child)) == "ENOSYS EACCES"


def clone3() -> str:
    """errno name of clone3(NULL, 0) (x86_64 and aarch64: syscall 435)."""
    ret = libc.syscall(435, None, 0)
    return "ok" if ret >= 0 else errno.errorcode[ctypes.get_errno()]


def _status_masks() -> dict[str, int]:
    with open("/proc/self/status") as f:
        return {k: int(v, 16) for k, v in (line.split(":\t") for line in f)
                if k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_capabilities_across_uid_switch() -> None:
    docker = caps_to_mask(["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                           "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                           "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                           "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"])
    prm = caps_to_mask(["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"])
    eff = caps_to_mask(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"])
    inh = caps_to_mask(["CAP_NET_BIND_SERVICE", "CAP_KILL"])
    amb = caps_to_mask(["CAP_NET_BIND_SERVICE", "CAP_CHOWN"])  # CHOWN: not inheritable

    def child() -> str:
        drop_bounding(docker)
        prctl(PR_SET_KEEPCAPS, 1)
        os.setgroups([])
        os.setresgid(1000, 1000, 1000)
        os.setresuid(1000, 1000, 1000)
        prctl(PR_SET_KEEPCAPS, 0)
        skipped = apply_process_caps(eff, prm, inh, amb)
        m = _status_masks()
        return (" ".join(f"{k}={m[k]:x}" for k in sorted(m)) + f" uid={os.getuid()}"
                + f" skipped={','.join(skipped)}")

    out = ok(*in_child(child))
    assert out == (f"CapAmb={1 << 10:x} CapBnd={docker:x} CapEff={eff:x} CapInh={inh:x} "
                   f"CapPrm={prm:x} uid=1000 skipped=CAP_CHOWN")


def test_drop_bounding_keeps_nothing() -> None:
    def child() -> str:
        drop_bounding(0)
        return f"{_status_masks()['CapBnd']:x}"

    assert ok(*in_child(child)) == "0"
