"""``dockyard inspect [-f FORMAT] [-s] [--type container|image|volume] NAME...`` (also the body of
``container inspect``): Docker's JSON, or each object through a Go template."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.cli.main import Context

USAGE = "dockyard inspect [OPTIONS] NAME|ID [NAME|ID...]"
#: Docker's exit status for a template that does not parse (``cli.StatusError{64}``).
EXIT_TEMPLATE = 64


def dumps(objs: list[Any]) -> str:
    """Docker's indented JSON: 4 spaces, UTF-8 as is, ``<>&`` escaped as Go does."""
    import json

    text = json.dumps(objs, indent=4, ensure_ascii=False)
    for c, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                   ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(c, esc)
    return text + "\n"


#: Go types of the fields of Docker's inspect structs that may be nil: in a template a nil
#: slice prints ``[]``, a nil map ``map[]`` and a nil pointer ``<nil>`` (moby
#: ``api/types``); a field the object lacks stays ``<no value>``.
_SLICES = [
    "Args", "ExecIDs", "Binds", "VolumesFrom", "CapAdd", "CapDrop", "Dns", "DnsOptions",
    "DnsSearch", "ExtraHosts", "GroupAdd", "Links", "SecurityOpt", "BlkioWeightDevice",
    "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
    "Devices", "DeviceCgroupRules", "DeviceRequests", "Ulimits", "MaskedPaths", "ReadonlyPaths",
    "Mounts", "Env", "Cmd", "Entrypoint", "OnBuild", "Shell", "SecondaryIPAddresses",
    "SecondaryIPv6Addresses", "Aliases", "RepoTags", "RepoDigests", "Layers", "ConsoleSize"
]
_MAPS = [
    "Labels", "Volumes", "ExposedPorts", "PortBindings", "Ports", "Networks", "Data",
    "DriverOpts", "StorageOpt", "Sysctls", "Tmpfs", "Options"
]
_POINTERS = {"PidsLimit": "*int64", "MemorySwappiness": "*int64", "OomKillDisable": "*bool",
             "IPAMConfig": "*network.EndpointIPAMConfig", "Health": "*types.Health",
             "Healthcheck": "*container.HealthConfig", "Init": "*bool", "StopTimeout": "*int"}
NIL_TYPES = {**{k: "[]string" for k in _SLICES}, **{k: "map[string]string" for k in _MAPS},
             **_POINTERS}


#: ``omitempty`` fields of a container's structs that its JSON leaves out when unset:
#: their zero value in the typed struct is a nil of this Go type (``{{.State.Health}}`` is
#: ``<nil>``) or, in ``_OMITTED_ZERO``, this value.
_OMITTED = {
    "": {"SizeRw": "*int64", "SizeRootFs": "*int64", "Node": "*types.ContainerNode"},
    "State": {"Health": "*types.Health"},
    "Config": {"ExposedPorts": "map[nat.Port]struct {}",
               "Healthcheck": "*container.HealthConfig", "StopTimeout": "*int",
               "Shell": "[]string"},
}
_OMITTED_ZERO = {"Config": {"ArgsEscaped": False, "NetworkDisabled": False, "MacAddress": "",
                            "StopSignal": ""}}


def typed(v: Any, key: str = "", path: str = "") -> Any:
    """``v`` as Docker's typed structs hold it when a template runs on them: objects as
    :class:`~dockyard.template.Struct` (a missing field is an error) except the maps
    (``Labels``...), nil slices/maps/pointers as :class:`~dockyard.template.TypedNil`,
    and a container's omitted ``omitempty`` fields back with their zero values."""
    from dockyard.template import Struct, TypedNil

    if v is None and key in NIL_TYPES:
        return TypedNil(NIL_TYPES[key])
    if isinstance(v, list):
        return [typed(x) for x in v]
    if not isinstance(v, dict):
        return v
    fields = {k: typed(x, k, f"{path}.{k}") for k, x in v.items()}
    if key in _MAPS or path == ".HostConfig.LogConfig.Config":
        return fields
    st = Struct("struct", **fields)
    st.json_sorted = False
    if path in ("", ".State", ".Config") and ("HostConfig" in v or path):
        part = path.lstrip(".")
        added = set()
        for k, go_type in _OMITTED.get(part, {}).items():
            if k not in st:
                st[k] = TypedNil(go_type)
                added.add(k)
        for k, zero in _OMITTED_ZERO.get(part, {}).items():
            if k not in st:
                st[k] = zero
                added.add(k)
        st.omitempty = frozenset(added)
    return st


def emit(found: list[Any], errors: list[str], fmt: str | None) -> int:
    """Print what was found (JSON or ``fmt`` per object), then the errors; Docker's exit
    statuses (1 if anything was not found, 64 for a template that does not parse)."""
    if fmt:
        from dockyard.template import Template, TemplateError

        try:
            tmpl = Template(fmt)
        except TemplateError as e:
            sys.stderr.write(f"template parsing error: {e}\n")
            return EXIT_TEMPLATE
        for obj in found:
            # Docker runs the template on its typed struct first, and on the raw JSON
            # (missing keys an error) if that fails
            try:
                try:
                    text = tmpl.execute(typed(obj))
                except TemplateError:
                    text = tmpl.execute(obj, missing_key_error=True)
                sys.stdout.write(text + "\n")
            except TemplateError as e:
                sys.stderr.write(f"template parsing error: {e}\n")
                return 1
    else:
        sys.stdout.write(dumps(found))
    for msg in errors:
        sys.stderr.write(f"Error: {msg}\n")
    return 1 if errors else 0


def parse(argv: list[str], prog: str, with_type: bool) -> tuple[dict[str, Any], list[str]]:
    from dockyard.cli._args import parse as parse_flags

    spec = {"format": "str", "f": "=format", "size": "bool", "s": "=size", "help": "bool"}
    if with_type:
        spec["type"] = "str"
    flags = parse_flags(argv, spec)
    return ({"format": flags.opt("format"), "size": flags.flag("size"),
             "type": flags.opt("type") or "", "help": flags.flag("help")},
            flags.positional)


def run(ctx: Context, argv: list[str], kind: str = "") -> int:
    from dockyard.errors import InvalidArgument

    prog = "container inspect" if kind else "inspect"
    try:
        opts, names = parse(argv, prog, with_type=not kind)
    except InvalidArgument as e:
        sys.stderr.write(f"{e}\nSee 'dockyard {prog} --help'.\n")
        return 125
    if opts["help"]:
        sys.stdout.write(f"Usage:  {USAGE}\n\nReturn low-level information on Docker objects\n\n"
                         "Options:\n"
                         "  -f, --format string   Format the output using the given Go "
                         "template\n"
                         "  -s, --size            Display total file sizes if the type is "
                         "container\n"
                         "      --type string     Return JSON for specified type\n")
        return 0
    if not names:
        sys.stderr.write(f'"dockyard {prog}" requires at least 1 argument.\n'
                         f"See 'dockyard {prog} --help'.\n")
        return 1
    kind = kind or opts["type"]
    if kind not in ("", "container", "image", "volume"):
        sys.stderr.write(f'"{kind}" is not a valid value for --type\n')
        return 1
    found, errors = lookup(ctx, names, kind, opts["size"])
    return emit(found, errors, opts["format"])


def _refresh(ctx: Context, names: list[str]) -> None:
    """A container that says it runs while nobody runs it is shown exited (as ``ps``)."""
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    engine = Engine(ctx.root, ctx.exec_root)
    try:
        for name in names:
            try:
                engine.refresh(engine.containers.get(name))
            except DockyardError:
                continue
    finally:
        engine.close()


def lookup(ctx: Context, names: list[str], kind: str, size: bool
           ) -> tuple[list[Any], list[str]]:
    """Containers first, then images, then volumes (Docker's order for ``inspect``
    without ``--type``)."""
    from dockyard.errors import DockyardError, NotFound

    results: list[Any] = [None] * len(names)
    if kind in ("", "container"):
        from dockyard.engine.inspect import inspect_containers

        _refresh(ctx, names)
        for i, got in enumerate(inspect_containers(ctx.root, names, size)):
            results[i] = got
    if kind in ("", "image"):
        from dockyard.engine.images import Images

        images = Images(ctx.root)
        try:
            for i, name in enumerate(names):
                if isinstance(results[i], dict):
                    continue
                try:
                    results[i] = images.inspect(name)
                except DockyardError as e:
                    if not isinstance(results[i], Exception) or not isinstance(e, NotFound):
                        results[i] = e
        finally:
            images.close()
    if kind in ("", "volume"):
        from dockyard.engine.volumes import Volumes

        vols = Volumes(ctx.root)
        try:
            for i, name in enumerate(names):
                if isinstance(results[i], dict):
                    continue
                try:
                    results[i] = vols.inspect(name)
                except DockyardError as e:
                    if not isinstance(results[i], Exception) or not isinstance(e, NotFound):
                        results[i] = e
        finally:
            vols.close()
    found: list[Any] = []
    errors: list[str] = []
    for name, r in zip(names, results, strict=True):
        if isinstance(r, dict):
            found.append(r)
        elif isinstance(r, NotFound) or r is None:
            noun = kind or "object"
            errors.append(f"No such {noun}: {name}")
        else:
            errors.append(" ".join(str(r).split()))
    return found, errors

