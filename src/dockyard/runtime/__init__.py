"""The OCI runtime: creates, starts, signals and deletes containers from a bundle.

Imports only ``dockyard.oci`` and ``dockyard.linux``. Submodules are imported by what needs
them (the container start path pays only for what it uses); this package exports nothing.
"""

__all__: list[str] = []
