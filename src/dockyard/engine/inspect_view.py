"""How ``docker inspect -f`` sees an object: Docker runs the template on its typed Go
struct first and, if that fails, on the raw JSON with missing keys an error (docker/cli
``inspect.TemplateInspector``). :func:`typed` builds the typed view from the JSON-shaped
object; :func:`lookup` finds objects by name as ``docker inspect`` does."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NIL_TYPES", "lookup", "render", "typed"]

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
    "DriverOpts", "StorageOpt", "Sysctls", "Tmpfs", "Options", "Containers"
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


def render(tmpl: Any, obj: Any) -> str:
    """``tmpl`` (a :class:`~dockyard.template.Template`) on ``obj``: on the typed view,
    else on the raw JSON with missing keys an error (whose error is the one raised)."""
    from dockyard.template import TemplateError

    try:
        text: str = tmpl.execute(typed(obj))
    except TemplateError:
        text = tmpl.execute(obj, missing_key_error=True)
    return text


def _refresh(root: str, exec_root: str, names: list[str]) -> None:
    """A container that says it runs while nobody runs it is shown exited (as ``ps``)."""
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError

    engine = Engine(root, exec_root)
    try:
        for name in names:
            try:
                engine.refresh(engine.containers.get(name))
            except DockyardError:
                continue
    finally:
        engine.close()


def _lookup_networks(root: str, names: list[str], results: list[Any]) -> None:
    """Names not found yet that are networks: ``docker network inspect``'s objects."""
    from dockyard.engine.containers import ContainerStore
    from dockyard.engine.network import Networks
    from dockyard.engine.network_views import network_json
    from dockyard.errors import DockyardError, NotFound

    nets = Networks(root)
    try:
        with ContainerStore(root) as containers:
            for i, name in enumerate(names):
                if isinstance(results[i], dict):
                    continue
                try:
                    results[i] = network_json(nets, nets.get(name), containers)
                except DockyardError as e:
                    if not isinstance(results[i], Exception) or not isinstance(e, NotFound):
                        results[i] = e
    finally:
        nets.close()


def lookup(root: str, exec_root: str, names: list[str], kind: str, size: bool
           ) -> tuple[list[Any], list[str]]:
    """Containers first, then images, networks and volumes (Docker's order for
    ``inspect`` without ``--type``)."""
    from dockyard.errors import DockyardError, NotFound

    results: list[Any] = [None] * len(names)
    if kind in ("", "container"):
        from dockyard.engine.inspect import inspect_containers

        _refresh(root, exec_root, names)
        for i, got in enumerate(inspect_containers(root, names, size)):
            results[i] = got
    if kind in ("", "image"):
        from dockyard.engine.images import Images

        images = Images(root)
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
    if kind in ("", "network"):
        _lookup_networks(root, names, results)
    if kind in ("", "volume"):
        from dockyard.engine.volumes import Volumes

        vols = Volumes(root)
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
