"""The OCI runtime (runc's job): imports only ``dockyard.oci`` and ``dockyard.linux``."""

__all__: list[str] = []
