"""The steps that change the filesystem: RUN (a container), COPY and ADD (files).

A RUN sees the image's Env plus the build args in scope (and the predefined proxy
args when given); its history reads ``|N K=V ... /bin/sh -c cmd`` when there are args.
The mount points the runtime makes in a rootfs that lacks them (``/proc``, ``/sys``,
``/dev``, ``/etc/resolv.conf``, ``/etc/hosts``, ``/etc/hostname``) are taken out again,
as Docker's init layer keeps them out of a layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil

from dockyard.errors import InvalidArgument, Unsupported

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.build.builder import Builder, State
    from dockyard.build.context import BuildContext
    from dockyard.build.parser import Instruction

__all__ = ["add_step", "copy_step", "run_step"]

_NOP = "/bin/sh -c #(nop) "
#: what the runtime creates in a rootfs that lacks it, files before their directories
_MOUNTPOINTS = ("etc/resolv.conf", "etc/hostname", "etc/hosts", "etc", "proc", "sys", "dev")
_HEREDOC_WORD = re.compile(r"^<<-?(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1$")


def _run_command(st: State, ins: Instruction) -> list[str]:
    if ins.json_form:
        return list(ins.args)
    text = ins.args[0]
    if ins.heredocs:
        if len(ins.heredocs) == 1 and _HEREDOC_WORD.match(text.strip()):
            return [*st.shell, ins.heredocs[0].content]
        text = text + "\n" + "".join(h.content + h.name + "\n" for h in ins.heredocs)
    return [*st.shell, text]


def run_step(b: Builder, st: State, ins: Instruction) -> State:
    from dockyard.build.builder import PROXY_ARGS, BuildError, RunProcess, step_key_for

    for flag in ("mount", "security"):
        if flag in ins.flags:
            raise Unsupported(f"RUN --{flag} is not supported by this builder")
    cmd = _run_command(st, ins)
    if not cmd:
        raise InvalidArgument("RUN requires at least one argument")
    env_keys = {e.partition("=")[0] for e in st.c.get("Env") or []}
    args = sorted((k, v) for k, v in st.args.items() if v is not None and k not in env_keys)
    proxies = [(k, b.opts.build_args[k]) for k in PROXY_ARGS
               if k in b.opts.build_args and k not in st.args]
    for k, _ in proxies:
        b.used_args.add(k)
    created_by = " ".join(cmd)
    if args:
        created_by = f"|{len(args)} " + " ".join(f"{k}={v}" for k, v in args) + " " + created_by
    network = ins.flags.get("network") or b.opts.network
    if network not in ("default", "none", "host"):
        raise InvalidArgument(f"unsupported network mode {network!r}: want default, none "
                              "or host")
    key = step_key_for(st.image_id, "RUN " + json.dumps(cmd),
                       json.dumps([args, network]))
    hit = b.cached(st, key)
    if hit is not None:
        hit.args, hit.cmd_set = dict(st.args), st.cmd_set
        return hit
    env = list(st.c.get("Env") or []) + [f"{k}={v}" for k, v in args + proxies]
    proc = RunProcess(cmd, env, str(st.c.get("User") or ""),
                      str(st.c.get("WorkingDir") or "/"), network)
    where = b.where

    def work(rootfs: str) -> None:
        made = [p for p in _MOUNTPOINTS if not os.path.lexists(os.path.join(rootfs, p))]
        running: list[str] = []

        def announce(container_id: str) -> None:
            running.append(container_id)
            b.out(f" ---> Running in {container_id[:12]}\n")

        try:
            code, output = b.runner.run(rootfs, proc, b.opts.quiet, announce)
            if running:  # as docker build says it
                b.out(f"Removing intermediate container {running[0][:12]}\n")
        finally:
            for p in made:
                path = os.path.join(rootfs, p)
                try:
                    if os.path.isfile(path) and os.path.getsize(path) == 0:
                        os.unlink(path)
                    elif os.path.isdir(path):
                        os.rmdir(path)
                except OSError:
                    pass
        if code != 0:
            if output:
                b.err(output.decode(errors="replace"))
            raise BuildError(f"{where}: The command '{' '.join(cmd)}' returned a non-zero "
                             f"code: {code}", status=code)

    return b.with_rootfs(st, work, created_by, key)


def copy_step(b: Builder, st: State, ins: Instruction) -> State:
    return _copy(b, st, ins, "COPY")


def add_step(b: Builder, st: State, ins: Instruction) -> State:
    if "from" in ins.flags:
        raise InvalidArgument("ADD does not support the --from flag")
    return _copy(b, st, ins, "ADD")


def _heredoc_text(b: Builder, st: State, ins: Instruction, content: str, expand: bool) -> str:
    if not expand:
        return content
    env = st.env()

    def sub(m: re.Match[str]) -> str:
        return env.get(m.group(1) or m.group(2), "")

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, content)


def _copy(b: Builder, st: State, ins: Instruction, cmd: str) -> State:
    from dockyard.build.builder import step_key_for
    from dockyard.build.context import BuildContext
    from dockyard.build.dockerignore import IgnoreMatcher
    from dockyard.build.files import Copier, chown_ids, plan_copy, source_hash

    for flag in ("parents", "exclude", "keep-git-dir"):
        if flag in ins.flags:
            raise Unsupported(f"{cmd} --{flag} is not supported by this builder")
    words = [b.expand(ins, st, w) for w in ins.args] if ins.heredocs == [] else list(ins.args)
    dest = b.expand(ins, st, words[-1]) if ins.heredocs else words[-1]
    docs: dict[str, str] = {}
    local: list[str] = []
    urls: list[str] = []
    for w in words[:-1]:
        m = _HEREDOC_WORD.match(w)
        if m and ins.heredocs:
            doc = next(x for x in ins.heredocs if x.name == m.group(2))
            docs[doc.name] = _heredoc_text(b, st, ins, doc.content, doc.expand)
        elif cmd == "ADD" and w.startswith(("http://", "https://")):
            urls.append(w)
        else:
            local.append(b.expand(ins, st, w) if ins.heredocs else w)
    chown = b.expand(ins, st, ins.flags["chown"]) if "chown" in ins.flags else ""
    chmod: int | None = None
    if "chmod" in ins.flags:
        try:
            chmod = int(ins.flags["chmod"], 8)
        except ValueError:
            raise InvalidArgument(f"invalid chmod parameter: {ins.flags['chmod']}") from None
        if not 0 <= chmod <= 0o7777:
            raise InvalidArgument(f"invalid chmod parameter: {ins.flags['chmod']}")
    workdir = str(st.c.get("WorkingDir") or "/")
    if len(words) > 2 and not dest.endswith("/"):
        raise InvalidArgument(f"When using {cmd} with more than one source file, the "
                              "destination must be a directory and end with a /")
    view_key = ""
    view_mnt = ""
    ctx: BuildContext = b.ctx
    downloads: list[tuple[str, str, float | None]] = []
    try:
        if "from" in ins.flags:
            ref = b.expand(ins, st, ins.flags["from"])
            image_id = b.stage_root(ref, b.stage_index(ins))
            import tempfile

            view_key = f"build-view-{os.urandom(8).hex()}"
            os.makedirs(b.work_dir, mode=0o700, exist_ok=True)
            view_mnt = tempfile.mkdtemp(prefix="from-", dir=b.work_dir)
            chains = b.svc.store.chain_ids(image_id)
            from dockyard.image.snapshots import mount_all

            mount_all(b.svc.snapshots.view(view_key, chains[-1] if chains else ""), view_mnt)
            ctx = BuildContext(view_mnt, "", "", IgnoreMatcher([]), in_image=True)
        h = hashlib.sha256()
        plan = plan_copy(ctx, local, dest, workdir, cmd) if local else None
        if plan is not None:
            h.update(source_hash(ctx, plan).encode())
        for name, text in sorted(docs.items()):
            h.update(f"heredoc:{name}\0{text}\0".encode())
        for url in urls:
            path, mtime = _download(b, url)
            downloads.append((url, path, mtime))
            with open(path, "rb") as f:
                body = hashlib.sha256(f.read()).hexdigest()
            want = ins.flags.get("checksum", "")
            if want and want != f"sha256:{body}":
                raise InvalidArgument(f"ADD failed: {url}: checksum mismatch: want {want}, "
                                      f"got sha256:{body}")
            h.update(f"url:{url}\0{body}\0".encode())
        kind = "multi"
        if plan is not None and len(plan.sources) == 1 and not docs and not urls:
            kind = "dir" if os.path.isdir(plan.sources[0][0]) else "file"
        digest = h.hexdigest()
        flags = " ".join(f"--{k}={v}" for k, v in sorted(ins.flags.items()) if k != "link")
        key = step_key_for(st.image_id, f"{cmd} {flags} {kind}:{digest} in {dest}",
                           workdir if not dest.startswith("/") else "")
        # as the classic builder writes it (no blank after a --chown value)
        chown_text = f"--chown={chown}" if chown else ""
        created_by = f"{_NOP}{cmd} {chown_text}{kind}:{digest} in {dest} "
        hit = b.cached(st, key)
        if hit is not None:
            hit.args, hit.cmd_set = dict(st.args), st.cmd_set
            return hit

        def work(rootfs: str) -> None:
            owner = chown_ids(chown, rootfs) if chown else None
            copier = Copier(rootfs, ctx, owner, chmod)
            if plan is not None:
                copier.copy(plan, cmd == "ADD")
            full = dest if dest.startswith("/") else os.path.join("/", workdir, dest)
            for name, text in sorted(docs.items()):
                _write(copier, full, name, text.encode(), 0o644, None)
            for url, path, mtime in downloads:
                with open(path, "rb") as f:
                    data = f.read()
                name = os.path.basename(url.split("?")[0].rstrip("/")) or "index.html"
                _write(copier, full, name, data, 0o600, mtime)

        return b.with_rootfs(st, work, created_by, key)
    finally:
        for _, path, _ in downloads:
            try:
                os.unlink(path)
            except OSError:
                pass
        if view_mnt:
            from dockyard.image.snapshots import unmount

            if os.path.ismount(view_mnt):
                unmount(view_mnt)
            if not os.path.ismount(view_mnt):
                shutil.rmtree(view_mnt, ignore_errors=True)
        if view_key and b.svc.snapshots.exists(view_key):
            b.svc.snapshots.remove(view_key)


def _write(copier: object, dest: str, name: str, data: bytes, mode: int,
           mtime: float | None) -> None:
    from dockyard.build.files import Copier
    from dockyard.image.rootpath import scoped

    assert isinstance(copier, Copier)
    target = os.path.join(dest, name) if dest.endswith("/") else dest
    copier.mkdirs(os.path.dirname(target) or "/")
    host = scoped(copier.rootfs, target)
    if os.path.isdir(host):
        host = os.path.join(host, name)
    with open(host, "wb") as f:
        f.write(data)
    os.chown(host, *(copier.owner or (0, 0)))
    os.chmod(host, copier.chmod if copier.chmod is not None else mode)
    if mtime is not None:
        os.utime(host, (mtime, mtime))


def _download(b: Builder, url: str) -> tuple[str, float | None]:
    """ADD URL: the body in a temporary file and its Last-Modified time."""
    import email.utils
    import tempfile
    import urllib.error
    import urllib.request

    os.makedirs(b.work_dir, mode=0o700, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="add-", dir=b.work_dir)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(resp, out)
            lm = resp.headers.get("Last-Modified")
    except (urllib.error.URLError, OSError, ValueError) as e:
        os.unlink(path)
        raise InvalidArgument(f"ADD failed: {url}: {getattr(e, 'reason', e)}") from None
    mtime = None
    if lm:
        try:
            mtime = email.utils.parsedate_to_datetime(lm).timestamp()
        except (TypeError, ValueError):
            mtime = None
    return path, mtime
