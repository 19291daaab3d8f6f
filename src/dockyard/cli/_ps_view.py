"""What ``docker ps`` shows of a container: docker/cli's ``ContainerContext`` (the fields
a ``--format`` template reads), its column headers, status text and port list."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.containers import ContainerRecord

__all__ = ["HEADERS", "context", "displayable_ports", "status_text"]

HEADERS: dict[str, Any] = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
    "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS"}
"""Field -> column title of a ``table`` (``Label``'s is a function of its argument)."""


def _image(image: str, trunc: bool) -> str:
    """An image given by ID shows as a short ID unless ``--no-trunc``."""
    import re

    m = re.fullmatch(r"(?:sha256:)?([0-9a-f]{64})", image)
    return m.group(1)[:12] if m and trunc else image


def _label_header(name: str) -> str:
    """docker/cli: a ``{{.Label "com.example.tier"}}`` column is headed ``tier``."""
    return name.split(".")[-1].replace("-", " ").replace("_", " ")


HEADERS["Label"] = _label_header


def context(r: ContainerRecord, trunc: bool, size: tuple[int, int] | None,
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
        Ports=lambda: displayable_ports(r, settings().get("Ports") or {}),
        State=r.status.value,
        Status=status_text(r),
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
    """``NetworkSettings`` (``Networks``, ``Ports``) as ``inspect`` shows them."""
    from dockyard.engine.network_views import settings_for

    return settings_for(root, r.id)


def displayable_ports(r: ContainerRecord, ports: dict[str, Any]) -> str:
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


def status_text(r: ContainerRecord) -> str:
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
