"""Loading and validating an OCI bundle's config.json (runtime-spec 1.0.2/1.1).

Validation happens once, here, before anything is created: a bad config gives one line
naming the field, and leaves nothing mounted, running or in a cgroup.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import jsontext

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.oci.runtime_types import Spec

__all__ = ["NAMESPACE_TYPES", "load_spec", "validate_spec"]

NAMESPACE_TYPES = frozenset({"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"})
_PROPAGATIONS = frozenset({"", "private", "rprivate", "slave", "rslave", "shared", "rshared",
                           "unbindable", "runbindable"})
_HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
               "poststop")


def load_spec(bundle: str) -> Spec:
    """Read and validate ``BUNDLE/config.json``; ``root.path`` comes back absolute."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"JSON specification file {path} not found") from None
    except OSError as e:
        raise InvalidArgument(f"cannot read {path}: {e.strerror}") from e
    try:
        data = jsontext.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"{path}: invalid JSON: {e}") from None
    spec = validate_spec(data, bundle)
    return spec


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise InvalidArgument(msg)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def validate_spec(data: Any, bundle: str) -> Spec:
    """Check the fields the runtime relies on; normalise ``root.path`` to an absolute path."""
    _need(isinstance(data, dict), "config.json: top level must be an object")
    _need(isinstance(data.get("ociVersion"), str), "config.json: ociVersion must be a string")
    root = data.get("root")
    _need(isinstance(root, dict) and isinstance(root.get("path"), str) and root["path"] != "",
          "config.json: root.path is required")
    rootfs = root["path"]
    if not os.path.isabs(rootfs):
        rootfs = os.path.join(os.path.abspath(bundle), rootfs)
    root["path"] = os.path.normpath(rootfs)
    if not os.path.isdir(root["path"]):
        raise NotFound(f"rootfs ({root['path']}) does not exist")
    _need(isinstance(root.get("readonly", False), bool),
          "config.json: root.readonly must be a bool")

    if "process" in data:
        _validate_process(data["process"])
    for m in data.get("mounts", []) or []:
        _need(isinstance(m, dict) and isinstance(m.get("destination"), str) and m["destination"],
              "config.json: every mount needs a destination")
        _need(_is_str_list(m.get("options", [])),
              f"config.json: mount {m['destination']}: options must be strings")
    hooks = data.get("hooks") or {}
    _need(isinstance(hooks, dict), "config.json: hooks must be an object")
    for kind in hooks:
        _need(kind in _HOOK_KINDS, f"config.json: unknown hook kind {kind!r}")
        for h in hooks[kind] or []:
            _need(isinstance(h, dict) and isinstance(h.get("path"), str)
                  and os.path.isabs(h["path"]),
                  f"config.json: {kind} hook path must be absolute")
    linux = data.get("linux") or {}
    _need(isinstance(linux, dict), "config.json: linux must be an object")
    _validate_linux(linux)
    return data  # type: ignore[no-any-return]


def _validate_process(p: Any) -> None:
    _need(isinstance(p, dict), "config.json: process must be an object")
    _need(_is_str_list(p.get("args")) and len(p["args"]) > 0,
          "config.json: process.args must be a non-empty list of strings")
    _need(isinstance(p.get("cwd"), str) and p["cwd"].startswith("/"),
          "config.json: process.cwd must be an absolute path")
    _need(_is_str_list(p.get("env", [])), "config.json: process.env must be a list of strings")
    user = p.get("user", {"uid": 0, "gid": 0})
    _need(isinstance(user, dict) and isinstance(user.get("uid", 0), int)
          and isinstance(user.get("gid", 0), int),
          "config.json: process.user.uid and gid must be integers")
    p.setdefault("user", user)
    user.setdefault("uid", 0)
    user.setdefault("gid", 0)
    for rl in p.get("rlimits", []) or []:
        _need(isinstance(rl, dict) and isinstance(rl.get("type"), str)
              and isinstance(rl.get("soft"), int) and isinstance(rl.get("hard"), int),
              "config.json: each rlimit needs type, soft and hard")
    caps = p.get("capabilities") or {}
    _need(isinstance(caps, dict) and all(_is_str_list(v) for v in caps.values()),
          "config.json: process.capabilities must map set names to lists of strings")


def _validate_linux(linux: dict[str, Any]) -> None:
    seen: set[str] = set()
    for ns in linux.get("namespaces", []) or []:
        _need(isinstance(ns, dict) and isinstance(ns.get("type"), str),
              "config.json: each namespace needs a type")
        kind = ns["type"]
        _need(kind in NAMESPACE_TYPES, f"config.json: unknown namespace type {kind!r}")
        _need(kind not in seen, f"config.json: duplicate namespace type {kind!r}")
        seen.add(kind)
        if "path" in ns:
            _need(isinstance(ns["path"], str) and os.path.isabs(ns["path"]),
                  f"config.json: {kind} namespace path must be absolute")
    user_new = "user" in seen and not any(
        ns.get("path") for ns in linux.get("namespaces", []) if ns["type"] == "user")
    for key in ("uidMappings", "gidMappings"):
        for m in linux.get(key, []) or []:
            _need(isinstance(m, dict) and all(isinstance(m.get(f), int)
                                              for f in ("containerID", "hostID", "size")),
                  f"config.json: linux.{key} entries need containerID, hostID and size")
    if user_new:
        _need(bool(linux.get("uidMappings")) and bool(linux.get("gidMappings")),
              "config.json: a new user namespace needs uidMappings and gidMappings")
    prop = linux.get("rootfsPropagation", "")
    _need(prop in _PROPAGATIONS, f"config.json: unknown rootfsPropagation {prop!r}")
    for key in ("maskedPaths", "readonlyPaths"):
        _need(_is_str_list(linux.get(key, [])), f"config.json: linux.{key} must be strings")
    sysctl = linux.get("sysctl") or {}
    _need(isinstance(sysctl, dict), "config.json: linux.sysctl must be an object")
