"""One function per Dockerfile instruction: a state in, the next state out.

Each looks up its cache key first (parent image + the instruction with its arguments
expanded, + the sources' hash for COPY/ADD, + the build args a RUN sees) and, on a hit,
reuses the image that key made. ``created_by`` follows Docker's classic builder:
``/bin/sh -c #(nop)  ENV A=1`` for config-only steps, ``|1 A=1 /bin/sh -c cmd`` for RUN.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Callable

from dockyard.build.parser import Instruction
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.build.builder import Builder, State

__all__ = ["dispatch"]

Step = Callable[["Builder", "State", Instruction], "State"]
_NOP = "/bin/sh -c #(nop) "


def dispatch(b: Builder, st: State, ins: Instruction) -> State:
    return _STEPS[ins.cmd](b, st, ins)


def _meta(b: Builder, st: State, ins: Instruction, text: str,
          change: Callable[[State], None]) -> State:
    """A config-only step: ``change`` the config, commit with ``#(nop)  text``."""
    from dockyard.build.builder import step_key_for

    key = step_key_for(st.image_id, text)
    hit = b.cached(st, key)
    if hit is not None:
        hit.args, hit.cmd_set = dict(st.args), st.cmd_set or ins.cmd == "CMD"
        return hit
    nxt = _copy_state(st)
    change(nxt)
    return b.commit(nxt, key, f"{_NOP} {text}", None)


def _pairs(b: Builder, st: State, ins: Instruction) -> list[tuple[str, str]]:
    env = st.env()
    out = []
    for k, v in zip(ins.args[::2], ins.args[1::2], strict=True):
        out.append((b._expand(ins, k, env), b._expand(ins, v, env)))
    return out


def env_step(b: Builder, st: State, ins: Instruction) -> State:
    pairs = _pairs(b, st, ins)

    def change(s: State) -> None:
        env = list(s.c.get("Env") or [])
        for k, v in pairs:  # replaced in place, else appended (moby ENV)
            keys = [e.partition("=")[0] for e in env]
            if k in keys:
                env[keys.index(k)] = f"{k}={v}"
            else:
                env.append(f"{k}={v}")
        s.c["Env"] = env

    return _meta(b, st, ins, "ENV " + " ".join(f"{k}={v}" for k, v in pairs), change)


def label_step(b: Builder, st: State, ins: Instruction) -> State:
    pairs = _pairs(b, st, ins)

    def change(s: State) -> None:
        labels = dict(s.c.get("Labels") or {})
        labels.update(pairs)
        s.c["Labels"] = labels

    return _meta(b, st, ins, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs), change)


def arg_step(b: Builder, st: State, ins: Instruction) -> State:
    texts = []
    for k, default in zip(ins.args[::2], ins.args[1::2], strict=True):
        if k in b.opts.build_args:
            value: str | None = b.opts.build_args[k]
            b.used_args.add(k)
        elif default != "\0":
            value = b.expand(ins, st, default)
        else:
            value = b.meta_env.get(k)
        st.args[k] = value
        texts.append(k if default == "\0" else f"{k}={default}")
    return _meta(b, st, ins, "ARG " + " ".join(texts), lambda s: None)


def workdir_step(b: Builder, st: State, ins: Instruction) -> State:
    from dockyard.build.builder import step_key_for
    from dockyard.image.rootpath import scoped

    path = b.expand(ins, st, ins.args[0])
    cur = st.c.get("WorkingDir") or "/"
    new = posixpath.normpath(posixpath.join(cur, path))
    text = f"WORKDIR {new}"
    key = step_key_for(st.image_id, text)
    hit = b.cached(st, key)
    if hit is not None:
        hit.args, hit.cmd_set = st.args, st.cmd_set
        return hit
    st = _copy_state(st)
    st.c["WorkingDir"] = new

    def work(rootfs: str) -> None:
        host = scoped(rootfs, new)
        if not os.path.isdir(host):
            os.makedirs(host, 0o755, exist_ok=True)

    return b.with_rootfs(st, work, f"{_NOP}{text}", key)


def _copy_state(st: State) -> State:
    import copy

    from dockyard.build.builder import State as S

    return S(st.image_id, copy.deepcopy(st.cfg), st.layers, dict(st.args), st.cmd_set)


def simple(field: str, name: str) -> Step:
    def step(b: Builder, st: State, ins: Instruction) -> State:
        value = b.expand(ins, st, ins.args[0])

        def change(s: State) -> None:
            s.c[field] = value

        return _meta(b, st, ins, f"{name} {value}", change)

    return step


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(json.dumps(x) for x in items) + "]"


def _command(st: State, ins: Instruction) -> list[str]:
    if ins.json_form:
        return list(ins.args)
    return [*st.shell, ins.args[0]] if ins.args else []


def cmd_step(b: Builder, st: State, ins: Instruction) -> State:
    cmd = _command(st, ins)

    def change(s: State) -> None:
        s.c["Cmd"] = cmd
        s.cmd_set = True

    return _meta(b, st, ins, f"CMD {_go_list(cmd)}", change)


def entrypoint_step(b: Builder, st: State, ins: Instruction) -> State:
    ep = _command(st, ins)
    clear_cmd = not st.cmd_set

    def change(s: State) -> None:
        s.c["Entrypoint"] = ep or None
        if clear_cmd:
            s.c["Cmd"] = None

    return _meta(b, st, ins, f"ENTRYPOINT {_go_list(ep)}", change)


def shell_step(b: Builder, st: State, ins: Instruction) -> State:
    def change(s: State) -> None:
        s.c["Shell"] = list(ins.args)

    return _meta(b, st, ins, "SHELL " + _go_list(ins.args), change)


def expose_step(b: Builder, st: State, ins: Instruction) -> State:
    ports: list[str] = []
    words = b.expand_all(ins, st, ins.args)
    for p in words:
        num, _, proto = p.partition("/")
        proto = (proto or "tcp").lower()
        lo, _, hi = num.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise InvalidArgument(f"invalid containerPort: {num}")
        for n in range(int(lo), int(hi or lo) + 1):
            ports.append(f"{n}/{proto}")

    def change(s: State) -> None:
        exposed = dict(s.c.get("ExposedPorts") or {})
        for port in ports:
            exposed[port] = {}
        s.c["ExposedPorts"] = exposed

    return _meta(b, st, ins, "EXPOSE " + " ".join(words), change)


def volume_step(b: Builder, st: State, ins: Instruction) -> State:
    vols = [b.expand(ins, st, v) for v in ins.args] if ins.json_form else \
        b.expand_all(ins, st, ins.args)
    for v in vols:
        if not v.strip():
            raise InvalidArgument("VOLUME specified can not be an empty string")

    def change(s: State) -> None:
        volumes = dict(s.c.get("Volumes") or {})
        for v in vols:
            volumes[v] = {}
        s.c["Volumes"] = volumes

    return _meta(b, st, ins, "VOLUME [" + " ".join(vols) + "]", change)


_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}


def _duration(flag: str, text: str) -> int:
    total = 0
    rest = text
    while rest:
        m = re.match(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", rest)
        if not m:
            raise InvalidArgument(f"time: invalid duration \"{text}\" for --{flag}")
        total += int(float(m.group(1)) * _UNITS[m.group(2)])
        rest = rest[m.end():]
    return total


def healthcheck_step(b: Builder, st: State, ins: Instruction) -> State:
    text = ins.args[0]
    word, _, rest = text.partition(" ")
    hc: dict[str, object]
    if word.upper() == "NONE":
        if rest.strip():
            raise InvalidArgument("HEALTHCHECK NONE takes no arguments")
        hc = {"Test": ["NONE"]}
    elif word.upper() == "CMD":
        rest = rest.strip()
        try:
            exec_form = json.loads(rest) if rest.startswith("[") else None
        except ValueError:
            exec_form = None
        if isinstance(exec_form, list) and all(isinstance(x, str) for x in exec_form):
            test = ["CMD", *exec_form]
        else:
            test = ["CMD-SHELL", rest]
        hc = {"Test": test}
        for flag, field in (("interval", "Interval"), ("timeout", "Timeout"),
                            ("start-period", "StartPeriod")):
            if flag in ins.flags:
                hc[field] = _duration(flag, ins.flags[flag])
        if "retries" in ins.flags:
            try:
                retries = int(ins.flags["retries"])
            except ValueError:
                raise InvalidArgument("--retries must be a number") from None
            if retries < 1:
                raise InvalidArgument("--retries cannot be 0 or negative")
            hc["Retries"] = retries
    else:
        raise InvalidArgument(f"Unknown type \"{word}\" in HEALTHCHECK (try CMD)")

    def change(s: State) -> None:
        s.c["Healthcheck"] = hc

    return _meta(b, st, ins, "HEALTHCHECK " + _go_healthcheck(hc), change)


def _go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()`` for whole and fractional seconds and below."""
    if ns == 0:
        return "0s"
    if ns < 1000:
        return f"{ns}ns"
    if ns < 10**6:
        return f"{ns / 1000:g}µs"
    if ns < 10**9:
        return f"{ns / 10**6:g}ms"
    h, rest = divmod(ns, 3600 * 10**9)
    m, rest = divmod(rest, 60 * 10**9)
    sec = f"{rest / 10**9:.9f}".rstrip("0").rstrip(".")
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{sec}s"


def _go_healthcheck(hc: dict[str, object]) -> str:
    """How the classic builder's history prints it: Go's ``%v`` of the struct pointer,
    ``&{["CMD" "x"] "30s" "3s" "0s" '\\x04'}`` (the retries print as a rune)."""
    test = hc["Test"]
    assert isinstance(test, list)
    if test == ["NONE"]:
        return '&{["NONE"] "0s" "0s" "0s" \'\\x00\'}'
    durs = []
    for k in ("Interval", "Timeout", "StartPeriod"):
        v = hc.get(k, 0)
        durs.append(json.dumps(_go_duration(v if isinstance(v, int) else 0)))
    r = hc.get("Retries", 0)
    n = r if isinstance(r, int) else 0
    rune = chr(n) if 0x20 <= n < 0x7f and chr(n) not in "'\\" else f"\\x{n:02x}"
    return f"&{{{_go_list(test)} {' '.join(durs)} '{rune}'}}"


def onbuild_step(b: Builder, st: State, ins: Instruction) -> State:
    trigger = ins.args[0].strip()
    word, _, rest = trigger.partition(" ")
    trigger = f"{word.upper()} {rest}".strip()

    def change(s: State) -> None:
        s.c["OnBuild"] = [*(s.c.get("OnBuild") or []), trigger]

    return _meta(b, st, ins, f"ONBUILD {trigger}", change)


def maintainer_step(b: Builder, st: State, ins: Instruction) -> State:
    author = ins.args[0]

    def change(s: State) -> None:
        s.cfg["author"] = author

    return _meta(b, st, ins, f"MAINTAINER {author}", change)


_STEPS: dict[str, Step] = {
    "ENV": env_step,
    "LABEL": label_step,
    "ARG": arg_step,
    "WORKDIR": workdir_step,
    "USER": simple("User", "USER"),
    "STOPSIGNAL": simple("StopSignal", "STOPSIGNAL"),
    "CMD": cmd_step,
    "ENTRYPOINT": entrypoint_step,
    "SHELL": shell_step,
    "EXPOSE": expose_step,
    "VOLUME": volume_step,
    "HEALTHCHECK": healthcheck_step,
    "ONBUILD": onbuild_step,
    "MAINTAINER": maintainer_step,
}


def _register() -> None:
    from dockyard.build.steps_fs import add_step, copy_step, run_step

    _STEPS["RUN"] = run_step
    _STEPS["COPY"] = copy_step
    _STEPS["ADD"] = add_step


_register()
