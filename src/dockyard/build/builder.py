"""Dockerfile -> image: stages, steps, the cache, layers from overlay snapshots.

Like Docker's classic builder, every step makes an image whose parent is the previous
step's (these intermediate images are the cache: ``images`` hides untagged parents);
RUN, COPY, ADD and WORKDIR add a layer made from the step's snapshot (its overlay
upperdir, whiteouts for deletions), the other instructions only change the config and
add an ``empty_layer`` history entry. Only the stages the target needs are built.

RUN goes through a :class:`StepRunner` (the engine gives one that runs a real
container with the OCI runtime): this package does not import the engine.

With ``source_date_epoch`` every ``created`` time is that instant and every mtime in a
new layer later than it is clamped to it: two builds of the same context give the same
image ID.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dockyard.build import steps
from dockyard.build.cache import BuildCache, step_key
from dockyard.build.options import BuildOptions, check_platform
from dockyard.build.parser import Dockerfile, Instruction, parse
from dockyard.build.shell import expand_word, expand_words
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.image.config import rfc3339
from dockyard.image.service import ImageService, LayerBlob
from dockyard.image.snapshots import mount_all, unmount
from dockyard.oci.digest import chain_id
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol, TypeAlias

    from dockyard.build.context import BuildContext
else:
    Protocol = object

__all__ = ["BuildError", "BuildOptions", "Builder", "RunProcess", "StepRunner"]

JSONDict: TypeAlias = "dict[str, Any]"

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


class BuildError(DockyardError):
    """A step failed; the message starts with ``Dockerfile:LINE:``. ``status``: what
    ``docker build`` exits with (a failed RUN's own exit code, as the classic builder
    reports it; else 1)."""

    http_status = 400

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status or 1


@record(frozen=True)
class RunProcess:
    args: list[str]
    env: list[str]
    user: str
    cwd: str
    #: "default" (the host's network), "host" or "none"
    network: str


class StepRunner(Protocol):
    def run(self, rootfs: str, proc: RunProcess, quiet: bool,
            announce: Callable[[str], None]) -> tuple[int, bytes]:
        """Run ``proc`` in a new container whose root is the mounted ``rootfs``, wait
        for it and remove it; ``announce(container_id)`` before it starts. Its output
        goes to our stdout as it comes, or, when ``quiet``, is returned. Returns the
        exit status (126/127 when it could not run)."""
        ...


#: name, pull? -> image ID (the engine resolves locally and pulls when asked or missing)
ImageResolver = Callable[[str, bool], str]


@record
class Stage:
    index: int
    name: str
    from_ins: Instruction
    instructions: list[Instruction]


@record
class State:
    """Where a stage is: its current image (``""`` before the first step on scratch)."""

    image_id: str
    cfg: JSONDict
    layers: list[LayerBlob]
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False

    @property
    def c(self) -> JSONDict:
        conf: JSONDict = self.cfg.setdefault("config", {})
        return conf

    @property
    def shell(self) -> list[str]:
        return list(self.c.get("Shell") or ["/bin/sh", "-c"])

    def env(self) -> dict[str, str]:
        """What ``$VAR`` sees: the stage's ARGs with values, then ENV over them."""
        out = {k: v for k, v in self.args.items() if v is not None}
        for e in self.c.get("Env") or []:
            k, _, v = e.partition("=")
            out[k] = v
        return out


class Builder:
    def __init__(self, svc: ImageService, runner: StepRunner, resolve_image: ImageResolver,
                 work_dir: str, out: Callable[[str], None],
                 err: Callable[[str], None] | None = None) -> None:
        import sys

        self.err = err or sys.stderr.write
        self.svc = svc
        self.runner = runner
        self.resolve_image = resolve_image
        self.work_dir = work_dir
        self.out = out
        self.cache = BuildCache(svc.conn)
        self.made: list[str] = []  # images this build created, oldest first
        #: what a fully cached rebuild prints: ("from"|"step", header), ("id", image ID),
        #: ("text", line); kept by the build memo
        self.events: list[tuple[str, str]] = []
        #: base and --from images by the name the Dockerfile gives
        self.images: dict[str, str] = {}
        self.used_args: set[str] = set()

    # --- the whole build --------------------------------------------------------
    def build(self, ctx: BuildContext, opts: BuildOptions) -> str:
        df = parse(ctx.dockerfile, ctx.dockerfile_name)
        self.df = df
        self.ctx = ctx
        self.opts = opts
        meta, stages = _stages(df)
        self.meta_env: dict[str, str] = _platform_args()
        for ins in meta:
            for k, default in zip(ins.args[::2], ins.args[1::2], strict=True):
                if k in opts.build_args:
                    self.meta_env[k] = opts.build_args[k]
                    self.used_args.add(k)
                elif default != "\0":
                    self.meta_env[k] = self._expand(ins, default, self.meta_env)
        target = self._target(stages, opts.target)
        needed = self._needed(stages, target)
        todo = [s for s in stages if s.index in needed]
        self.total = sum(1 + len(s.instructions) for s in todo) + (1 if opts.labels else 0)
        self.step_no = 0
        self.results: dict[int, str] = {}
        self.stages = stages
        self._resolve_images(todo)
        try:
            image_id = ""
            # held (shared) for the whole build: ``system check`` leaves the build's
            # snapshots and blobs alone meanwhile
            with self.svc.writing():
                for stage in todo:
                    image_id = self._stage(stage, last=stage is target)
            self.made = []
            return image_id
        except KeyboardInterrupt:
            raise BuildError(f"{self.where}: the build was interrupted") from None
        finally:
            with _no_interrupts():
                self._forget_failed()

    def unused_args(self) -> list[str]:
        return sorted(k for k in self.opts.build_args
                      if k not in self.used_args and k not in PROXY_ARGS)

    def _forget_failed(self) -> None:
        """After a failure: no image of this build stays untagged without children."""
        for image_id in reversed(self.made):
            try:
                if not self.svc.store.tags(image_id) and not self.svc.store.children(
                        image_id):
                    self.svc.delete(image_id)
            except DockyardError:
                continue
        if self.made:
            self.svc.gc_blobs()

    def _target(self, stages: list[Stage], name: str) -> Stage:
        if not stages:
            raise BuildError(f"{self.df.filename}: no build stage in the Dockerfile")
        if not name:
            return stages[-1]
        for s in stages:
            if s.name == name.lower():
                return s
        raise BuildError(f"failed to reach build target {name} in Dockerfile")

    def _stage_ref(self, stages: list[Stage], ref: str, before: int) -> Stage | None:
        for s in stages[:before]:
            if s.name and s.name == ref.lower():
                return s
        if ref.isdigit():
            i = int(ref)
            if i >= before:
                raise InvalidArgument(f"invalid from flag value {ref}: refers to current or "
                                      "future build stage")
            return stages[i]
        return None

    def _needed(self, stages: list[Stage], target: Stage) -> set[int]:
        need: set[int] = set()
        todo = [target]
        while todo:
            s = todo.pop()
            if s.index in need:
                continue
            need.add(s.index)
            refs = [expand_word(s.from_ins.args[0], self.meta_env, self.df.escape)]
            refs += [i.flags["from"] for i in s.instructions if "from" in i.flags]
            for r in refs:
                try:
                    dep = self._stage_ref(stages, r, s.index)
                except InvalidArgument as e:
                    raise BuildError(f"{self.df.filename}:{s.from_ins.line}: {e}") from None
                if dep is not None:
                    todo.append(dep)
        return need

    def _resolve_images(self, todo: list[Stage]) -> None:
        """Find (or pull) the images the stages start from or copy from, before the
        build takes its lock: a pull may collect blobs."""
        for s in todo:
            refs = [(s.from_ins, expand_word(s.from_ins.args[0], self.meta_env,
                                             self.df.escape), self.opts.pull)]
            refs += [(i, expand_word(i.flags["from"], self.meta_env, self.df.escape), False)
                     for i in s.instructions if "from" in i.flags]
            for ins, ref, pull in refs:
                if ref in self.images or ref.lower() == "scratch" or \
                        self._stage_ref(self.stages, ref, s.index) is not None:
                    continue
                self.cur_line = ins.line
                try:
                    self.images[ref] = self.resolve_image(ref, pull)
                except DockyardError as e:
                    raise BuildError(f"{self.where}: {e}") from None

    # --- a stage ------------------------------------------------------------------
    @property
    def where(self) -> str:
        return f"{self.df.filename}:{getattr(self, 'cur_line', 0)}"

    def _stage(self, stage: Stage, last: bool) -> str:
        st = self._from(stage)
        for ins in stage.instructions:
            st = self._step(st, ins)
        if last and self.opts.labels:
            pairs = []
            for k, v in sorted(self.opts.labels.items()):
                pairs += [k, json.dumps(v)]
            label = Instruction("LABEL", pairs, stage.from_ins.line,
                                "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in
                                                    sorted(self.opts.labels.items())))
            st = self._step(st, label)
        if not st.image_id:
            raise BuildError(f"{self.df.filename}:{stage.from_ins.line}: no image was made "
                             "from scratch: add an instruction")
        self.results[stage.index] = st.image_id
        return st.image_id

    def _header(self, ins: Instruction) -> float:
        self.step_no += 1
        self.cur_line = ins.line
        text = f"Step {self.step_no}/{self.total} : {ins.original}\n"
        self.events.append(("from" if ins.cmd == "FROM" else "step", text))
        self.out(text)
        return time.monotonic()

    def _from(self, stage: Stage) -> State:
        ins = stage.from_ins
        t0 = self._header(ins)
        platform = expand_word(ins.flags.get("platform", ""), self.meta_env, self.df.escape)
        if platform:
            try:
                check_platform(platform)
            except InvalidArgument as e:
                raise BuildError(f"{self.where}: {e}") from None
        base = expand_word(ins.args[0], self.meta_env, self.df.escape)
        try:
            dep = self._stage_ref(self.stages, base, stage.index)
            if dep is not None:
                image_id = self.results[dep.index]
            elif base.lower() == "scratch":
                image_id = ""
            else:
                image_id = self.images[base]
        except DockyardError as e:
            raise BuildError(f"{self.where}: {e}") from None
        st = self._load(image_id) if image_id else State("", _scratch_config(), [])
        env = list(st.c.get("Env") or [])
        if not any(e.startswith("PATH=") for e in env):  # moby setDefaultPath
            st.c["Env"] = [*env, f"PATH={DEFAULT_PATH}"]
        self.events.append(("id", image_id) if image_id else ("text", " ---> scratch\n"))
        self.out(f" ---> {image_id[7:19] if image_id else 'scratch'}\n")
        self._took(t0)
        triggers = list(st.c.get("OnBuild") or [])
        if triggers:
            st.c["OnBuild"] = None
            plural = "s" if len(triggers) > 1 else ""
            line = f"# Executing {len(triggers)} build trigger{plural}\n"
            self.events.append(("text", line))
            self.out(line)
            for text in triggers:
                trig = parse(text, self.df.filename).instructions
                for t in trig:
                    t = Instruction(t.cmd, t.args, ins.line, t.original, t.json_form,
                                    t.flags, t.heredocs, t.sub)
                    st = steps.dispatch(self, st, t)
        return st

    def _load(self, image_id: str) -> State:
        rec = self.svc.store.get(image_id)
        cfg = self.svc.config(image_id)
        cfg.setdefault("history", [])
        cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        layers = [LayerBlob(d["digest"], d["mediaType"], int(d["size"]))
                  for d in self.svc.manifest(rec).get("layers", [])]
        return State(image_id, cfg, layers)

    def _step(self, st: State, ins: Instruction) -> State:
        t0 = self._header(ins)
        try:
            new = steps.dispatch(self, st, ins)
        except BuildError:
            raise
        except DockyardError as e:
            raise BuildError(f"{self.where}: {e}") from None
        except OSError as e:
            raise BuildError(f"{self.where}: {ins.cmd} failed: {e}") from None
        self._took(t0, new.image_id)
        return new

    def _took(self, t0: float, image_id: str = "") -> None:
        dt = time.monotonic() - t0
        if image_id:
            self.events.append(("id", image_id))
            self.out(f" ---> {image_id[7:19]}\n")
        self.out(f" ---> took {dt:.3f}s\n")

    # --- helpers the steps use ------------------------------------------------------
    def _expand(self, ins: Instruction, word: str, env: dict[str, str]) -> str:
        try:
            return expand_word(word, env, self.df.escape)
        except InvalidArgument as e:
            raise BuildError(f"{self.df.filename}:{ins.line}: {e}") from None

    def expand(self, ins: Instruction, st: State, word: str) -> str:
        return self._expand(ins, word, st.env())

    def expand_all(self, ins: Instruction, st: State, words: list[str]) -> list[str]:
        out: list[str] = []
        env = st.env()
        for w in words:
            try:
                out += expand_words(w, env, self.df.escape)
            except InvalidArgument as e:
                raise BuildError(f"{self.where}: {e}") from None
        return out

    def cached(self, st: State, key: str) -> State | None:
        if self.opts.no_cache:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        self.out(" ---> Using cache\n")
        return self._load(hit)

    def created(self) -> str:
        if self.opts.source_date_epoch is not None:
            return rfc3339(self.opts.source_date_epoch).replace(".000000000Z", "Z")
        return rfc3339(time.time())

    def commit(self, st: State, key: str, created_by: str, layer: LayerBlob | None,
               chain_key: str = "") -> State:
        """The next image: ``st``'s config plus a history entry (and ``layer``, whose
        snapshot ``chain_key`` becomes the new chain's); recorded in the cache."""
        cfg = copy.deepcopy(st.cfg)
        created = self.created()
        hist: JSONDict = {"created": created, "created_by": created_by}
        layers = list(st.layers)
        if layer is None:
            hist["empty_layer"] = True
        else:
            cfg["rootfs"]["diff_ids"].append(layer.digest)
            layers.append(layer)
        cfg["history"].append(hist)
        cfg["created"] = created
        for k in ("container", "container_config", "docker_version", "comment"):
            cfg.pop(k, None)
        data = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
        with self.svc.writing():
            if layer is not None and chain_key:
                chain = str(chain_id(cfg["rootfs"]["diff_ids"]))
                try:
                    if self.svc.snapshots.exists(chain):
                        raise Conflict(f"snapshot {chain}: already exists")
                    self.svc.snapshots.commit(chain, chain_key)
                    if self.svc.snapshots.whiteouts == "delete":
                        self._record_layer_size(chain, layer)
                except Conflict:  # the same layer, made before (or just now by another)
                    self.svc.snapshots.remove(chain_key)
            rec = self.svc.create(data, layers, parent=st.image_id)
        self.made.append(rec.id)
        self.cache.put(key, rec.id)
        return State(rec.id, cfg, layers, st.args, st.cmd_set)

    def _record_layer_size(self, chain: str, layer: LayerBlob) -> None:
        """The copy snapshotter's snapshot is a whole tree: a layer's size (``history``,
        ``images``) is that of the files in its diff, as the overlay upperdir's is."""
        import tarfile

        from dockyard.image.store import LayerRecord

        with self.svc.content.open(layer.digest) as f, tarfile.open(fileobj=f) as tf:
            size = sum(m.size for m in tf if m.isreg())
        parent = self.svc.snapshots.stat(chain).parent
        self.svc.store.add_layer(LayerRecord(chain, layer.digest, parent, layer.digest,
                                             layer.media_type, size))

    def top_chain(self, st: State) -> str:
        ids = st.cfg["rootfs"]["diff_ids"]
        return str(chain_id(ids)) if ids else ""

    def with_rootfs(self, st: State, work: Callable[[str], None],
                    created_by: str, key: str) -> State:
        """Mount a new snapshot on ``st``, let ``work(rootfs)`` change it, and commit the
        changes as a layer; everything is undone when ``work`` fails."""
        import tempfile

        snap = f"build-{os.urandom(8).hex()}"
        os.makedirs(self.work_dir, mode=0o700, exist_ok=True)
        mnt = tempfile.mkdtemp(prefix="rootfs-", dir=self.work_dir)
        committed = False
        try:
            mounts = self.svc.snapshots.prepare(snap, self.top_chain(st))
            mount_all(mounts, mnt)
            try:
                work(mnt)
            finally:
                unmount(mnt)
            if self.opts.source_date_epoch is not None and \
                    self.svc.snapshots.whiteouts == "overlay":
                _clamp(self.svc.snapshots.upper(snap), self.opts.source_date_epoch)
            with self.svc.writing():
                layer = self.svc.diff_layer(snap)
                new = self.commit(st, key, created_by, layer, chain_key=snap)
            committed = True
            return new
        finally:
            with _no_interrupts():
                if os.path.ismount(mnt):  # interrupted between mounting and the try
                    unmount(mnt)
                if not committed and self.svc.snapshots.exists(snap):
                    self.svc.snapshots.remove(snap)
                if not os.path.ismount(mnt):
                    shutil.rmtree(mnt, ignore_errors=True)

    def stage_root(self, ref: str, index: int) -> str:
        """``COPY --from`` -> an image ID (an earlier stage's, or an image's)."""
        dep = self._stage_ref(self.stages, ref, index)
        if dep is not None:
            if dep.index not in self.results:
                raise NotFound(f"stage {ref} was not built")
            return self.results[dep.index]
        if ref in self.images:
            return self.images[ref]
        return self.svc.resolve(ref).id

    def stage_index(self, ins: Instruction) -> int:
        for s in self.stages:
            if ins in s.instructions:
                return s.index
        return len(self.stages)


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Cleanup runs to its end: a second Ctrl-C meanwhile is ignored (main thread)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _stages(df: Dockerfile) -> tuple[list[Instruction], list[Stage]]:
    meta: list[Instruction] = []
    stages: list[Stage] = []
    for ins in df.instructions:
        if ins.cmd == "FROM":
            name = ins.args[2].lower() if len(ins.args) == 3 else ""
            if name and any(s.name == name for s in stages):
                raise BuildError(f"{df.filename}:{ins.line}: duplicate stage name {name!r}")
            stages.append(Stage(len(stages), name, ins, []))
        elif not stages:
            if ins.cmd != "ARG":
                raise BuildError(f"{df.filename}:{ins.line}: no build stage in current "
                                 f"context: {ins.cmd} before the first FROM")
            meta.append(ins)
        else:
            stages[-1].instructions.append(ins)
    return meta, stages


def _platform_args() -> dict[str, str]:
    """BuildKit's automatic platform ARGs (``TARGETARCH``...), here all the host's:
    usable in FROM and by an ``ARG TARGETARCH`` in a stage."""
    from dockyard.oci.image_types import host_platform

    p = host_platform()
    plat = f"{p.os}/{p.architecture}" + (f"/{p.variant}" if p.variant else "")
    out = {}
    for side in ("TARGET", "BUILD"):
        out.update({f"{side}PLATFORM": plat, f"{side}OS": p.os,
                    f"{side}ARCH": p.architecture, f"{side}VARIANT": p.variant})
    return out


def _scratch_config() -> JSONDict:
    from dockyard.oci.image_types import host_platform

    plat = host_platform()
    cfg: JSONDict = {"architecture": plat.architecture, "os": plat.os,
                     "config": {},
                     "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if plat.variant:
        cfg["variant"] = plat.variant
    return cfg


def _clamp(top: str, epoch: int) -> None:
    """Every mtime under ``top`` later than ``epoch`` becomes ``epoch``."""
    for dirpath, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if st.st_mtime > epoch:
                os.utime(p, (epoch, epoch), follow_symlinks=False)
    st = os.lstat(top)
    if st.st_mtime > epoch:
        os.utime(top, (epoch, epoch))


def step_key_for(parent: str, text: str, extra: str = "") -> str:
    return step_key(parent or "scratch", text, extra)
