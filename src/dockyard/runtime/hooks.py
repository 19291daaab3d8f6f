"""POSIX-platform hooks (runtime-spec config.md "POSIX-platform Hooks").

Each hook is executed with the container's state JSON on stdin; a non-zero exit or a
timeout fails the operation (prestart, createRuntime, createContainer, startContainer)
or is logged as a warning (poststart, poststop).
"""

from __future__ import annotations

import os
import time

from dockyard.errors import DockyardError
from dockyard.oci import jsontext

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Hook


class HookFailed(DockyardError):
    """A hook exited non-zero or ran past its timeout."""


def run_hooks(kind: str, hooks: list[Hook], state: dict[str, Any]) -> None:
    data = jsontext.dumps(state).encode()
    for i, hook in enumerate(hooks):
        _run_one(kind, i, hook, data)


def _run_one(kind: str, index: int, hook: Hook, state: bytes) -> None:
    args = hook.get("args") or [hook["path"]]
    env = dict(e.split("=", 1) for e in hook.get("env", []) if "=" in e)
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: stdin = state, stdout+stderr -> the pipe
        try:
            os.dup2(r_in, 0)
            os.dup2(w_out, 1)
            os.dup2(w_out, 2)
            os.execve(hook["path"], args, env)
        except OSError as e:
            os.write(2, f"exec {hook['path']}: {e.strerror}".encode())
        os._exit(127)
    os.close(r_in)
    os.close(w_out)
    try:
        os.write(w_in, state)
    except BrokenPipeError:
        pass
    os.close(w_in)
    timeout = hook.get("timeout")
    deadline = None if not timeout else time.monotonic() + timeout
    output = b""
    os.set_blocking(r_out, False)
    status = None
    while status is None:
        try:
            chunk = os.read(r_out, 65536)
            output += chunk[: 4096 - len(output)] if len(output) < 4096 else b""
        except BlockingIOError:
            pass
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif deadline is not None and time.monotonic() > deadline:
            os.kill(pid, 9)  # SIGKILL
            os.waitpid(pid, 0)
            os.close(r_out)
            raise HookFailed(f"error running {kind} hook #{index}: timeout after {timeout}s")
        else:
            time.sleep(0.002)
    os.close(r_out)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        out = output.decode(errors="replace").strip()
        raise HookFailed(f"error running {kind} hook #{index}: exit status {code}"
                         + (f", output: {out}" if out else ""))
