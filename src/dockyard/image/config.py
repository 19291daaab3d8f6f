"""Image configs (image-spec ``config.md``) and ``import -c`` changes.

``apply_changes`` accepts the Dockerfile instructions ``docker import --change`` does:
CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
"""

from __future__ import annotations

import json
import time

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

__all__ = ["apply_changes", "new_config", "now_rfc3339", "rfc3339"]

JSONDict: TypeAlias = "dict[str, Any]"


def rfc3339(t: float) -> str:
    """``2026-11-23T07:45:07.534871279Z``, as Docker prints times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def now_rfc3339() -> str:
    return rfc3339(time.time())


def new_config(os_: str, arch: str, variant: str, diff_ids: list[str], comment: str,
               created: str) -> JSONDict:
    cfg: JSONDict = {
        "architecture": arch, "os": os_, "created": created, "comment": comment,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "comment": comment}],
    }
    if variant:
        cfg["variant"] = variant
    return cfg


def _json_or_shell(arg: str) -> list[str]:
    s = arg.strip()
    if s.startswith("["):
        try:
            v = json.loads(s)
        except ValueError:
            v = None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return ["/bin/sh", "-c", s]


def _pairs(instr: str, arg: str) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` or the legacy ``K V`` form (ENV, LABEL)."""
    import shlex

    try:
        words = shlex.split(arg)
    except ValueError as e:
        raise InvalidArgument(f"{instr}: {e}") from e
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise InvalidArgument(f"{instr} must have two arguments")
        return [(words[0], arg.strip()[len(words[0]):].strip())]
    out = []
    for w in words:
        k, eq, v = w.partition("=")
        if not eq or not k:
            raise InvalidArgument(f"{instr}: syntax error - can't find = in {w!r}. "
                                  "Must be of the form: name=value")
        out.append((k, v))
    return out


def apply_changes(cfg: JSONDict, changes: list[str]) -> None:
    """Apply Dockerfile-style ``changes`` to ``cfg["config"]`` in place."""
    c: JSONDict = cfg.setdefault("config", {})
    for change in changes:
        instr, _, arg = change.strip().partition(" ")
        instr = instr.upper()
        arg = arg.strip()
        if instr == "CMD":
            c["Cmd"] = _json_or_shell(arg)
        elif instr == "ENTRYPOINT":
            c["Entrypoint"] = _json_or_shell(arg)
        elif instr == "ENV":
            env = [e for e in c.get("Env") or []]
            for k, v in _pairs(instr, arg):
                env = [e for e in env if e.partition("=")[0] != k] + [f"{k}={v}"]
            c["Env"] = env
        elif instr == "LABEL":
            c.setdefault("Labels", {}).update(dict(_pairs(instr, arg)))
        elif instr == "EXPOSE":
            for p in arg.split():
                port = p if "/" in p else f"{p}/tcp"
                if not port.split("/")[0].replace("-", "").isdigit():
                    raise InvalidArgument(f"invalid containerPort: {p}")
                c.setdefault("ExposedPorts", {})[port] = {}
        elif instr == "VOLUME":
            for v in _json_or_shell(arg) if arg.startswith("[") else arg.split():
                c.setdefault("Volumes", {})[v] = {}
        elif instr == "WORKDIR":
            c["WorkingDir"] = arg
        elif instr == "USER":
            c["User"] = arg
        elif instr == "STOPSIGNAL":
            c["StopSignal"] = arg
        elif instr == "ONBUILD":
            c.setdefault("OnBuild", []).append(arg)
        else:
            raise InvalidArgument(f"{instr} is not a valid change command")
        if not arg:
            raise InvalidArgument(f"{instr} requires at least one argument")
