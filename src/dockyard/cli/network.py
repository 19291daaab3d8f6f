"""``dockyard network COMMAND``: create, ls, inspect, rm, prune, connect, disconnect."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from dockyard.cli.main import Context
    from dockyard.engine.network import Networks

USAGE = """\
Usage:  dockyard network COMMAND

Manage networks

Commands:
  connect     Connect a container to a network
  create      Create a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks
"""


def run(ctx: Context, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    verbs: dict[str, Callable[[Context, list[str]], int]] = {
        "create": _create, "ls": _ls, "list": _ls, "inspect": _inspect, "rm": _rm,
        "remove": _rm, "prune": _prune, "connect": _connect, "disconnect": _disconnect,
    }
    verb = verbs.get(argv[0])
    if verb is None:
        sys.stderr.write(f"dockyard: 'network {argv[0]}' is not a dockyard command.\n"
                         "See 'dockyard network --help'\n")
        return 125
    return verb(ctx, argv[1:])


def _with(ctx: Context, name: str, usage: str, argv: list[str],
          setup: Callable[[argparse.ArgumentParser], None],
          body: Callable[[Networks, argparse.Namespace], int]) -> int:
    """Parse (125 on a usage error), then run ``body``; engine errors exit 1 as Docker's."""
    from dockyard.cli._image import UsageError, one_line, parser
    from dockyard.engine.network import Networks
    from dockyard.errors import DockyardError

    p = parser(f"network {name}", usage)
    setup(p)
    try:
        args = p.parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"dockyard: {e}\nSee 'dockyard network {name} --help'.\n")
        return 125
    except SystemExit as e:
        return int(e.code or 0)
    nets = Networks(ctx.root)
    try:
        return body(nets, args)
    except DockyardError as e:
        sys.stderr.write(f"Error response from daemon: {one_line(e)}\n")
        return 1
    finally:
        nets.close()


def _pairs(values: list[str]) -> dict[str, str]:
    return {k: v for k, _, v in (x.partition("=") for x in values)}


def _create(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("-d", "--driver", default="bridge")
        p.add_argument("--subnet", action="append", default=[])
        p.add_argument("--gateway", action="append", default=[])
        p.add_argument("--ip-range", action="append", default=[])
        p.add_argument("--internal", action="store_true")
        p.add_argument("--label", action="append", default=[])
        p.add_argument("-o", "--opt", action="append", default=[])
        p.add_argument("name")

    def body(nets: Networks, a: argparse.Namespace) -> int:
        from dockyard.errors import InvalidArgument

        if len(a.subnet) > 1 or len(a.gateway) > 1 or len(a.ip_range) > 1:
            raise InvalidArgument("only one --subnet, --gateway and --ip-range per network")
        rec = nets.create(a.name, driver=a.driver, subnet=(a.subnet or [""])[0],
                          gateway=(a.gateway or [""])[0], ip_range=(a.ip_range or [""])[0],
                          internal=a.internal, labels=_pairs(a.label), options=_pairs(a.opt))
        sys.stdout.write(rec.id + "\n")
        return 0

    return _with(ctx, "create", "dockyard network create [OPTIONS] NETWORK", argv, setup, body)


def _matches(n: Any, filters: list[str]) -> bool:
    for f in filters:
        key, _, value = f.partition("=")
        if key == "name" and value not in n.name:
            return False
        if key == "id" and not n.id.startswith(value):
            return False
        if key == "driver" and n.driver != value:
            return False
        if key == "type" and (value == "custom") == n.predefined:
            return False
        if key == "label":
            k, eq, v = value.partition("=")
            if k not in n.labels or (eq and n.labels[k] != v):
                return False
    return True


def _ls(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("-q", "--quiet", action="store_true")
        p.add_argument("-f", "--filter", action="append", default=[])
        p.add_argument("--format")
        p.add_argument("--no-trunc", action="store_true")

    def body(nets: Networks, a: argparse.Namespace) -> int:
        from dockyard.cli._image import render, table

        rows = [n for n in nets.list() if _matches(n, a.filter)]
        rows.sort(key=lambda n: n.name)

        def nid(n: Any) -> str:
            return str(n.id if a.no_trunc else n.id[:12])

        if a.quiet:
            sys.stdout.write("".join(nid(n) + "\n" for n in rows))
        elif a.format:
            sys.stdout.write(render(a.format, [
                {"ID": nid(n), "Name": n.name, "Driver": n.driver, "Scope": "local",
                 "Internal": n.internal, "CreatedAt": n.created, "IPv6": False,
                 "Labels": ",".join(f"{k}={v}" for k, v in n.labels.items())}
                for n in rows], {"ID": "NETWORK ID"}))
        else:
            sys.stdout.write(table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                                   [[nid(n), n.name, n.driver, "local"] for n in rows]))
        return 0

    return _with(ctx, "ls", "dockyard network ls [OPTIONS]", argv, setup, body)


def _inspect(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--format")
        p.add_argument("networks", nargs="+")

    def body(nets: Networks, a: argparse.Namespace) -> int:
        import json

        from dockyard.cli._image import render
        from dockyard.engine.containers import ContainerStore
        from dockyard.engine.network_views import network_json
        from dockyard.errors import NotFound

        out, code = [], 0
        with ContainerStore(ctx.root) as containers:
            for ref in a.networks:
                try:
                    out.append(network_json(nets, nets.get(ref), containers))
                except NotFound:
                    sys.stderr.write(f"Error: No such network: {ref}\n")
                    code = 1
        if a.format:
            sys.stdout.write(render(a.format, out))
        else:
            sys.stdout.write(json.dumps(out, indent=4) + "\n")
        return code

    return _with(ctx, "inspect", "dockyard network inspect [OPTIONS] NETWORK [NETWORK...]",
                 argv, setup, body)


def _rm(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("networks", nargs="+")

    def body(nets: Networks, a: argparse.Namespace) -> int:
        from dockyard.errors import DockyardError, NotFound

        code = 0
        for ref in a.networks:
            try:
                nets.remove(ref)
                sys.stdout.write(ref + "\n")
            except NotFound:
                sys.stderr.write(f"Error: No such network: {ref}\n")
                code = 1
            except DockyardError as e:
                sys.stderr.write(f"Error response from daemon: {e}\n")
                code = 1
        return code

    return _with(ctx, "rm", "dockyard network rm NETWORK [NETWORK...]", argv, setup, body)


def _prune(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("--filter", action="append", default=[])

    def body(nets: Networks, a: argparse.Namespace) -> int:
        if not a.force:
            sys.stdout.write("WARNING! This will remove all custom networks not used by at "
                             "least one container.\nAre you sure you want to continue? [y/N] ")
            sys.stdout.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return 0
        gone = nets.prune()
        if gone:
            sys.stdout.write("Deleted Networks:\n" + "".join(n + "\n" for n in gone))
        return 0

    return _with(ctx, "prune", "dockyard network prune [OPTIONS]", argv, setup, body)


def _connect(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("--alias", action="append", default=[])
        p.add_argument("--ip", default="")
        p.add_argument("network")
        p.add_argument("container")

    def body(nets: Networks, a: argparse.Namespace) -> int:
        from dockyard.engine.containers import ContainerStore

        with ContainerStore(ctx.root) as containers:
            record = containers.get(a.container)
        nets.connect(a.network, record, list(a.alias), a.ip)
        return 0

    return _with(ctx, "connect", "dockyard network connect [OPTIONS] NETWORK CONTAINER",
                 argv, setup, body)


def _disconnect(ctx: Context, argv: list[str]) -> int:
    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("network")
        p.add_argument("container")

    def body(nets: Networks, a: argparse.Namespace) -> int:
        from dockyard.engine.containers import ContainerStore

        with ContainerStore(ctx.root) as containers:
            record = containers.get(a.container)
        nets.disconnect(a.network, record)
        return 0

    return _with(ctx, "disconnect", "dockyard network disconnect [OPTIONS] NETWORK CONTAINER",
                 argv, setup, body)
