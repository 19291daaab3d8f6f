"""Container networking: bridges, veth pairs, IPAM, nftables NAT and port maps, DNS.

Modules: ``config`` (per-root settings: default bridge, subnet, nft table), ``ipam``
(subnets and addresses, pure), ``ports`` (``-p``/``--expose`` specs, pure), ``etcfiles``
(``/etc/hosts``, ``resolv.conf``, ``hostname``, pure), ``store`` (networks, endpoints and
published ports in SQLite), ``links`` (bridges and veths through netlink, pyroute2),
``nft`` (the ruleset of dockyard's own nftables table), ``dns`` (the embedded resolver).
"""

__all__ = ["config", "dns", "etcfiles", "ipam", "links", "nft", "ports", "store"]
