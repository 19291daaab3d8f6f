"""Per-root network settings: the default bridge's name and subnet, the nftables table.

Read from ``ROOT/engine.json`` (``{"bridge": "dockyard0", "bridge_subnet":
"172.18.0.0/16", "nft_table": "dockyard"}``, every key optional), then overridden by
``$DOCKYARD_BRIDGE``, ``$DOCKYARD_BRIDGE_SUBNET`` and ``$DOCKYARD_NFT_TABLE``. Tests give
each root its own values so that runs beside each other never share a bridge or a table.
"""

from __future__ import annotations

import json
import os

from dockyard.errors import InvalidArgument
from dockyard.record import record

__all__ = ["NetConfig"]


@record(frozen=True)
class NetConfig:
    bridge: str = "dockyard0"
    bridge_subnet: str = "172.18.0.0/16"
    nft_table: str = "dockyard"

    @classmethod
    def load(cls, root: str) -> NetConfig:
        values: dict[str, str] = {}
        try:
            with open(os.path.join(root, "engine.json")) as f:
                data = json.load(f)
        except FileNotFoundError:
            data = {}
        except ValueError as e:
            raise InvalidArgument(f"{root}/engine.json: {e}") from None
        for key in ("bridge", "bridge_subnet", "nft_table"):
            if isinstance(data.get(key), str):
                values[key] = data[key]
            env = os.environ.get("DOCKYARD_" + key.upper())
            if env:
                values[key] = env
        cfg = cls(**values)
        if not 0 < len(cfg.bridge) < 16:
            raise InvalidArgument(f"bridge name {cfg.bridge!r}: 1 to 15 characters")
        if not cfg.nft_table.replace("_", "").replace("-", "").isalnum():
            raise InvalidArgument(f"nft table name {cfg.nft_table!r}: letters, digits, _ and -")
        return cfg
