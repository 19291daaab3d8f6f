"""``docker build``: the engine's side of :mod:`dockyard.build`.

The builder is given a :class:`ContainerStepRunner` (a RUN step is a real container:
Docker's spec from :func:`dockyard.engine.spec.build_spec`, run by the OCI runtime
library on the step's mounted snapshot) and an image resolver (local images, a pull
with ``--pull`` or when the image is missing).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from dockyard.build.builder import BuildOptions, RunProcess
from dockyard.errors import DockyardError, NotFound

__all__ = ["ContainerStepRunner", "build"]


class ContainerStepRunner:
    """Runs a RUN step as a container: stdin is ``/dev/null``; stdout and stderr are
    ours (streamed live) or, when quiet, a temporary file handed back."""

    def __init__(self, exec_root: str) -> None:
        self.exec_root = exec_root
        self.runtime_root = os.path.join(exec_root, "runtime")

    def run(self, rootfs: str, proc: RunProcess, quiet: bool) -> tuple[int, bytes]:
        from dockyard.engine.containers import new_id
        from dockyard.engine.run_options import RunOptions
        from dockyard.engine.spec import build_spec
        from dockyard.oci import jsontext
        from dockyard.runtime.create import CreateOptions, create
        from dockyard.runtime.delete import delete
        from dockyard.runtime.launch import InitFailed
        from dockyard.runtime.start import start

        cid = new_id()
        bundle = os.path.join(self.exec_root, "build", cid)
        os.makedirs(bundle, mode=0o700)
        opts = RunOptions(cmd=list(proc.args), entrypoint="", user=proc.user,
                          workdir=proc.cwd,
                          network_mode="none" if proc.network == "none" else "host")
        spec = build_spec(opts, {"Env": proc.env}, rootfs, container_id=cid)
        spec["process"]["env"] = [e for e in spec["process"]["env"]
                                  if not e.startswith("HOSTNAME=")]
        with open(os.path.join(bundle, "config.json"), "w") as f:
            f.write(jsontext.dumps(spec))
        sys.stdout.flush()
        sys.stderr.flush()
        log = tempfile.TemporaryFile(dir=bundle) if quiet else None  # noqa: SIM115
        saved = [os.dup(0), os.dup(1), os.dup(2)]
        try:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            if log is not None:
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
            try:
                c = create(self.runtime_root, cid, bundle, CreateOptions())
                start(self.runtime_root, cid)
            finally:
                for fd, saved_fd in enumerate(saved):
                    os.dup2(saved_fd, fd)
            code, cancelled = _wait_cancellable(c.pid)
            if cancelled:
                raise KeyboardInterrupt
        except InitFailed as e:
            text = str(e)
            code = 127 if ("not found" in text or "no such file" in text) else 126
            sys.stderr.write(f"{text}\n")
        finally:
            for fd in saved:
                os.close(fd)
            try:
                delete(self.runtime_root, cid, force=True)
            except DockyardError:
                pass
            output = b""
            if log is not None:
                log.seek(0)
                output = log.read()
                log.close()
            shutil.rmtree(bundle, ignore_errors=True)
        return code, output


def _wait_cancellable(pid: int) -> tuple[int, bool]:
    """Reap children (we are their subreaper) until ``pid`` exits: its exit code, and
    whether we were interrupted meanwhile. SIGINT, SIGTERM or SIGHUP cancel the step:
    the container is killed (its init may ignore the signal, as a PID 1 does), as
    Docker's daemon kills a build's container when the client goes."""
    import signal

    from dockyard.runtime.exec import exit_code

    cancelled: list[int] = []

    def cancel(signum: int, _frame: object) -> None:
        cancelled.append(signum)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, cancel) for s in sigs}
    try:
        while True:
            try:
                reaped, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return 0, bool(cancelled)
            if reaped == pid:
                return exit_code(status), bool(cancelled)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _resolver(images: object, out: Callable[[str], None]) -> Callable[[str, bool], str]:
    from dockyard.engine.images import Images

    assert isinstance(images, Images)

    def resolve(name: str, pull: bool) -> str:
        if not pull:
            try:
                return images.resolve(name).id
            except NotFound:
                pass
        try:
            ref = images.pull(name, out=out)
        except DockyardError as e:
            if not pull:
                raise NotFound(f"pull access denied for {name}, repository does not exist "
                               f"or may require 'docker login': {e}") from None
            raise
        return images.resolve(ref).id

    return resolve


def build(root: str, exec_root: str, path: str, dockerfile: str | None,
          opts: BuildOptions, stdin: BinaryIO | None,
          out: Callable[[str], None]) -> tuple[str, list[str]]:
    """Build; returns the image ID and the warnings to show (unused build args)."""
    from dockyard.build.builder import Builder
    from dockyard.build.context import open_context
    from dockyard.engine.images import Images
    from dockyard.oci.reference import parse_reference

    refs = [str(parse_reference(t)) for t in opts.tags]  # bad tags fail first
    images = Images(root)
    try:
        svc = images.svc
        tmp = os.path.join(root, "image", "tmp")
        os.makedirs(tmp, mode=0o700, exist_ok=True)
        with open_context(path, dockerfile, stdin, tmp) as ctx:
            b = Builder(svc, ContainerStepRunner(exec_root), _resolver(images, out),
                        os.path.join(exec_root, "build"), out)
            image_id = b.build(ctx, opts)
        for ref in refs:
            svc.store.tag(ref, image_id)
        warnings = []
        unused = b.unused_args()
        if unused:
            warnings.append(f"[Warning] One or more build-args [{' '.join(unused)}] were "
                            "not consumed")
        return image_id, warnings
    finally:
        images.close()
