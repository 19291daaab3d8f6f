"""The network flags of ``run``/``create``: ``--network``, ``-p``, ``--dns``, ..."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from dockyard.engine.network_options import NetOptions


def add_network_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", "--net", default="bridge")
    p.add_argument("--ip", default="")
    p.add_argument("--mac-address", default="")
    p.add_argument("--network-alias", "--net-alias", action="append", default=[])
    p.add_argument("--dns", action="append", default=[])
    p.add_argument("--dns-search", action="append", default=[])
    p.add_argument("--dns-option", "--dns-opt", action="append", default=[])
    p.add_argument("--add-host", action="append", default=[])
    p.add_argument("-p", "--publish", action="append", default=[])
    p.add_argument("-P", "--publish-all", action="store_true")
    p.add_argument("--expose", action="append", default=[])


def net_options(args: argparse.Namespace) -> NetOptions:
    from dockyard.engine.network_options import NetOptions

    return NetOptions(mode=args.network, ip=args.ip, mac=args.mac_address,
                      aliases=list(args.network_alias), dns=list(args.dns),
                      dns_search=list(args.dns_search), dns_options=list(args.dns_option),
                      add_hosts=list(args.add_host), publish=list(args.publish),
                      publish_all=args.publish_all, expose=list(args.expose))
