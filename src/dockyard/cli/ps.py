"""``dockyard ps`` / ``container ls``: list containers; Docker's table, ``--format``,
``-a -q -s -l -n N --no-trunc --filter``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.cli.main import Context
    from dockyard.engine.containers import ContainerRecord

DEFAULT = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
           "{{.Ports}}\t{{.Names}}")
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
           "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
           "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
           "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
           "Networks": "NETWORKS"}


HELP = """\
Usage:  dockyard ps [OPTIONS]

List containers

Options:
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Pretty-print containers using a Go template
  -n, --last int        Show n last created containers (includes all states) (default -1)
  -l, --latest          Show the latest created container (includes all states)
      --no-trunc        Don't truncate output
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes
"""


def _image(image: str, trunc: bool) -> str:
    """An image given by ID shows as a short ID unless ``--no-trunc``."""
    import re

    m = re.fullmatch(r"(?:sha256:)?([0-9a-f]{64})", image)
    return m.group(1)[:12] if m and trunc else image


def _label_header(name: str) -> str:
    """docker/cli: a ``{{.Label "com.example.tier"}}`` column is headed ``tier``."""
    return name.split(".")[-1].replace("-", " ").replace("_", " ")
SPEC = {"all": "bool", "a": "=all", "quiet": "bool", "q": "=quiet", "no-trunc": "bool",
        "size": "bool", "s": "=size", "latest": "bool", "l": "=latest", "last": "str",
        "n": "=last", "filter": "list", "f": "=filter", "format": "str", "help": "bool"}


def _expand(argv: list[str]) -> list[str]:
    """pflag's short forms: ``-aq`` -> ``-a -q``, ``-n2`` -> ``-n 2``, ``-af X`` -> ``-a -f
    X``."""
    out: list[str] = []
    for a in argv:
        if len(a) <= 2 or a[0] != "-" or a[1] == "-":
            out.append(a)
            continue
        for i, c in enumerate(a[1:], 1):
            if c in "aqsl":
                out.append(f"-{c}")
            elif c in "nf":
                out.append(f"-{c}")
                if a[i + 1:]:
                    out.append(a[i + 1:].removeprefix("="))
                break
            else:
                out.append(f"-{a[i:]}")  # unknown: let the parser report it
                break
    return out


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._args import parse
    from dockyard.engine.lifecycle import Engine
    from dockyard.errors import DockyardError, InvalidArgument

    try:
        flags = parse(_expand(argv), SPEC)
        last = int(flags.opt("last") or "-1")
        filters: dict[str, list[str]] = {}
        for f in flags.many("filter"):
            key, eq, value = f.partition("=")
            if not eq:
                raise InvalidArgument(f'invalid argument "{f}" for "-f, --filter" flag: '
                                      "bad format of filter (expected name=value)")
            filters.setdefault(key.strip().lower(), []).append(value)
    except (InvalidArgument, ValueError) as e:
        sys.stderr.write(f"{e}\nSee 'dockyard ps --help'.\n")
        return 125
    if flags.flag("help"):
        sys.stdout.write(HELP)
        return 0
    if flags.flag("latest"):
        last = 1
    try:
        engine = Engine(ctx.root, ctx.exec_root)
        try:
            # A killed monitor or foreground `run` (a host restart) leaves "running"
            # behind: say exited once nobody runs the container.
            engine.refresh_all()
            records = engine.containers.list(all=flags.flag("all"), filters=filters,
                                             limit=max(last, 0))
        finally:
            engine.close()
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {e}\n")
        return 1
    trunc = not flags.flag("no-trunc")
    fmt = flags.opt("format") or ""
    if flags.flag("quiet"):
        fmt = "{{.ID}}"
    elif not fmt or fmt == "table":
        fmt = DEFAULT + ("\t{{.Size}}" if flags.flag("size") else "")
    sizes: dict[str, tuple[int, int]] = {}
    if flags.flag("size") or ".Size" in fmt:
        from dockyard.engine.inspect import container_sizes

        sizes = container_sizes(ctx.root, records)
    from dockyard.template import TemplateError, render_rows

    try:
        sys.stdout.write(render_rows(fmt, [_context(r, trunc, sizes.get(r.id), ctx.root)
                                           for r in records],
                                     {**HEADERS, "Label": _label_header}))
    except TemplateError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    return 0


def _context(r: ContainerRecord, trunc: bool, size: tuple[int, int] | None,
             root: str) -> Any:
    """Docker's ``containerContext``: the fields a ps template can use."""
    import time

    from dockyard.cli._image import human_duration, human_size, parse_time
    from dockyard.template import Struct
    from dockyard.template.funcs import go_repr

    argv = list(r.config.get("Entrypoint") or []) + list(r.config.get("Cmd") or [])
    cmd = " ".join(argv)
    if trunc and len(cmd) > 20:
        cmd = cmd[:19] + "…"
    created = parse_time(r.created)
    labels = r.labels
    mounts = [m.get("Name") or m.get("Source", "")
              for m in r.host_config.get("DockyardMountPoints") or []]
    if trunc:
        mounts = [m[:14] + "…" if len(m) > 15 else m for m in mounts]
    net: dict[str, Any] = {}

    def settings() -> dict[str, Any]:  # looked up once, and only if a column needs it
        if not net:
            net.update(_network_settings(root, r) or {"Networks": {}})
        return net
    rw, root_fs = size or (0, 0)
    size_text = human_size(rw) + (f" (virtual {human_size(root_fs)})" if root_fs else "")
    return Struct(
        "*formatter.containerContext",
        ID=r.short_id if trunc else r.id,
        Image=_image(r.image, trunc),
        Command=go_repr(cmd),
        CreatedAt=time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(created)),
        RunningFor=human_duration(time.time() - created) + " ago",
        Ports=lambda: _ports(r, settings().get("Ports") or {}),
        State=r.status.value,
        Status=_status(r),
        Size=size_text,
        Names=r.name,
        Labels=",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        Label=lambda key: labels.get(key, ""),
        Mounts=",".join(mounts),
        LocalVolumes=str(sum(1 for m in r.host_config.get("DockyardMountPoints") or []
                             if m.get("Driver") == "local")),
        Networks=lambda: ",".join(sorted(settings().get("Networks") or {})),
    )


def _network_settings(root: str, r: ContainerRecord) -> dict[str, Any]:
    """``NetworkSettings`` (``Networks``, ``Ports``) as ``inspect`` shows them: from the
    network engine when it is there, else what the record holds."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("dockyard.engine.network_views") is not None:
        views = importlib.import_module("dockyard.engine.network_views")
        try:
            got: dict[str, Any] = views.settings_for(root, r.id)
            return got
        except Exception:  # a broken network store must not break ps
            return {}
    stored: dict[str, Any] = r.host_config.get("DockyardNetworkSettings") or {}
    return stored


def _ports(r: ContainerRecord, ports: dict[str, Any]) -> str:
    """docker/cli ``DisplayablePorts``: ``0.0.0.0:8080->80/tcp, 443/tcp``; runs of
    consecutive ports published on themselves (or only exposed) as one range."""
    if not r.status.is_active:
        return ""
    rows: list[tuple[int, int, str, str]] = []  # private, public, proto, ip
    for spec, binds in ports.items():
        port, _, proto = spec.partition("/")
        if not port.isdigit():
            continue
        for b in binds or [{}]:
            public = b.get("HostPort") or ""
            rows.append((int(port), int(public) if public.isdigit() else 0, proto or "tcp",
                         b.get("HostIp") or ("0.0.0.0" if public else "")))
    rows.sort()
    groups: dict[str, list[int]] = {}
    done: list[str] = []
    mappings: list[str] = []
    for private, public, proto, ip in rows:
        if ip and public != private:
            host = f"[{ip}]" if ":" in ip else ip
            mappings.append(f"{host}:{public}->{private}/{proto}")
            continue
        key = f"{ip}/{proto}" if ip else proto
        g = groups.get(key)
        if g is not None and private == g[1] + 1:
            g[1] = private
            continue
        if g is not None:
            done.append(_port_group(key, *g))
        groups[key] = [private, private]
    done += [_port_group(key, *g) for key, g in groups.items()]
    return ", ".join(done + mappings)


def _port_group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    return f"{ip}:{ports}->{ports}/{proto}" if ip else f"{ports}/{proto}"


def _status(r: ContainerRecord) -> str:
    """moby ``container/state.go`` ``State.String``."""
    import time

    from dockyard.cli._image import human_duration, parse_time

    now = time.time()
    s = r.status.value
    if s in ("running", "paused"):
        text = "Up " + human_duration(now - parse_time(r.started_at))
        if s == "paused":
            return text + " (Paused)"
        health = (r.health or {}).get("Status")
        if health == "starting":
            return text + " (health: starting)"
        return text + (f" ({health})" if health and health != "none" else "")
    if s == "restarting":
        return (f"Restarting ({r.exit_code}) "
                + human_duration(now - parse_time(r.finished_at)) + " ago")
    if s == "removing":
        return "Removal In Progress"
    if s == "dead":
        return "Dead"
    if s == "created" or r.finished_at.startswith("0001"):
        return "Created"
    return f"Exited ({r.exit_code}) " + human_duration(now - parse_time(r.finished_at)) + " ago"
