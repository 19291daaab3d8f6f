"""``docker build``: the engine's side of :mod:`dockyard.build`.

The builder is given a :class:`ContainerStepRunner` (a RUN step is a real container:
Docker's spec from :func:`dockyard.engine.spec.build_spec`, run by the OCI runtime
library on the step's mounted snapshot) and an image resolver (local images, a pull
with ``--pull`` or when the image is missing).
"""

from __future__ import annotations

import os
import sys

from dockyard.errors import DockyardError, InvalidArgument, NotFound

#: ``typing`` and the builder are imported only when needed: a rebuild with nothing
#: changed (the build memo) loads neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from dockyard.build.builder import Builder, RunProcess
    from dockyard.build.options import BuildOptions
    from dockyard.engine.images import Images

__all__ = ["BadTag", "ContainerStepRunner", "build"]


class BadTag(InvalidArgument):
    """A ``-t`` that is no image reference: Docker's CLI refuses it as a flag (125)."""


class ContainerStepRunner:
    """Runs a RUN step as a container: stdin is ``/dev/null``; stdout and stderr are
    ours (streamed live) or, when quiet, a temporary file handed back."""

    def __init__(self, exec_root: str) -> None:
        self.exec_root = exec_root
        self.runtime_root = os.path.join(exec_root, "runtime")

    def run(self, rootfs: str, proc: RunProcess, quiet: bool,
            announce: Callable[[str], None]) -> tuple[int, bytes]:
        import shutil
        import tempfile

        from dockyard.engine.containers import new_id
        from dockyard.engine.run_options import RunOptions
        from dockyard.engine.spec import build_spec
        from dockyard.oci import jsontext
        from dockyard.runtime.create import CreateOptions, create
        from dockyard.runtime.delete import delete
        from dockyard.runtime.launch import InitFailed
        from dockyard.runtime.start import start

        cid = new_id()
        announce(cid)
        bundle = os.path.join(self.exec_root, "build", cid)
        os.makedirs(bundle, mode=0o700)
        opts = RunOptions(cmd=list(proc.args), entrypoint="", user=proc.user,
                          workdir=proc.cwd,
                          network_mode="none" if proc.network == "none" else "host")
        spec = build_spec(opts, {"Env": proc.env}, rootfs, container_id=cid,
                          etc_files=_etc_files(bundle, cid[:12]))
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


def _etc_files(bundle: str, hostname: str) -> dict[str, str]:
    """The step's resolv.conf (the host's: RUN has the host's network), hosts and
    hostname, bound over the rootfs as Docker does (they stay out of the layer)."""
    files = {"hostname": f"{hostname}\n",
             "hosts": f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                      f"127.0.1.1\t{hostname}\n"}
    try:
        with open("/etc/resolv.conf") as f:
            files["resolv.conf"] = f.read()
    except OSError:
        files["resolv.conf"] = ""
    out = {}
    for name, text in files.items():
        path = os.path.join(bundle, name)
        with open(path, "w") as f:
            f.write(text)
        out[name] = path
    return out


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


def _resolver(images: Images, out: Callable[[str], None]) -> Callable[[str, bool], str]:
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
          opts: BuildOptions, stdin: BinaryIO | None, out: Callable[[str], None],
          platform: str | None = None) -> tuple[str, list[str]]:
    """Build; returns the image ID and the warnings to show (unused build args).
    ``platform`` (``--platform``) must be the host's: no emulation here."""
    if platform:
        from dockyard.build.options import check_platform

        check_platform(platform)
    memo = None
    if path != "-" and dockerfile != "-":
        memo = _MemoUse(root, path, dockerfile, opts)
        hit = None if opts.no_cache or opts.pull else memo.replay(out)
        if hit is not None:
            return hit
        # a --no-cache or --pull build records what the step cache now holds
    return _build(root, exec_root, path, dockerfile, opts, stdin, out, memo)


class _MemoUse:
    """The build memo (:mod:`dockyard.build.memo`) for one build: its key before the
    build, the replay of a hit, the record after a successful build."""

    def __init__(self, root: str, path: str, dockerfile: str | None,
                 opts: BuildOptions) -> None:
        from dockyard.build.memo import memo_slot

        self.root = root
        self.opts = opts
        self.ctx_dir = os.path.abspath(path)
        self.df_path = os.path.abspath(dockerfile) if dockerfile else os.path.join(
            self.ctx_dir, "Dockerfile")
        self.slot = memo_slot(self.ctx_dir, self.df_path, opts.identity())
        self.key = self._key()

    def _key(self) -> str | None:
        from dockyard.build.memo import memo_key

        try:
            with open(self.df_path, "rb") as f:
                text = f.read()
            return memo_key(self.ctx_dir, text, self.opts.identity())
        except OSError:
            return None

    def replay(self, out: Callable[[str], None]) -> tuple[str, list[str]] | None:
        import sqlite3

        from dockyard.build.memo import Memo
        from dockyard.sqlite import connect

        if self.key is None:
            return None
        conn = connect(self.root)
        try:
            try:
                rec = Memo(conn).lookup(self.slot, self.key)
            except sqlite3.OperationalError:  # a new root: no images yet
                return None
            if rec is None or rec.get("tags_raw") != self.opts.tags:
                return None
            image_id = str(rec["image"])
            refs = list(rec["tags"])  # type: ignore[call-overload]
            now = dict(conn.execute(
                f"SELECT ref, image_id FROM image_tags WHERE ref IN "
                f"({','.join('?' * len(refs))})", refs).fetchall()) if refs else {}
            if any(now.get(ref) != image_id for ref in refs):
                from dockyard.image.store import ImageStore

                store = ImageStore(conn)
                for ref in refs:
                    store.tag(ref, image_id)
            # tags already on the image stay as they are (no write: nothing for SQLite
            # to checkpoint when this process closes the database)
            for kind, value in rec["events"]:  # type: ignore[attr-defined]
                if kind in ("from", "step"):
                    out(value)
                    if kind == "step":
                        out(" ---> Using cache\n")
                elif kind == "id":
                    out(f" ---> {value[7:19]}\n")
                else:
                    out(value)
            return image_id, list(rec["warnings"])  # type: ignore[call-overload]
        finally:
            conn.close()

    def record(self, images: Images, b: Builder, image_id: str, refs: list[str],
               warnings: list[str]) -> None:
        from dockyard.build.memo import Memo
        from dockyard.oci.reference import parse_reference

        if self.key is None or self._key() != self.key:  # the context moved meanwhile
            return
        bases: dict[str, str] = {}
        for name, base_id in b.images.items():
            try:
                ref = parse_reference(name)
            except DockyardError:
                continue
            if ref.digest is None and images.svc.store.lookup(str(ref)) == base_id:
                bases[str(ref)] = base_id
        ids = [v for k, v in b.events if k == "id"] + list(b.images.values())
        Memo(images.svc.conn).store(self.slot, self.key, image_id, {
            "image": image_id, "ids": ids, "bases": bases, "events": b.events,
            "warnings": warnings, "tags_raw": self.opts.tags, "tags": refs})


def _build(root: str, exec_root: str, path: str, dockerfile: str | None,
           opts: BuildOptions, stdin: BinaryIO | None, out: Callable[[str], None],
           memo: _MemoUse | None) -> tuple[str, list[str]]:
    from dockyard.build.builder import Builder
    from dockyard.build.context import open_context
    from dockyard.engine.images import Images
    from dockyard.oci.reference import parse_reference

    refs = []
    for t in opts.tags:  # bad tags fail first, as the CLI's flag check does
        try:
            refs.append(str(parse_reference(t)))
        except InvalidArgument as e:
            raise BadTag(f'invalid argument "{t}" for "-t, --tag" flag: {e}') from None
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
        if memo is not None:
            memo.record(images, b, image_id, refs, warnings)
        return image_id, warnings
    finally:
        images.close()
