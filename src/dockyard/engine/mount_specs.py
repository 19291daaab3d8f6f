"""The mount flags of ``docker run`` parsed as Docker parses them (pure; no state).

``-v [SRC:]DST[:MODE]`` (moby ``volume/mounts/linux_parser.go`` ``ParseMountRaw``): a source
that is an absolute path is a bind, any other a named volume; ``-v /dst`` alone is an anonymous
volume (the CLI turns it into ``Config.Volumes``). ``--mount type=...,source=,target=,...``
(the CLI's ``opts/mount.go``, then the daemon's ``parseMountSpec`` checks), ``--tmpfs
DST[:OPTIONS]`` and ``--volumes-from CONTAINER[:ro|rw]``.
"""

from __future__ import annotations

import os

from dockyard.engine.run_options import parse_size
from dockyard.errors import InvalidArgument
from dockyard.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MountSpec",
    "parse_mount",
    "parse_tmpfs",
    "parse_volume",
    "parse_volumes_from",
    "spec_error",
]

_PROPAGATIONS = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave"})


@record
class MountSpec:
    """One requested mount. ``source`` is a host path (bind), a volume name (``""``: a new
    anonymous volume) or nothing (tmpfs). ``mode`` is the ``-v`` mode as typed (Docker shows
    it as ``.Mounts[].Mode``). ``create_source``: a ``-v`` bind creates a missing host path,
    a ``--mount`` bind refuses it."""

    type: str
    target: str
    source: str = ""
    readonly: bool = False
    mode: str = ""
    propagation: str = ""
    recursive: bool = True
    nocopy: bool = False
    tmpfs_size: int = 0
    tmpfs_mode: int | None = None
    volume_labels: dict[str, str] = field(default_factory=dict)
    volume_options: dict[str, str] = field(default_factory=dict)
    create_source: bool = False
    #: the ``HostConfig.Mounts`` entry of a ``--mount`` (None for ``-v``)
    api: dict[str, Any] | None = None


def spec_error(kind: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid mount config for type "{kind}": {why}')


def _check_target(kind: str, target: str) -> str:
    if not target.startswith("/"):
        raise spec_error(kind, f"invalid mount path: '{target}' mount path must be absolute")
    if os.path.normpath(target) == "/":
        raise spec_error(kind, "invalid specification: destination can't be '/'")
    return os.path.normpath(target)


def _valid_mode(mode: str) -> bool:
    """moby ``linuxValidMountMode``: at most one of rw/ro, z/Z, a propagation, nocopy."""
    if not mode:
        return True
    seen: dict[str, int] = {}
    for o in mode.split(","):
        if o in ("rw", "ro"):
            kind = "rw"
        elif o in ("z", "Z"):
            kind = "label"
        elif o in _PROPAGATIONS:
            kind = "prop"
        elif o == "nocopy":
            kind = "copy"
        else:
            return False
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] > 1:
            return False
    return True


def parse_volume(raw: str) -> MountSpec:
    """One ``-v``/``--volume`` value."""
    parts = raw.split(":")
    mode = ""
    if len(parts) == 1:  # an anonymous volume: Config.Volumes, relative paths kept
        if not raw:
            raise InvalidArgument(f"invalid volume specification: '{raw}'")
        if os.path.normpath(raw) in ("/", "."):
            raise InvalidArgument(f"invalid volume specification: '{raw}': " + str(spec_error(
                "volume", "invalid specification: destination can't be '/'")))
        return MountSpec(type="volume", target=os.path.normpath(raw))
    elif len(parts) == 2:
        if _valid_mode(parts[1]) and not parts[1].startswith("/"):
            raise InvalidArgument(f"invalid volume specification: '{raw}'")
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise InvalidArgument(f"invalid volume specification: '{raw}'")
    if not target:
        raise InvalidArgument(f"invalid volume specification: '{raw}'")
    if not _valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    words = mode.split(",") if mode else []
    kind = "bind" if source.startswith("/") else "volume"

    def bad_spec(why: str) -> InvalidArgument:
        return InvalidArgument(f"invalid volume specification: '{raw}': {why}")

    if kind == "bind" and "nocopy" in words:
        raise bad_spec(str(spec_error(kind, "field VolumeOptions must not be specified")))
    prop = next((w for w in words if w in _PROPAGATIONS), "")
    if kind == "volume" and prop:
        raise bad_spec(str(spec_error(kind, "field BindOptions must not be specified")))
    try:
        target = _check_target(kind, target)
    except InvalidArgument as e:
        raise bad_spec(str(e)) from None
    return MountSpec(
        type=kind, target=target,
        source=os.path.normpath(source) if kind == "bind" else source,
        readonly="ro" in words, mode=mode,
        propagation=(prop or "rprivate") if kind == "bind" else "",
        nocopy="nocopy" in words, create_source=kind == "bind")


def _bool(key: str, value: str | None, raw: str) -> bool:
    if value is None:
        return True
    v = value.lower()
    if v in ("1", "true", "t"):
        return True
    if v in ("0", "false", "f"):
        return False
    raise InvalidArgument(f'invalid argument "{raw}" for "--mount" flag: invalid value for '
                          f"{key}: {value}")


def parse_mount(raw: str) -> MountSpec:
    """One ``--mount`` value (comma-separated ``key=value``)."""

    def bad(why: str) -> InvalidArgument:
        return InvalidArgument(f'invalid argument "{raw}" for "--mount" flag: {why}')

    kv: dict[str, str | None] = {}
    labels: dict[str, str] = {}
    vopts: dict[str, str] = {}
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.lower()
        if key == "volume-label":
            k, _, v = value.partition("=")
            labels[k] = v
            continue
        if key == "volume-opt":
            k, _, v = value.partition("=")
            vopts[k] = v
            continue
        if key not in ("type", "source", "src", "target", "destination", "dst", "readonly",
                       "ro", "consistency", "bind-propagation", "bind-nonrecursive",
                       "volume-nocopy", "volume-driver", "tmpfs-size", "tmpfs-mode"):
            raise bad(f"unexpected key '{key}' in '{item}'")
        if not eq and key not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise bad(f"invalid field '{item}' must be a key=value pair")
        kv[key] = value if eq else None
    kind = kv.get("type") or "volume"  # the CLI's default
    target = kv.get("target") or kv.get("destination") or kv.get("dst") or ""
    if not target:
        raise bad("target is required")
    source = kv.get("source") or kv.get("src") or ""
    readonly = any(_bool(k, kv[k], raw) for k in ("readonly", "ro") if k in kv)
    prop = kv.get("bind-propagation") or ""
    if prop and prop not in _PROPAGATIONS:
        raise bad(f"invalid propagation mode: {prop}")
    driver = kv.get("volume-driver")
    if driver not in (None, "local"):
        raise InvalidArgument(f"plugin \"{driver}\" not found")
    api: dict[str, Any] = {"Type": kind, "Source": source, "Target": target}
    if readonly:
        api["ReadOnly"] = True
    spec = MountSpec(type=kind, target=target, source=source, readonly=readonly, api=api)
    if kind == "bind":
        if not source:
            raise spec_error(kind, "field Source must not be empty")
        if labels or vopts or "volume-nocopy" in kv or "tmpfs-size" in kv:
            raise spec_error(kind, "field VolumeOptions must not be specified")
        if not source.startswith("/"):
            raise spec_error(kind, f"invalid mount path: '{source}' mount path must be "
                                   "absolute")
        spec.source = os.path.normpath(source)
        spec.propagation = prop or "rprivate"
        spec.recursive = not _bool("bind-nonrecursive", kv.get("bind-nonrecursive", "0"), raw)
        if prop or not spec.recursive:
            api["BindOptions"] = {k: v for k, v in (("Propagation", prop),
                                                     ("NonRecursive", not spec.recursive)) if v}
    elif kind == "volume":
        if prop or "bind-nonrecursive" in kv:
            raise spec_error(kind, "field BindOptions must not be specified")
        if "tmpfs-size" in kv or "tmpfs-mode" in kv:
            raise spec_error(kind, "field TmpfsOptions must not be specified")
        spec.nocopy = _bool("volume-nocopy", kv["volume-nocopy"], raw) \
            if "volume-nocopy" in kv else False
        spec.volume_labels, spec.volume_options = labels, vopts
        if spec.nocopy or labels or vopts:
            api["VolumeOptions"] = {k: v for k, v in (
                ("NoCopy", spec.nocopy), ("Labels", labels),
                ("DriverConfig", {"Name": "local", "Options": vopts} if vopts else None)) if v}
    elif kind == "tmpfs":
        if source:
            raise spec_error(kind, "field Source must not be specified")
        if prop or labels or vopts:
            raise spec_error(kind, "field BindOptions must not be specified")
        tmpfs: dict[str, int] = {}
        if kv.get("tmpfs-size"):
            try:
                spec.tmpfs_size = parse_size(kv["tmpfs-size"] or "")
            except ValueError as e:
                raise bad(str(e)) from None
            tmpfs["SizeBytes"] = spec.tmpfs_size
        if kv.get("tmpfs-mode"):
            try:
                spec.tmpfs_mode = int(kv["tmpfs-mode"] or "", 8)
            except ValueError:
                raise bad(f"invalid value for tmpfs-mode: {kv['tmpfs-mode']}") from None
            tmpfs["Mode"] = spec.tmpfs_mode
        if tmpfs:
            api["TmpfsOptions"] = tmpfs
    else:
        raise spec_error(kind, "mount type unknown")
    spec.target = _check_target(kind, target)
    return spec


def tmpfs_data(spec: MountSpec) -> str:
    """``--mount type=tmpfs`` options as mount data (moby ``ConvertTmpfsOptions``)."""
    out = []
    if spec.tmpfs_size:
        size, suffix = spec.tmpfs_size, ""
        for unit in ("k", "m", "g"):
            if size % 1024:
                break
            size, suffix = size // 1024, unit
        out.append(f"size={size}{suffix}")
    if spec.tmpfs_mode is not None:
        out.append(f"mode={spec.tmpfs_mode:o}")
    if spec.readonly:
        out.append("ro")
    return ",".join(out)


def parse_tmpfs(raw: str) -> tuple[str, str]:
    """``--tmpfs /run[:size=64m,...]`` -> (destination, options)."""
    dest, _, options = raw.partition(":")
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{dest}' mount path must be absolute")
    return dest, options


def parse_volumes_from(raw: str) -> tuple[str, bool | None]:
    """``--volumes-from C[:ro|rw]`` -> (container, read-only? ``None``: as C has them)."""
    ref, sep, mode = raw.partition(":")
    if not sep:
        return ref, None
    if mode not in ("ro", "rw"):
        raise InvalidArgument(f"invalid mode: {mode}")
    return ref, mode == "ro"
